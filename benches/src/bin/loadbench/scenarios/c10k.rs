//! Scenario 8: C10K: 10,000 connections sending for 20 seconds: throughput, latency, errors, peak
//! resident memory, refserver and nginx.

use super::{Ctx, not_run, plaintext_servers};
use crate::measure::median;
use crate::report::{Body, Section, latency};
use crate::servers::Server;
use crate::wrk::{self, Load, Measured};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub(crate) fn run(ctx: &Ctx<'_>) -> io::Result<Vec<Section>> {
    let mut missing = Vec::new();
    let (rs, ng) = plaintext_servers(ctx, &mut missing)?;
    let secs = if ctx.quick { 5 } else { 20 };
    let load = Load {
        conns: 10_000,
        threads: 2,
        ..Load::keep_alive("/plaintext", 10_000, secs)
    };
    let all: Vec<&Server> = rs
        .iter()
        .chain([ng.as_ref()].into_iter().flatten())
        .collect();
    let mut runs: Vec<Vec<(Measured, u64, f64)>> = vec![Vec::new(); all.len()];
    for round in 1..=ctx.rounds {
        for (server, runs) in all.iter().zip(&mut runs) {
            ctx.progress.say(&format!(
                "c10k: round {round}/{}, {}",
                ctx.rounds, server.name
            ));
            runs.push(sustained(server, &load)?);
        }
    }
    let rows = all
        .iter()
        .zip(&runs)
        .map(|(server, runs)| {
            let m = |f: &dyn Fn(&(Measured, u64, f64)) -> f64| median(runs.iter().map(f));
            vec![
                server.name.clone(),
                format!("{:.0}", m(&|r| r.0.rps)),
                latency(m(&|r| r.0.latency_us[0])),
                latency(m(&|r| r.0.latency_us[3])),
                latency(m(&|r| r.0.latency_us[4])),
                runs.iter().map(|r| r.0.errors).sum::<u64>().to_string(),
                format!("{} KiB", runs.iter().map(|r| r.1).max().unwrap_or(0)),
                format!("{:.1}", m(&|r| r.2)),
            ]
        })
        .collect();
    Ok(vec![Section::new(
        "8. C10K",
        "10,000 connections sending",
        &format!(
            "{} on `/plaintext` (2 wrk threads, 5,000 connections each), one server worker; \
             medians of {} run{}, peak RSS the highest seen (sampled every 100 ms).{}{}",
            load.describe(),
            ctx.rounds,
            if ctx.rounds == 1 { "" } else { "s" },
            if ctx.quick {
                " `--quick`: 5 s runs instead of 20 s."
            } else {
                ""
            },
            not_run(&missing)
        ),
        Body::Table {
            header: [
                "server",
                "req/s",
                "p50",
                "p99",
                "max",
                "errors",
                "peak RSS",
                "CPU µs/req",
            ]
            .map(str::to_owned)
            .to_vec(),
            rows,
        },
    )])
}

/// One run, with the server's peak RSS and CPU per request.
fn sustained(server: &Server, load: &Load) -> io::Result<(Measured, u64, f64)> {
    let done = AtomicBool::new(false);
    let cpu_before = server.cpu_us();
    let (measured, peak) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(server.rss_kib());
                std::thread::sleep(Duration::from_millis(100));
            }
            peak
        });
        let measured = wrk::run(server.port, load);
        done.store(true, Ordering::Relaxed);
        (measured, sampler.join().unwrap_or(0))
    });
    let measured = measured?;
    let cpu = server.cpu_us().saturating_sub(cpu_before) as f64 / measured.requests.max(1) as f64;
    Ok((measured, peak, cpu))
}
