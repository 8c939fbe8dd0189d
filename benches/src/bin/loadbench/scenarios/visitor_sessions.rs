//! Scenario 10: visitor sessions: the embedded example's `/visits` handler (one load and
//! one save of the visitor's session per request) with the in-memory store and with Redis.

use super::Ctx;
use crate::measure::{Contender, alternate};
use crate::report::{Body, Section};
use crate::servers;
use crate::wrk::Load;
use std::io;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let (redis, redis_port) = servers::redis(site)?;
    let url = format!("redis://127.0.0.1:{redis_port}/0");
    let memory = servers::embedded(site, "memory", &["--visitor-store", "memory"], Vec::new())?;
    let shared = servers::embedded(site, "redis", &["--visitor-store", &url], vec![redis])?;
    let load = |port, conns| -> io::Result<Load> {
        let cookie = servers::get_cookie(port, "/visits")?;
        Ok(Load {
            headers: vec![format!("Cookie: {cookie}")],
            ..Load::keep_alive("/visits", conns, ctx.secs)
        })
    };
    let mut sections = Vec::new();
    for (title, conns, about) in [
        (
            "50 connections",
            50,
            "Throughput: how much a shared store costs.",
        ),
        (
            "one connection",
            1,
            "Latency: what a store's round trips add to each request (p50, p99).",
        ),
    ] {
        let contenders = [
            Contender::new(&memory, load(memory.port, conns)?),
            Contender::new(&shared, load(shared.port, conns)?),
        ];
        let rows = alternate(ctx, &format!("visitor sessions {title}"), &contenders)?;
        sections.push(Section::new(
            "10. visitor sessions",
            title,
            &format!(
                "{about} `GET /visits` with the visitor's cookie (one session, counted up on \
                 every request: a load and a save), the embedded example with one worker and \
                 `--visitor-store memory` or a redis-server of its own; the Redis row's CPU \
                 counts redis-server too."
            ),
            Body::Throughput(rows),
        ));
    }
    Ok(sections)
}
