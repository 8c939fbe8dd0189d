//! Scenario 6: FastCGI: refserver -> php-fpm vs nginx -> php-fpm (a pool each, alike), with a
//! connection per request and with kept connections; and refserver -> fcgi-proto's example
//! application with multiplexing on and off.

use super::{Ctx, not_run, optional};
use crate::measure::{Contender, alternate, alternate_servers};
use crate::report::{Body, Section};
use crate::servers::{self, NGINX_FASTCGI_PARAMS, Server};
use crate::wrk::Load;
use std::io;

/// php-fpm children per pool (`pm = static`).
const CHILDREN: usize = 4;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let mut sections = vec![php(ctx)];
    sections.push(multiplexing(ctx)?);
    Ok(sections)
}

fn php(ctx: &Ctx<'_>) -> Section {
    let about = format!(
        "`GET /hello.php` (`echo \"hello\\n\"`), each web server with a php-fpm pool of its own \
         (`pm = static`, {CHILDREN} children, the system php.ini), wrk -c8. `refserver`/`nginx`: \
         each one's defaults (a connection per request, as php-fpm does not announce \
         FCGI_MAX_CONNS); `-keep`: kept connections (refserver `max_conns = {CHILDREN}`; nginx \
         `keepalive {CHILDREN}` + `fastcgi_keep_conn on`). CPU per request counts the web server \
         and its pool."
    );
    let mut missing = Vec::new();
    let rows = (|| {
        let mut all = vec![refserver_php(ctx, "refserver", "")?];
        all.push(refserver_php(
            ctx,
            "refserver-keep",
            &format!(", max_conns = {CHILDREN}"),
        )?);
        all.extend(optional(nginx_php(ctx, "nginx", false), &mut missing));
        all.extend(optional(nginx_php(ctx, "nginx-keep", true), &mut missing));
        let load = Load::keep_alive("/hello.php", 8, ctx.secs);
        alternate_servers(ctx, "fastcgi php", &all.iter().collect::<Vec<_>>(), &load)
    })();
    let about = about + &not_run(&missing);
    Section::new(
        "6. FastCGI",
        "php-fpm hello",
        &about,
        rows.map_or_else(|e| Body::Skipped(e.to_string()), Body::Throughput),
    )
}

fn refserver_php(ctx: &Ctx<'_>, name: &str, more: &str) -> io::Result<Server> {
    let (fpm, sock) = servers::php_fpm(ctx.site, &format!("{name}-php"), CHILDREN)?;
    let routes = format!(
        "[[route]]\nprefix = \"/\"\nfastcgi = {{ upstreams = [\"unix:{}\"], root = \"{}\"{more} }}\n",
        sock.display(),
        ctx.site.path("php").display()
    );
    let mut server = servers::refserver(ctx.site, name, &routes, "/hello.php")?;
    server.groups.push(fpm);
    Ok(server)
}

fn nginx_php(ctx: &Ctx<'_>, name: &str, keep: bool) -> io::Result<Server> {
    let (fpm, sock) = servers::php_fpm(ctx.site, &format!("{name}-php"), CHILDREN)?;
    let (http, pass) = if keep {
        (
            format!(
                "upstream php {{ server unix:{}; keepalive {CHILDREN}; }}",
                sock.display()
            ),
            "php;\n      fastcgi_keep_conn on;".to_owned(),
        )
    } else {
        (String::new(), format!("unix:{};", sock.display()))
    };
    servers::nginx(
        ctx.site,
        name,
        &http,
        &format!(
            "    root {};\n    location ~ \\.php$ {{\n      fastcgi_pass {pass}{NGINX_FASTCGI_PARAMS}\n    }}",
            ctx.site.path("php").display()
        ),
        vec![fpm],
        "/hello.php",
    )
}

/// refserver's route to fcgi-proto's example application, spawned as its own process.
pub(crate) fn echo_route(ctx: &Ctx<'_>, prefix: &str, multiplex: bool) -> String {
    format!(
        "[[route]]\nprefix = \"{prefix}\"\nfastcgi = {{ program = \"/echo\", multiplex = {multiplex}, \
         spawn = {{ command = [\"{}\", \"--fastcgi-echo-app\"], processes = 1 }} }}\n",
        ctx.site.refserver.display()
    )
}

fn multiplexing(ctx: &Ctx<'_>) -> io::Result<Section> {
    let routes = echo_route(ctx, "/mpx-on/", true) + &echo_route(ctx, "/mpx-off/", false);
    let rs = servers::refserver(ctx.site, "refserver-echo", &routes, "/mpx-on/x")?;
    let contenders = [
        Contender::labelled(
            &rs,
            Load::keep_alive("/mpx-on/x", 32, ctx.secs),
            "multiplexed",
        ),
        Contender::labelled(
            &rs,
            Load::keep_alive("/mpx-off/x", 32, ctx.secs),
            "not multiplexed",
        ),
    ];
    let rows = alternate(ctx, "fastcgi multiplexing", &contenders)?;
    Ok(Section::new(
        "6. FastCGI",
        "multiplexing on and off",
        "refserver to fcgi-proto's example application (`echo_app`: a thread per connection, \
         FCGI_MPXS_CONNS=1, FCGI_MAX_CONNS=64; it answers with the request's params, about 1 KiB), \
         spawned and supervised by refserver, wrk -c32. Multiplexed: every request on one \
         connection (one application thread); not: a kept connection, and an application \
         thread, per concurrent request. CPU counts refserver and both applications.",
        Body::Throughput(rows),
    ))
}
