//! The web-server side against a real php-fpm, over a unix socket.
//!
//! Starts `php-fpm8.x -n -F` with a temporary pool config and a PHP script
//! that echoes params and stdin (and can produce a 1 MiB body). Skips when
//! php-fpm is not installed, unless `CI=true`.

mod common;

use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::peer::{
    GroupGuard, Req, TempDir, find_peer, is_root, pattern, run_requests, spawn_group, wait_until,
};
use fcgi_proto::{
    FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, Limits, ProtocolStatus, ServerConn, ServerEvent,
};

const SCRIPT: &str = r#"<?php
header('Content-Type: text/plain');
header('X-Method: ' . $_SERVER['REQUEST_METHOD']);
$in = file_get_contents('php://input');
if (isset($_GET['stderr'])) { error_log('to-stderr'); }
if (isset($_GET['big'])) { echo str_repeat('0123456789abcdef', 65536); exit; }
echo "x-test=", $_SERVER['HTTP_X_TEST'] ?? '', "\n";
echo "long=", strlen($_SERVER['HTTP_X_LONG'] ?? ''), "\n";
echo "len=", strlen($in), "\n";
echo $in;
"#;

const CANDIDATES: &[&str] = &[
    "/usr/sbin/php-fpm8.4",
    "/usr/sbin/php-fpm8.3",
    "/usr/sbin/php-fpm8.2",
    "/usr/sbin/php-fpm8.1",
    "/usr/sbin/php-fpm",
];

struct Fpm {
    _guard: GroupGuard,
    socket: PathBuf,
    script: PathBuf,
    _dir: TempDir,
}

