//! The markdown report: what was run where, then a section per scenario.

use crate::measure::{Row, Sample};
use crate::plot;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

/// What one scenario produced.
#[derive(Debug)]
pub(crate) enum Body {
    /// Alternating wrk runs: the standard table and two plots.
    Throughput(Vec<Row>),
    /// A table of its own (memory, slow clients, C10K).
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Not run, and why (a missing peer, a failure).
    Skipped(String),
}

/// One row group of the report.
#[derive(Debug)]
pub(crate) struct Section {
    /// The scenario, e.g. `1. plaintext`.
    pub(crate) scenario: String,
    pub(crate) title: String,
    /// How it was run and what to read into it.
    pub(crate) about: String,
    pub(crate) body: Body,
}

impl Section {
    pub(crate) fn new(scenario: &str, title: &str, about: &str, body: Body) -> Section {
        Section {
            scenario: scenario.to_owned(),
            title: title.to_owned(),
            about: about.to_owned(),
            body,
        }
    }

    fn slug(&self) -> String {
        let s: String = format!("{} {}", self.scenario, self.title)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        s.split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    }
}

/// Writes `report.md` and the plots into `dir`; returns the markdown.
pub(crate) fn write(dir: &Path, heading: &str, sections: &[Section]) -> io::Result<String> {
    fs::create_dir_all(dir)?;
    let mut md = String::from(heading);
    let mut scenario = "";
    for s in sections {
        if s.scenario != scenario {
            scenario = &s.scenario;
            let _ = writeln!(md, "\n## {scenario}\n");
        }
        let _ = writeln!(md, "### {}\n\n{}\n", s.title, s.about);
        match &s.body {
            Body::Skipped(why) => {
                let _ = writeln!(md, "Skipped: {why}\n");
            }
            Body::Table { header, rows } => table(&mut md, header, rows),
            Body::Throughput(rows) => {
                throughput_table(&mut md, rows);
                let slug = s.slug();
                let title = format!("{}: {}", s.scenario, s.title);
                let bars = format!("{slug}.svg");
                let lat = format!("{slug}-latency.svg");
                match plot::throughput(&dir.join(&bars), &title, rows)
                    .and_then(|()| plot::latency(&dir.join(&lat), &title, rows))
                {
                    Ok(()) => {
                        let _ = writeln!(md, "![{title}]({bars}) ![latency]({lat})\n");
                    }
                    Err(e) => {
                        let _ = writeln!(md, "(plots failed: {e})\n");
                    }
                }
            }
        }
    }
    fs::write(dir.join("report.md"), &md)?;
    Ok(md)
}

fn table(md: &mut String, header: &[String], rows: &[Vec<String>]) {
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for r in rows {
        let _ = writeln!(md, "| {} |", r.join(" | "));
    }
    md.push('\n');
}

/// The table of a throughput section (the plain-text form README quotes).
pub(crate) fn throughput_table(md: &mut String, rows: &[Row]) {
    let Some(base) = rows.first() else {
        return;
    };
    let header: Vec<String> = [
        "server",
        "load",
        "req/s",
        &format!("req/s {} ÷ this", base.name),
        "CPU µs/req",
        &format!("CPU {} ÷ this", base.name),
        "p50",
        "p99",
        "max",
        "errors",
    ]
    .map(str::to_owned)
    .to_vec();
    let mut any_partial = false;
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            any_partial |= !r.every_process;
            vec![
                r.name.clone(),
                r.load.clone(),
                format!("{:.0}", r.rps()),
                format!("{:.2}", r.ratio(base, |s: &Sample| s.rps)),
                format!(
                    "{:.1}{}",
                    r.cpu_us(),
                    if r.every_process { "" } else { "*" }
                ),
                format!("{:.2}", r.ratio(base, |s: &Sample| s.cpu_us)),
                latency(r.latency_us(0)),
                latency(r.latency_us(3)),
                latency(r.latency_us(4)),
                r.errors().to_string(),
            ]
        })
        .collect();
    table(md, &header, &body);
    let runs = base.samples.len();
    let _ = writeln!(
        md,
        "Medians of {runs} alternating run{}; ratios are medians of the per-round ratios.\n",
        if runs == 1 { "" } else { "s" }
    );
    if any_partial {
        md.push_str(
            "\\* CPU from /proc (no writable cgroup): children the server did not reap are left out.\n\n",
        );
    }
}

/// Microseconds as wrk prints them.
pub(crate) fn latency(us: f64) -> String {
    if us.is_nan() {
        "-".to_owned()
    } else if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 1e6 {
        format!("{:.2} ms", us / 1e3)
    } else {
        format!("{:.2} s", us / 1e6)
    }
}
