//! The application side (the `echo_app` example) driven by `cgi-fcgi` from
//! libfcgi-bin, the C reference library's client. Skips when cgi-fcgi is not
//! installed, unless `CI=true`.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/echo_app.rs"]
mod echo_app;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::peer::{ChildGuard, TempDir, find_peer, pattern, spawn_group};

/// Starts the example's serving code in this process on an ephemeral
/// 127.0.0.1 port; the listener thread ends with the test process.
fn start_in_process() -> String {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = echo_app::run("127.0.0.1:0", |addr| {
            let _ = tx.send(addr.to_owned());
        });
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("echo_app bound")
}

/// Runs cgi-fcgi against `conn` with `env` as the request's params and
/// `body` as stdin, bounded in time.
fn cgi_fcgi(bin: &Path, conn: &str, env: &[(&str, &str)], body: &[u8]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(["-bind", "-connect", conn])
        .env_clear()
        .envs(env.iter().copied())
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = ChildGuard(cmd.spawn().expect("spawn cgi-fcgi"));
    let mut stdin = child.0.stdin.take().unwrap();
    let body = body.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    // Read output on threads so the deadline below bounds the test.
    let mut out = child.0.stdout.take().unwrap();
    let mut err = child.0.stderr.take().unwrap();
    let o = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out, &mut v);
        v
    });
    let e = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err, &mut v);
        v
    });
    let end = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < end, "cgi-fcgi did not finish in time");
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: o.join().unwrap(),
        stderr: e.join().unwrap(),
    }
}

fn split(out: &[u8]) -> (String, &[u8]) {
    let p = out
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    (
        String::from_utf8_lossy(&out[..p]).into_owned(),
        &out[p + 4..],
    )
}

#[test]
fn cgi_fcgi_gets_params_and_body_echoed() {
    let Some(bin) = find_peer("cgi-fcgi", &["/usr/bin/cgi-fcgi"]) else {
        return;
    };
    let addr = start_in_process();
    let body = pattern(300_000);
    let out = cgi_fcgi(
        &bin,
        &addr,
        &[
            ("REQUEST_METHOD", "POST"),
            ("HTTP_X_TEST", "c-client"),
            ("LONG", &"v".repeat(500)),
        ],
        &body,
    );
    assert!(out.status.success(), "{out:?}");
    let (head, resp) = split(&out.stdout);
    assert!(head.contains("X-Echo-Role: Responder"), "{head}");
    assert!(head.contains("X-Echo-Stdin-Length: 300000"), "{head}");
    let text = String::from_utf8_lossy(&resp[..resp.len() - body.len()]);
    assert!(text.contains("REQUEST_METHOD=POST\n"), "{text}");
    assert!(text.contains("HTTP_X_TEST=c-client\n"), "{text}");
    assert!(text.contains(&format!("LONG={}\n", "v".repeat(500))));
    assert!(resp.ends_with(&body));
}

#[test]
fn cgi_fcgi_sees_stderr_and_app_status() {
    let Some(bin) = find_peer("cgi-fcgi", &["/usr/bin/cgi-fcgi"]) else {
        return;
    };
    let addr = start_in_process();
    let out = cgi_fcgi(
        &bin,
        &addr,
        &[
            ("REQUEST_METHOD", "GET"),
            ("HTTP_X_ECHO_STDERR", "oh no"),
            ("HTTP_X_ECHO_STATUS", "5"),
        ],
        b"",
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oh no");
    assert_eq!(out.status.code(), Some(5), "{out:?}");
}

#[test]
fn cgi_fcgi_many_sequential_requests() {
    let Some(bin) = find_peer("cgi-fcgi", &["/usr/bin/cgi-fcgi"]) else {
        return;
    };
    let addr = start_in_process();
    for i in 0..10 {
        let body = pattern(i * 5000);
        let out = cgi_fcgi(&bin, &addr, &[("REQUEST_METHOD", "PUT")], &body);
        assert!(out.status.success());
        assert!(out.stdout.ends_with(&body));
    }
}

/// The built example binary, next to this test binary's `deps/` directory.
fn example_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("examples").join("echo_app");
    p.is_file().then_some(p)
}

#[test]
fn example_binary_serves_a_unix_socket() {
    let Some(bin) = find_peer("cgi-fcgi", &["/usr/bin/cgi-fcgi"]) else {
        return;
    };
    let Some(app) = example_binary() else {
        // cargo test builds examples; a filtered build may not have.
        eprintln!("SKIP: echo_app example binary not built");
        return;
    };
    let dir = TempDir::new("echo-app");
    let sock = dir.path().join("echo.sock");
    let mut cmd = Command::new(app);
    cmd.arg(format!("unix:{}", sock.display()))
        .stdout(Stdio::piped());
    let mut guard = spawn_group(&mut cmd);
    let mut line = String::new();
    BufReader::new(guard.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on "), "{line}");
    let out = cgi_fcgi(
        &bin,
        &sock.display().to_string(),
        &[("REQUEST_METHOD", "POST")],
        b"over unix",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stdout.ends_with(b"\n\nover unix"),
        "{:?}",
        String::from_utf8_lossy(&out.stdout)
    );
}
