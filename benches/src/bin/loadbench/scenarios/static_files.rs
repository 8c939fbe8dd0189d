//! Scenario 2: Static files of 13 bytes, 64 KiB and 10 MiB: refserver, nginx, lighttpd, h2o.

use super::{Ctx, not_run, optional, refservers};
use crate::measure::alternate_servers;
use crate::report::{Body, Section};
use crate::servers::{self, STATIC_FILES, Server};
use crate::wrk::Load;
use std::io;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let www = site.path("www");
    let www = www.display();
    let probe = format!("/{}", STATIC_FILES[0].0);
    let mut missing = Vec::new();
    let rs = refservers(
        ctx,
        &format!("[[route]]\nprefix = \"/\"\nstatic = {{ dir = \"{www}\" }}\n"),
        &probe,
    )?;
    let ng = optional(
        servers::nginx(
            site,
            "nginx",
            "sendfile on;\n  tcp_nopush on;",
            &format!("    root {www};\n    location / {{ }}"),
            Vec::new(),
            &probe,
        ),
        &mut missing,
    );
    let lt = optional(
        servers::lighttpd(site, "lighttpd", "", &probe),
        &mut missing,
    );
    let h2o = optional(servers::h2o(site), &mut missing);
    let all: Vec<&Server> = rs
        .iter()
        .chain(
            [ng.as_ref(), lt.as_ref(), h2o.as_ref()]
                .into_iter()
                .flatten(),
        )
        .collect();
    let mut sections = Vec::new();
    for (name, size) in STATIC_FILES {
        // Large files with fewer connections, so that requests end within a run.
        let conns = match size {
            s if s >= 100 << 20 => 2,
            s if s >= 1 << 20 => 8,
            _ => 50,
        };
        let load = Load::keep_alive(&format!("/{name}"), conns, ctx.secs);
        let title = format!("{} file", human(size));
        let rows = alternate_servers(ctx, &format!("static {title}"), &all, &load)?;
        sections.push(Section::new(
            "2. static files",
            &title,
            &format!(
                "`GET /{name}` ({size} bytes), keep-alive ({conns} connections), one worker each, access logs off, each \
                 server's defaults for a static root (nginx with `sendfile on; tcp_nopush on`).{}{}",
                per_gib(size),
                not_run(&missing)
            ),
            Body::Throughput(rows),
        ));
    }
    Ok(sections)
}

/// For a large file, how to read CPU per request as CPU per GiB sent.
fn per_gib(size: usize) -> String {
    if size < 100 << 20 {
        return String::new();
    }
    format!(
        " CPU per GiB sent = CPU µs/req × {:.2}.",
        (1u64 << 30) as f64 / size as f64
    )
}

fn human(size: usize) -> String {
    match size {
        s if s >= 1 << 20 => format!("{} MiB", s >> 20),
        s if s >= 1 << 10 => format!("{} KiB", s >> 10),
        s => format!("{s}-byte"),
    }
}
