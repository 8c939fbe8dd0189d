//! Scenario 7: The cost ladder on one "Hello": an in-process handler, a `respond` route, FastCGI,
//! CGI, with hyper's hello-world beside them.

use super::{Ctx, cgi, fastcgi, not_run, optional};
use crate::measure::{Contender, alternate};
use crate::report::{Body, Section};
use crate::servers::{self, CGI_PATH};
use crate::wrk::Load;
use std::io;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let mut missing = Vec::new();
    let em = servers::embedded(site, "embedded", &[], Vec::new())?;
    let routes = fastcgi::echo_route(ctx, "/fcgi/", false) + &cgi::route(ctx);
    let rs = servers::refserver(site, "refserver-gateways", &routes, "/fcgi/hello")?;
    let hy = optional(servers::hyper(site), &mut missing);
    let secs = ctx.secs;
    let mut contenders = vec![
        Contender::labelled(&em, Load::keep_alive("/hello", 50, secs), "handler"),
        Contender::labelled(&em, Load::keep_alive("/plaintext", 50, secs), "respond"),
        Contender::labelled(&rs, Load::keep_alive("/fcgi/hello", 50, secs), "fastcgi"),
        Contender::labelled(&rs, Load::keep_alive(CGI_PATH, cgi::CGI_CONNS, secs), "cgi"),
    ];
    if let Some(hy) = &hy {
        contenders.push(Contender::new(hy, Load::keep_alive("/plaintext", 50, secs)));
    }
    let rows = alternate(ctx, "cost ladder", &contenders)?;
    Ok(vec![Section::new(
        "7. the cost ladder",
        "one Hello, four ways",
        &format!(
            "One worker each. `handler`: the embedded example's `GET /hello` (an `async fn` \
             mounted as a tower service); `respond`: its `/plaintext` route, same process; \
             `fastcgi`: the refserver binary's `fastcgi` route (defaults) to fcgi-proto's example \
             application, spawned by refserver (it answers with the request's params, about 1 KiB, \
             not `Hello`); `cgi`: a /bin/sh script, wrk -c{} (a process per request); hyper's \
             hello-world for scale. CPU counts the applications and scripts too.{}",
            cgi::CGI_CONNS,
            not_run(&missing)
        ),
        Body::Throughput(rows),
    )])
}
