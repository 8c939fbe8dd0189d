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
/// The least time the slow connections trickle: past refserver's 10-second head deadline.
const WINDOW: Duration = Duration::from_secs(13);

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let mut missing = Vec::new();
    let (rs, ng) = plaintext_servers(ctx, &mut missing)?;
    let all: Vec<&Server> = rs
        .iter()
        .chain([ng.as_ref()].into_iter().flatten())
        .collect();
    let load = Load::keep_alive("/plaintext", 50, ctx.secs);
    let mut alone = Vec::new();
    for server in &all {
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
        alone.push(wrk::run(server.port, &load)?);
    }
    // Every server gets its slow connections at once, and the fast runs take turns inside
    // one window: the window is paid once, not per server.
    ctx.progress.say(&format!(
        "slow clients: {SLOW} slow connections to each server, fast runs beside them"
    ));
    let beside = beside_slowloris(ctx, &all, &load)?;
    let rows = all
        .iter()
        .zip(alone.iter().zip(&beside))
        .map(|(server, (alone, (beside, closed)))| {
            vec![
                server.name.clone(),
                format!("{:.0}", alone.rps),
                format!("{:.0}", beside.rps),
                format!("{:.2}", beside.rps / alone.rps),
                latency(alone.latency_us[3]),
                latency(beside.latency_us[3]),
                (alone.errors + beside.errors).to_string(),
                format!("{closed} of {SLOW}"),
            ]
        })
        .collect();
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
            window(&load, all.len()).as_secs(),
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

/// How long the slow connections trickle: past refserver's head deadline, and long enough
/// for every server's fast run.
fn window(load: &Load, servers: usize) -> Duration {
    WINDOW.max(Duration::from_secs(load.secs * servers as u64 + 1))
}

/// Opens the slow connections to every server, runs `load` on each in turn while they
/// trickle, and returns each server's figures and how many of its slow connections it
/// ended within the window.
fn beside_slowloris(
    ctx: &Ctx<'_>,
    servers: &[&Server],
    load: &Load,
) -> io::Result<Vec<(wrk::Measured, usize)>> {
    let mut slow: Vec<Vec<Option<TcpStream>>> = Vec::new();
    for server in servers {
        let mut conns = Vec::with_capacity(SLOW);
        for _ in 0..SLOW {
            let mut s = TcpStream::connect(("127.0.0.1", server.port))?;
            s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: localhost\r\n")?;
            s.set_nonblocking(true)?;
            conns.push(Some(s));
        }
        slow.push(conns);
    }
    let started = Instant::now();
    let window = window(load, servers.len());
    let (measured, closed) = std::thread::scope(|scope| {
        let trickle = scope.spawn(|| {
            let mut closed = vec![0; slow.len()];
            let mut buf = [0u8; 512];
            while started.elapsed() < window {
                for (conns, closed) in slow.iter_mut().zip(&mut closed) {
                    for slot in conns.iter_mut() {
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
                            *closed += 1;
                            *slot = None;
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            closed
        });
        let measured: Vec<io::Result<wrk::Measured>> = servers
            .iter()
            .map(|server| {
                ctx.progress.say(&format!(
                    "slow clients: {} beside slow connections",
                    server.name
                ));
                wrk::run(server.port, load)
            })
            .collect();
        let closed = trickle.join().unwrap_or_default();
        (measured, closed)
    });
    measured
        .into_iter()
        .zip(closed)
        .map(|(m, c)| Ok((m?, c)))
        .collect()
}
