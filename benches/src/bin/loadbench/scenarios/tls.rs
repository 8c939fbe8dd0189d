//! Scenario 9: HTTPS: full handshakes per second (a new connection per request) and
//! keep-alive requests over TLS, refserver and nginx with the same ECDSA P-256 certificate.

use super::{Ctx, NGINX_PLAINTEXT, PLAINTEXT_ROUTE, not_run, optional};
use crate::measure::alternate_servers;
use crate::report::{Body, Section};
use crate::servers::{self, Server};
use crate::wrk::Load;
use std::io;

/// Connections for the handshake run: enough to keep both cores busy with handshakes.
const HANDSHAKE_CONNS: usize = 16;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let cert = servers::certificate(site)?;
    let mut missing = Vec::new();
    let rs = servers::refserver_tls(site, "refserver", &cert, PLAINTEXT_ROUTE)?;
    let ng = optional(
        servers::nginx_tls(site, "nginx", &cert, NGINX_PLAINTEXT),
        &mut missing,
    );
    let all: Vec<&Server> = [Some(&rs), ng.as_ref()].into_iter().flatten().collect();
    let keep_alive = Load {
        tls: true,
        ..Load::keep_alive("/plaintext", 50, ctx.secs)
    };
    let handshakes = Load {
        conns: HANDSHAKE_CONNS,
        headers: vec!["Connection: close".to_owned()],
        ..keep_alive.clone()
    };
    let mut sections = Vec::new();
    for (title, load, about) in [
        (
            "full handshakes",
            handshakes,
            "A new connection, and a full TLS handshake (no resumption), for every request: \
             requests per second are handshakes per second.",
        ),
        (
            "keep-alive over TLS",
            keep_alive,
            "Keep-alive requests over established TLS sessions.",
        ),
    ] {
        let rows = alternate_servers(ctx, &format!("tls {title}"), &all, &load)?;
        sections.push(Section::new(
            "9. TLS",
            title,
            &format!(
                "{about} `GET /plaintext`, one worker each, the same ECDSA P-256 certificate for \
                 `localhost`, TLS 1.3 negotiated by both (refserver: rustls with ring; nginx: \
                 OpenSSL).{}",
                not_run(&missing)
            ),
            Body::Throughput(rows),
        ));
    }
    Ok(sections)
}
