//! loadbench: every server figure of the README measured beside its peers, in one command.
//!
//! ```text
//! cargo run --release -p benches --bin loadbench -- --quick     # about 3 minutes
//! cargo run --release -p benches --bin loadbench                # the full run, under 20
//! ```
//!
//! It builds refserver's release binaries, starts each server on 127.0.0.1 with one worker,
//! drives it with wrk, reads its CPU time (utime+stime of the server and everything it
//! runs: a cgroup per server where one can be made, else /proc) and its resident memory,
//! alternates the servers of a comparison round by round, and writes a markdown report with
//! SVG plots to `results/<date>/` (git-ignored). Peers it cannot find are named with the
//! Debian package that brings them, and their rows are skipped; it installs nothing. Every
//! process it starts is stopped when it ends, also on Ctrl-C.

mod measure;
mod peers;
mod plot;
mod procs;
mod report;
mod scenarios;
mod servers;
mod wrk;

use clap::Parser;
use report::{Body, Section};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every server figure beside its peers: a markdown report and plots under `results/`.
#[derive(Debug, Parser)]
struct Options {
    /// One round of 2-second runs (and 5-second C10K runs): about 3 minutes.
    #[arg(long)]
    quick: bool,
    /// Alternating rounds per comparison (default 3, `--quick` 1).
    #[arg(long)]
    rounds: Option<usize>,
    /// Seconds per wrk run (default 5, `--quick` 2).
    #[arg(long)]
    secs: Option<u64>,
    /// Only these scenarios (comma-separated): plaintext, static, idle, slow, cgi, fastcgi,
    /// ladder, c10k, tls, visitors.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where the report goes (default: `results/<date>` in the workspace).
    #[arg(long)]
    out: Option<PathBuf>,
    /// An older refserver binary (e.g. built from the commit before a change), run as
    /// `refserver-base` beside the current build in the plaintext, static, memory, slow
    /// client, CGI and C10K scenarios.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Also write the tables into README.md, between its loadbench markers.
    #[arg(long)]
    readme: bool,
}

fn main() {
    let options = Options::parse();
    if let Err(e) = run(&options) {
        procs::stop_everything();
        eprintln!("loadbench: {e}");
        std::process::exit(1);
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn run(options: &Options) -> Result<(), String> {
    for key in &options.only {
        if !scenarios::ALL.iter().any(|s| s.key == key) {
            return Err(format!("no scenario `{key}`"));
        }
    }
    peers::WRK.find()?;
    ctrlc::set_handler(|| {
        eprintln!("loadbench: interrupted, stopping every server");
        procs::stop_everything();
        std::process::exit(130);
    })
    .map_err(|e| e.to_string())?;

    let progress = measure::Progress::new();
    let root = workspace();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    progress.say("building refserver, the embedded example and the hyper peer (release)");
    let commit = built_from(&root);
    build(&root)?;
    let release = target.join("release");
    let site = servers::Site::new(
        release.join("refserver"),
        release.join("examples/embedded"),
        release.join("examples/hyper_plaintext"),
        options.baseline.clone(),
    )
    .map_err(|e| e.to_string())?;
    let ctx = scenarios::Ctx {
        site: &site,
        progress: &progress,
        rounds: options
            .rounds
            .unwrap_or(if options.quick { 1 } else { 3 })
            .max(1),
        secs: options
            .secs
            .unwrap_or(if options.quick { 2 } else { 5 })
            .max(1),
        quick: options.quick,
    };

    let mut sections = Vec::new();
    for scenario in &scenarios::ALL {
        if !options.only.is_empty() && !options.only.iter().any(|k| k == scenario.key) {
            continue;
        }
        progress.say(&format!("scenario {}", scenario.name));
        match (scenario.run)(&ctx) {
            Ok(s) => sections.extend(s),
            Err(e) => sections.push(Section::new(
                scenario.name,
                "",
                "",
                Body::Skipped(e.to_string()),
            )),
        }
    }

    let date = chrono::Utc::now();
    let out = options.out.clone().unwrap_or_else(|| {
        root.join("results")
            .join(date.format("%Y-%m-%dT%H%M%SZ").to_string())
    });
    let heading = heading(
        &commit,
        &ctx,
        &date.format("%Y-%m-%d %H:%M UTC").to_string(),
    );
    let md = report::write(&out, &heading, &sections).map_err(|e| e.to_string())?;
    if options.readme {
        readme(&root.join("README.md"), &md)?;
    }
    println!("{md}");
    progress.say(&format!("report: {}", out.join("report.md").display()));
    let mut problems = scenarios::left_out();
    problems.extend(sections.iter().filter_map(|s| match &s.body {
        Body::Skipped(why) => Some(format!("{}: {why}", s.scenario)),
        _ => None,
    }));
    // In CI a peer that is missing is a failure, never a silent skip.
    if std::env::var("CI").is_ok_and(|v| v == "true") && !problems.is_empty() {
        return Err(format!(
            "CI=true and not everything ran: {}",
            problems.join("; ")
        ));
    }
    Ok(())
}

/// The binaries the scenarios start, built with the cargo that runs us.
fn build(root: &Path) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "refserver",
            "--bin",
            "refserver",
        ])
        .args([
            "--example",
            "embedded",
            "-p",
            "benches",
            "--example",
            "hyper_plaintext",
        ])
        .status()
        .map_err(|e| format!("cargo build: {e}"))?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("cargo build failed: {status}"))
}

