//! Scenario 3: Memory per idle keep-alive session: 10,000 sessions, each served once and then left
//! idle, held by loadbench (a process of its own, as the open-files limit requires); the
//! server's resident memory before and while they idle.

use super::{Ctx, NGINX_PLAINTEXT, PLAINTEXT_ROUTE, not_run, optional, refservers};
use crate::report::{Body, Section};
use crate::servers::{self, Server};
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const SESSIONS: usize = 10_000;
/// Sessions opened before their answers are read: below the smallest listen backlog
/// among the peers (128, std's, for the hyper example).
const BATCH: usize = 100;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let site = ctx.site;
    let mut missing = Vec::new();
    let rs = refservers(ctx, PLAINTEXT_ROUTE, "/plaintext")?;
    let ng = optional(
        servers::nginx(
            site,
            "nginx",
            "keepalive_timeout 120s;",
            NGINX_PLAINTEXT,
            Vec::new(),
            "/plaintext",
        ),
        &mut missing,
    );
    let hy = optional(servers::hyper(site), &mut missing);
    let mut rows = Vec::new();
    let mut base = None;
    for server in rs
        .iter()
        .chain([ng.as_ref(), hy.as_ref()].into_iter().flatten())
    {
        ctx.progress
            .say(&format!("idle sessions: {SESSIONS} on {}", server.name));
        let (before, during) = measure(server)?;
        let per = (during.saturating_sub(before) * 1024) as f64 / SESSIONS as f64;
        let base_per = *base.get_or_insert(per);
        rows.push(vec![
            server.name.clone(),
            SESSIONS.to_string(),
            format!("{before} KiB"),
            format!("{during} KiB"),
            format!("{per:.0} B"),
            format!("{:.2}", base_per / per),
        ]);
    }
    Ok(vec![Section::new(
        "3. memory per idle session",
        "10,000 idle keep-alive sessions",
        &format!(
            "Each session sends one `GET /plaintext`, reads its answer and stays open; resident \
             memory (VmRSS of every process of the server) before they open and while they idle. \
             One worker each.{}",
            not_run(&missing)
        ),
        Body::Table {
            header: [
                "server",
                "sessions",
                "RSS before",
                "RSS idle",
                "bytes per session",
                "refserver ÷ this",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
        },
    )])
}

/// Opens the sessions, reads the server's RSS, closes them: (before, while idle) in KiB.
fn measure(server: &Server) -> io::Result<(u64, u64)> {
    servers::get_status(server.port, "/plaintext")?;
    std::thread::sleep(Duration::from_millis(200));
    let before = server.rss_kib();
    let mut open = Vec::with_capacity(SESSIONS);
    let mut buf = [0u8; 1024];
    // In batches, each answered before the next opens: the server's accept queue never
    // overflows (a dropped SYN costs the client a second's retransmission).
    while open.len() < SESSIONS {
        let batch = BATCH.min(SESSIONS - open.len());
        let start = open.len();
        for _ in 0..batch {
            let mut s = TcpStream::connect(("127.0.0.1", server.port))?;
            s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n\r\n")?;
            open.push(s);
        }
        for s in &mut open[start..] {
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut got = Vec::new();
            while !got.ends_with(b"Hello, World!") {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    return Err(io::Error::other(format!(
                        "{} closed an idle session",
                        server.name
                    )));
                }
                got.extend_from_slice(&buf[..n]);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let during = server.rss_kib();
    drop(open);
    std::thread::sleep(Duration::from_millis(300));
    Ok((before, during))
}
