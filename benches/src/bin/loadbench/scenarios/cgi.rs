//! Scenario 5: A CGI hello script: refserver's `cgi` route, lighttpd mod_cgi, nginx + fcgiwrap.

use super::{Ctx, not_run, optional, refservers};
use crate::measure::alternate_servers;
use crate::report::{Body, Section};
use crate::servers::{self, CGI_PATH, NGINX_FASTCGI_PARAMS, Server};
use crate::wrk::Load;
use std::io;

/// A process per request: more connections would only queue.
pub(crate) const CGI_CONNS: usize = 8;

/// refserver's route for the site's CGI directory.
pub(crate) fn route(ctx: &Ctx<'_>) -> String {
    format!(
        "[[route]]\nprefix = \"/cgi-bin/\"\ncgi = {{ dir = \"{}\" }}\n",
        ctx.site.path("www/cgi-bin").display()
    )
}

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let mut missing = Vec::new();
    let rs = refservers(ctx, &route(ctx), CGI_PATH)?;
    let lt = optional(
        servers::lighttpd(
            site,
            "lighttpd",
            "server.modules += ( \"mod_cgi\" )\n$HTTP[\"url\"] =~ \"^/cgi-bin/\" { cgi.assign = ( \".sh\" => \"\" ) }",
            CGI_PATH,
        ),
        &mut missing,
    );
    let ng = optional(nginx_fcgiwrap(ctx), &mut missing);
    let all: Vec<&Server> = rs
        .iter()
        .chain([lt.as_ref(), ng.as_ref()].into_iter().flatten())
        .collect();
    let load = Load::keep_alive(CGI_PATH, CGI_CONNS, ctx.secs);
    let rows = alternate_servers(ctx, "cgi", &all, &load)?;
    Ok(vec![Section::new(
        "5. CGI",
        "a /bin/sh hello script",
        &format!(
            "`{CGI_PATH}`: `printf 'Content-Type: text/plain\\n\\nhello\\n'`, a process per request. \
             CPU per request counts the server and every script it ran (a cgroup per server); for \
             nginx + fcgiwrap, fcgiwrap and its scripts too.{}",
            not_run(&missing)
        ),
        Body::Throughput(rows),
    )])
}

fn nginx_fcgiwrap(ctx: &Ctx<'_>) -> io::Result<Server> {
    let site = ctx.site;
    let (fcgiwrap, sock) = servers::fcgiwrap(site)?;
    servers::nginx(
        site,
        "nginx+fcgiwrap",
        "",
        &format!(
            "    root {};\n    location /cgi-bin/ {{\n      fastcgi_pass unix:{};{NGINX_FASTCGI_PARAMS}\n    }}",
            site.path("www").display(),
            sock.display()
        ),
        vec![fcgiwrap],
        CGI_PATH,
    )
}