/// The commit the binaries are built from, read when they are built (the tree may change
/// while a run goes on).
fn built_from(root: &Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .current_dir(root)
            .args(args)
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    };
    let dirty = if git(&["status", "--porcelain", "--untracked-files=no"]).is_empty() {
        ""
    } else {
        " (with uncommitted changes)"
    };
    format!("commit {}{dirty}", git(&["rev-parse", "--short", "HEAD"]))
}

/// Date, commit, machine, and how to read the figures.
fn heading(commit: &str, ctx: &scenarios::Ctx<'_>, date: &str) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split(':')
                    .nth(1)
                    .map(|m| m.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut h = String::from("# loadbench report\n\n");
    let _ = writeln!(
        h,
        "{date}, {commit}; {cores} cores ({cpu}), Linux {}; {} round{} of {} s runs{}.\n",
        kernel.trim(),
        ctx.rounds,
        if ctx.rounds == 1 { "" } else { "s" },
        ctx.secs,
        if ctx.quick { " (`--quick`)" } else { "" },
    );
    h.push_str(
        "Every server on 127.0.0.1 with one worker, access logs off, driven by wrk from the same \
         machine (so the load generator shares the cores). Absolute figures vary from machine to \
         machine and run to run; the ratios between servers measured in the same rounds are the \
         figures that count. CPU per request is the server's utime+stime (and its applications' \
         and children's) over the run, divided by the responses wrk counted.\n",
    );
    h
}

const README_START: &str = "<!-- loadbench:start -->";
const README_END: &str = "<!-- loadbench:end -->";

/// Replaces what lies between the README's loadbench markers with the report (plots left
/// out: they live in the results folder).
fn readme(path: &Path, md: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let (Some(start), Some(end)) = (text.find(README_START), text.find(README_END)) else {
        return Err(format!(
            "{} has no {README_START} ... {README_END} markers",
            path.display()
        ));
    };
    let body: String = md
        .lines()
        .filter(|l| !l.starts_with("![") && !l.starts_with("# loadbench report"))
        .map(|l| match l.strip_prefix("##") {
            Some(rest) => format!("####{rest}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    let new = format!(
        "{}{README_START}\n{}\n{}",
        &text[..start],
        body.trim(),
        &text[end..]
    );
    std::fs::write(path, new).map_err(|e| e.to_string())
}
