//! Scenario 1: A fixed "Hello, World!": refserver's `respond` route, nginx `return 200`, h2o's mruby
//! handler, hyper's hello-world; keep-alive at 50 and 10,000 connections, and pipelined.

use super::{Ctx, not_run, optional, plaintext_servers};
use crate::measure::alternate_servers;
use crate::report::{Body, Section};
use crate::servers::{self, Server};
use crate::wrk::Load;
use std::io;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let mut missing = Vec::new();
    let (rs, ng) = plaintext_servers(ctx, &mut missing)?;
    let h2o = optional(servers::h2o(site), &mut missing);
    let hy = optional(servers::hyper(site), &mut missing);
    let all: Vec<&Server> = rs
        .iter()
        .chain(
            [ng.as_ref(), h2o.as_ref(), hy.as_ref()]
                .into_iter()
                .flatten(),
        )
        .collect();
    let base = Load::keep_alive("/plaintext", 50, ctx.secs);
    let loads = [
        ("keep-alive, 50 connections", base.clone()),
        (
            "keep-alive, 10,000 connections",
            Load {
                conns: 10_000,
                threads: 2,
                ..base.clone()
            },
        ),
        (
            "pipelined 16 deep, 50 connections",
            Load {
                script: Some(site.path("run/pipeline.lua")),
                ..base
            },
        ),
    ];
    let mut sections = Vec::new();
    for (title, load) in loads {
        let rows = alternate_servers(ctx, &format!("plaintext {title}"), &all, &load)?;
        sections.push(Section::new(
            "1. plaintext",
            title,
            &format!(
                "`GET /plaintext` answering `Hello, World!` (13 bytes, text/plain), one worker each: \
                 refserver's `respond` route, nginx `return 200`, h2o's mruby handler, hyper's \
                 hello-world (benches/examples/hyper_plaintext.rs, a current-thread runtime).{}",
                not_run(&missing)
            ),
            Body::Throughput(rows),
        ));
    }
    Ok(sections)
}
