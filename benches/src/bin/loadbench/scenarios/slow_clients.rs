//! Scenario 4: Slow clients: fast-client throughput and p99 alone and beside 5,000 slowloris
//! connections (a request head trickled a line a second), and how many of those each
//! server closed, refserver and nginx with their default deadlines.

use super::{Ctx, not_run, plaintext_servers};
use crate::report::{Body, Section, latency};
use crate::servers::Server;
use crate::wrk::{self, Load};
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const SLOW: usize = 5_000;
/// How long the slow connections trickle: past refserver's 10-second head deadline.
const WINDOW: Duration = Duration::from_secs(13);

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let mut missing = Vec::new();
    let (rs, ng) = plaintext_servers(ctx, &mut missing)?;
    let load = Load::keep_alive("/plaintext", 50, ctx.secs);
    let mut rows = Vec::new();
    for server in rs.iter().chain([ng.as_ref()].into_iter().flatten()) {
        ctx.progress
            .say(&format!("slow clients: {} alone", server.name));
        if !ctx.quick {
            wrk::run(
                server.port,
                &Load {
                    secs: 1,
                    ..load.clone()
                },
            )?;
        }
        let alone = wrk::run(server.port, &load)?;
        ctx.progress.say(&format!(
            "slow clients: {} beside {SLOW} slow connections",
            server.name
        ));
        let (beside, closed) = beside_slowloris(server, &load)?;
        rows.push(vec![
            server.name.clone(),
            format!("{:.0}", alone.rps),
            format!("{:.0}", beside.rps),
            format!("{:.2}", beside.rps / alone.rps),
            latency(alone.latency_us[3]),
            latency(beside.latency_us[3]),
            (alone.errors + beside.errors).to_string(),
            format!("{closed} of {SLOW}"),
        ]);
    }
    Ok(vec![Section::new(
        "4. slow clients",
        "fast clients beside 5,000 slowloris connections",
        &format!(
            "Fast clients: {} on `/plaintext`. Slow ones: {SLOW} connections that send a request \
             line and then one header line a second, never ending the head, for {} s; the last \
             column counts those the server closed (or answered) within that time. Each server \
             keeps its default deadlines (refserver: 10 s for a whole head, then 408; nginx: \
             `client_header_timeout 60s` between reads, so a trickle is never cut).{}",
            load.describe(),
            WINDOW.as_secs(),
            not_run(&missing)
        ),
        Body::Table {
            header: [
                "server",
                "req/s alone",
                "req/s beside slow",
                "beside ÷ alone",
                "p99 alone",
                "p99 beside slow",
                "fast errors",
                "slow closed by server",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
        },
    )])
}

/// Runs `load` while the slow connections trickle; returns its figures and how many slow
/// connections the server ended within the window.
fn beside_slowloris(server: &Server, load: &Load) -> io::Result<(wrk::Measured, usize)> {
    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        let mut s = TcpStream::connect(("127.0.0.1", server.port))?;
        s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n")?;
        s.set_nonblocking(true)?;
        slow.push(Some(s));
    }
    let started = Instant::now();
    let (measured, closed) = std::thread::scope(|scope| {
        let trickle = scope.spawn(|| {
            let mut closed = 0;
            let mut buf = [0u8; 512];
            while started.elapsed() < WINDOW {
                for slot in &mut slow {
                    let Some(s) = slot else { continue };
                    // A read that returns anything (an answer, EOF, a reset) means the
                    // server ended it; nothing to read means it waits for more.
                    let ended = match s.read(&mut buf) {
                        Err(e) if e.kind() == ErrorKind::WouldBlock => {
                            s.write(b"X-Slow: 1\r\n").is_err()
                        }
                        _ => true,
                    };
                    if ended {
                        closed += 1;
                        *slot = None;
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            closed
        });
        let measured = wrk::run(server.port, load);
        (measured, trickle.join().unwrap_or(0))
    });
    Ok((measured?, closed))
}
