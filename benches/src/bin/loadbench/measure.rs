//! Alternating runs: every contender once per round (A, B, C, A, B, C ...), so that the
//! machine's slow moments fall on all of them alike; medians, and medians of the per-round
//! ratios to the first contender (refserver).

use crate::scenarios::Ctx;
use crate::servers::Server;
use crate::wrk::{self, Load};
use std::io;
use std::time::Instant;

/// Prints a progress line to stderr, with the time since loadbench started.
#[derive(Debug)]
pub(crate) struct Progress {
    started: Instant,
}

impl Progress {
    pub(crate) fn new() -> Progress {
        Progress {
            started: Instant::now(),
        }
    }

    pub(crate) fn say(&self, what: &str) {
        let s = self.started.elapsed().as_secs();
        eprintln!("loadbench [{:02}:{:02}] {what}", s / 60, s % 60);
    }
}

/// One server under one load.
#[derive(Debug)]
pub(crate) struct Contender<'a> {
    pub(crate) server: &'a Server,
    pub(crate) load: Load,
    /// A name for the row other than the server's (two routes of one server).
    pub(crate) label: Option<String>,
}

impl<'a> Contender<'a> {
    pub(crate) fn new(server: &'a Server, load: Load) -> Contender<'a> {
        Contender {
            server,
            load,
            label: None,
        }
    }

    pub(crate) fn labelled(server: &'a Server, load: Load, label: &str) -> Contender<'a> {
        Contender {
            server,
            load,
            label: Some(label.to_owned()),
        }
    }

    fn name(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.server.name)
    }
}

/// One run of one contender.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) rps: f64,
    /// Server CPU time (and its applications') per response, microseconds.
    pub(crate) cpu_us: f64,
    pub(crate) latency_us: [f64; 5],
    pub(crate) errors: u64,
}

/// Every run of one contender.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) load: String,
    pub(crate) samples: Vec<Sample>,
    /// CPU counted for every process (cgroup), reaped or not.
    pub(crate) every_process: bool,
}

impl Row {
    pub(crate) fn rps(&self) -> f64 {
        median(self.samples.iter().map(|s| s.rps))
    }

    pub(crate) fn cpu_us(&self) -> f64 {
        median(self.samples.iter().map(|s| s.cpu_us))
    }

    pub(crate) fn latency_us(&self, i: usize) -> f64 {
        median(self.samples.iter().map(|s| s.latency_us[i]))
    }

    pub(crate) fn errors(&self) -> u64 {
        self.samples.iter().map(|s| s.errors).sum()
    }

    /// Median over rounds of `base`'s figure divided by this row's.
    pub(crate) fn ratio(&self, base: &Row, figure: fn(&Sample) -> f64) -> f64 {
        median(
            base.samples
                .iter()
                .zip(&self.samples)
                .map(|(b, s)| figure(b) / figure(s)),
        )
    }
}

/// [`alternate`] with every server under the same load.
pub(crate) fn alternate_servers(
    ctx: &Ctx<'_>,
    title: &str,
    servers: &[&Server],
    load: &Load,
) -> io::Result<Vec<Row>> {
    let contenders: Vec<Contender<'_>> = servers
        .iter()
        .map(|s| Contender::new(s, load.clone()))
        .collect();
    alternate(ctx, title, &contenders)
}

/// Runs every contender once per round, `rounds` rounds, after a one-second warm-up each.
/// (`--quick`: no warm-up.)
pub(crate) fn alternate(
    ctx: &Ctx<'_>,
    title: &str,
    contenders: &[Contender<'_>],
) -> io::Result<Vec<Row>> {
    let rounds = ctx.rounds;
    for c in contenders.iter().filter(|_| !ctx.quick) {
        let warm = Load {
            secs: 1,
            ..c.load.clone()
        };
        wrk::run(c.server.port, &warm)?;
    }
    let mut rows: Vec<Row> = contenders
        .iter()
        .map(|c| Row {
            name: c.name().to_owned(),
            load: c.load.describe(),
            samples: Vec::new(),
            every_process: c.server.counts_every_process(),
        })
        .collect();
    for round in 1..=rounds {
        for (c, row) in contenders.iter().zip(&mut rows) {
            ctx.progress
                .say(&format!("{title}: round {round}/{rounds}, {}", row.name));
            rows_push(row, c)?;
        }
    }
    Ok(rows)
}

fn rows_push(row: &mut Row, c: &Contender<'_>) -> io::Result<()> {
    let before = c.server.cpu_us();
    let m = wrk::run(c.server.port, &c.load)?;
    // Let a child still running at the end (a CGI script) finish and be counted.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let after = c.server.cpu_us();
    let spent = after.saturating_sub(before) as f64;
    row.samples.push(Sample {
        rps: m.rps,
        cpu_us: if m.requests > 0 {
            spent / m.requests as f64
        } else {
            f64::NAN
        },
        latency_us: m.latency_us,
        errors: m.errors,
    });
    Ok(())
}

/// The median (the mean of the two middle values for an even count); NaN for none.
pub(crate) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        assert!(median(std::iter::empty()).is_nan());
    }

    #[test]
    fn ratios_are_per_round() {
        let s = |rps| Sample {
            rps,
            cpu_us: 1.0,
            latency_us: [0.0; 5],
            errors: 0,
        };
        let row = |v: &[f64]| Row {
            name: String::new(),
            load: String::new(),
            samples: v.iter().map(|&r| s(r)).collect(),
            every_process: true,
        };
        let base = row(&[100.0, 50.0, 200.0]);
        let peer = row(&[50.0, 50.0, 100.0]);
        assert_eq!(peer.ratio(&base, |s| s.rps), 2.0);
    }
}