impl Fpm {
    fn start() -> Option<Self> {
        let bin = find_peer("php-fpm", CANDIDATES)?;
        let dir = TempDir::new("php-fpm");
        let socket = dir.path().join("fpm.sock");
        let script = dir.path().join("echo.php");
        std::fs::write(&script, SCRIPT).unwrap();
        let root = is_root();
        let user = if root {
            "user = root\ngroup = root\n"
        } else {
            ""
        };
        let conf = format!(
            "[global]\nerror_log = {log}\ndaemonize = no\n\n[www]\n{user}listen = {sock}\n\
             pm = static\npm.max_children = 2\n",
            log = dir.path().join("fpm.log").display(),
            sock = socket.display(),
        );
        let conf_path = dir.path().join("fpm.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut cmd = Command::new(bin);
        cmd.args(["-n", "-F", "-y"])
            .arg(&conf_path)
            .arg("-p")
            .arg(dir.path());
        if root {
            cmd.arg("-R");
        }
        let guard = spawn_group(&mut cmd);
        let sock = socket.clone();
        wait_until(Duration::from_secs(10), || UnixStream::connect(&sock).ok());
        Some(Self {
            _guard: guard,
            socket,
            script,
            _dir: dir,
        })
    }

    fn connect(&self) -> UnixStream {
        let s = UnixStream::connect(&self.socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    fn req(&self, method: &str, query: &str, extra: &[(&str, &str)], body: &[u8]) -> Req {
        let script = self.script.display().to_string();
        let len = body.len().to_string();
        let mut params = vec![
            ("GATEWAY_INTERFACE", "CGI/1.1"),
            ("SERVER_PROTOCOL", "HTTP/1.1"),
            ("REQUEST_METHOD", method),
            ("SCRIPT_FILENAME", script.as_str()),
            ("SCRIPT_NAME", "/echo.php"),
            ("REQUEST_URI", "/echo.php"),
            ("QUERY_STRING", query),
            ("CONTENT_TYPE", "application/octet-stream"),
            ("CONTENT_LENGTH", len.as_str()),
        ];
        params.extend_from_slice(extra);
        Req::responder(&params, body)
    }
}

#[test]
fn echoes_params_and_a_1mib_request_body() {
    let Some(fpm) = Fpm::start() else { return };
    let body = pattern(1 << 20);
    let long = "L".repeat(300); // a value over 127 bytes: the 4-byte length form
    let req = fpm.req(
        "POST",
        "",
        &[("HTTP_X_TEST", "hello"), ("HTTP_X_LONG", &long)],
        &body,
    );
    let mut conn = ServerConn::new(Limits::default());
    let replies = run_requests(
        fpm.connect(),
        &mut conn,
        &[req],
        true,
        Duration::from_secs(30),
    );
    let r = &replies[0];
    assert_eq!(r.protocol_status, Some(ProtocolStatus::RequestComplete));
    let (head, resp) = r.split();
    assert!(head.contains("X-Method: POST"), "{head}");
    let text_end = resp
        .windows(8)
        .position(|w| w == b"len=1048")
        .expect("len line");
    let after = &resp[text_end..];
    let nl = after.iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(&after[..nl], b"len=1048576");
    assert!(resp.starts_with(b"x-test=hello\nlong=300\n"));
    assert_eq!(&after[nl + 1..], &body[..], "echoed body differs");
}

#[test]
fn receives_a_1mib_response_body() {
    let Some(fpm) = Fpm::start() else { return };
    let req = fpm.req("GET", "big=1", &[], b"");
    let mut conn = ServerConn::new(Limits::default());
    let replies = run_requests(
        fpm.connect(),
        &mut conn,
        &[req],
        true,
        Duration::from_secs(30),
    );
    let (_, body) = replies[0].split();
    assert_eq!(body.len(), 1 << 20);
    assert!(body.chunks(16).all(|c| c == b"0123456789abcdef"));
}

#[test]
fn many_requests_on_one_kept_connection() {
    let Some(fpm) = Fpm::start() else { return };
    let reqs: Vec<Req> = (0..20)
        .map(|i| {
            fpm.req(
                "POST",
                "",
                &[("HTTP_X_TEST", &i.to_string())],
                &pattern(i * 1000),
            )
        })
        .collect();
    let mut conn = ServerConn::new(Limits::default());
    let replies = run_requests(
        fpm.connect(),
        &mut conn,
        &reqs,
        true,
        Duration::from_secs(30),
    );
    for (i, r) in replies.iter().enumerate() {
        let (_, body) = r.split();
        let want = format!("x-test={i}\nlong=0\nlen={}\n", i * 1000);
        assert!(body.starts_with(want.as_bytes()), "request {i}");
        assert_eq!(&body[want.len()..], &pattern(i * 1000)[..]);
    }
    assert!(conn.is_reusable());
}

#[test]
fn stderr_arrives_as_its_own_stream() {
    let Some(fpm) = Fpm::start() else { return };
    let req = fpm.req("GET", "stderr=1", &[], b"");
    let mut conn = ServerConn::new(Limits::default());
    let replies = run_requests(
        fpm.connect(),
        &mut conn,
        &[req],
        false,
        Duration::from_secs(30),
    );
    let stderr = String::from_utf8_lossy(&replies[0].stderr);
    assert!(stderr.contains("to-stderr"), "stderr: {stderr:?}");
    assert!(!conn.is_reusable());
}

#[test]
fn get_values_says_php_fpm_does_not_multiplex() {
    let Some(fpm) = Fpm::start() else { return };
    let mut sock = fpm.connect();
    let mut conn = ServerConn::new(Limits::default());
    conn.get_values([FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS])
        .unwrap();
    use std::io::{Read, Write};
    sock.write_all(&conn.poll_transmit().unwrap()).unwrap();
    let mut buf = [0u8; 4096];
    let values = loop {
        let n = sock.read(&mut buf).unwrap();
        assert!(n > 0, "php-fpm closed without answering GET_VALUES");
        conn.feed(&buf[..n]);
        if let Some(ev) = conn.poll_event().unwrap() {
            match ev {
                ServerEvent::GetValuesResult { values } => break values,
                other => panic!("unexpected {other:?}"),
            }
        }
    };
    let mpxs = values
        .iter()
        .find(|p| &p.name[..] == b"FCGI_MPXS_CONNS")
        .expect("FCGI_MPXS_CONNS answered");
    assert_eq!(&mpxs.value[..], b"0");
    assert_eq!(conn.max_concurrent(), 1);
}
