//! 10,000 concurrent keep-alive sessions, opened from a separate process (a Python asyncio
//! client), all still served after idling. Prints the server's resident memory per idle
//! session. Needs an open-files limit above 10,000 for both processes.

mod common;

use common::Server;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SESSIONS: usize = 10_000;

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

/// The hard open-files limit of this process: children may raise their soft limit to it.
fn open_files_hard_limit() -> u64 {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("Max open files"))?;
            match line.split_whitespace().nth(4)? {
                "unlimited" => Some(u64::MAX),
                n => n.parse().ok(),
            }
        })
        .unwrap_or(0)
}

/// Both processes raise their soft limit to this (`ulimit -n`, no privilege needed).
const NOFILE: u32 = 12_000;

/// Prints SKIP and returns true when a prerequisite is missing, unless `CI=true`.
fn skip(why: &str) -> bool {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "required in CI: {why}"
    );
    eprintln!("SKIP: {why}");
    true
}

#[test]
fn ten_thousand_idle_keep_alive_sessions_are_all_served_again() {
    if Command::new("python3").arg("--version").output().is_err() && skip("python3 not found") {
        return;
    }
    let hard = open_files_hard_limit();
    if hard < u64::from(NOFILE) && skip(&format!("hard open-files limit {hard} is below {NOFILE}"))
    {
        return;
    }
    let config = r#"
access_log = "off"
workers = 2
[limits]
max_sessions = 12000
keepalive_timeout_ms = 120000
[[route]]
prefix = "/plaintext"
respond = { content_type = "text/plain", body = "Hello, World!" }
[[route]]
prefix = "/status"
status = {}
"#;
    let server = Server::start_limited("c10k", Some(config), &[], Some(NOFILE));
    // Warm up the runtime's allocations before the baseline.
    let (r, _) = common::exchange(&server, b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    std::thread::sleep(Duration::from_millis(100));
    let before = rss_bytes(server.pid());

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/c10k_client.py");
    let mut client = Command::new("sh")
        .args([
            "-c",
            &format!("ulimit -n {NOFILE} && exec python3 \"$@\""),
            "python3",
            script,
            &server.addr.ip().to_string(),
            &server.addr.port().to_string(),
            &SESSIONS.to_string(),
            "1.5",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut stdin = client.stdin.take().unwrap();
    let mut lines = BufReader::new(client.stdout.take().unwrap()).lines();
    let client = Kill(client);
    let started = Instant::now();

    let ready: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(ready["open"], SESSIONS, "{ready}");
    std::thread::sleep(Duration::from_millis(300));
    let after = rss_bytes(server.pid());
    let per_session = after.saturating_sub(before) / SESSIONS as u64;
    println!(
        "{SESSIONS} idle keep-alive sessions: server RSS {} KiB -> {} KiB, {per_session} bytes per idle session",
        before / 1024,
        after / 1024
    );
    // The budget is 2 KiB (issue 8; measured 1.9 KiB in release and debug builds); this
    // guard fails on a clear regression, not on allocator noise.
    assert!(
        per_session < 2560,
        "{per_session} bytes per idle session: over budget"
    );
    let status = common::curl(&[&server.url("/status?format=json")]);
    if let Some(out) = status {
        println!("status: {}", String::from_utf8_lossy(&out.stdout).trim());
    }

    writeln!(stdin, "go").unwrap();
    let done: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(done["served_again"], SESSIONS, "{done}");
    assert!(started.elapsed() < Duration::from_secs(120));
    drop(client);
}
