//! The real binary over real sockets: keep-alive, pipelining, 100-continue, HEAD,
//! conditional and range requests, traversal, malformed and oversized requests, slowloris,
//! the status page, the gateway slots, and the command line.

mod common;

use common::{Server, curl, exchange, is_closed, read_response};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const GET_PLAIN: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let server = Server::start("keepalive", None, &["--access-log", "off"]);
    let mut s = server.connect();
    for _ in 0..5 {
        s.write_all(GET_PLAIN).unwrap();
        let r = read_response(&mut s, false);
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"Hello, World!");
        assert!(!r.closes());
        assert!(r.header("date").is_some());
    }
    // HTTP/1.0 without keep-alive closes after the response.
    s.write_all(b"GET /plaintext HTTP/1.0\r\n\r\n").unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200);
    assert!(is_closed(&mut s));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = Server::start("pipeline", None, &["--access-log", "off"]);
    let mut s = server.connect();
    s.write_all(
        b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /style.css HTTP/1.1\r\nHost: t\r\n\r\nHEAD /plaintext HTTP/1.1\r\nHost: t\r\n\r\nGET /nope HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let a = read_response(&mut s, false);
    let b = read_response(&mut s, false);
    let c = read_response(&mut s, true);
    let d = read_response(&mut s, false);
    assert_eq!((a.status, a.text().as_str()), (200, "Hello, World!"));
    assert_eq!(b.status, 200);
    assert!(b.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(
        (c.status, c.header("content-length").as_deref()),
        (200, Some("13"))
    );
    assert_eq!(d.status, 404);
}

#[test]
fn expect_100_continue_gets_a_continue_only_when_the_route_reads_the_body() {
    let server = Server::start("continue", None, &["--access-log", "off"]);
    // The echo route reads the body: 100 Continue, then the body echoed back.
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let cont = read_response(&mut s, false);
    assert_eq!(cont.status, 100);
    s.write_all(b"hello").unwrap();
    let r = read_response(&mut s, false);
    assert_eq!((r.status, r.text().as_str()), (200, "hello"));
    // The connection stays usable.
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);

    // A fixed response does not read bodies: no 100, the answer at once, and since the
    // body may never come, the connection closes after it (with a lingering read).
    let mut s = server.connect();
    s.write_all(
        b"POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, World!"));
    assert!(r.closes());
    assert!(is_closed(&mut s));

    // A body over the limit is refused before it is sent: 413, never 100.
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 413);
    assert!(is_closed(&mut s));

    for (path, code) in [
        ("/echo", "200"),
        ("/plaintext", "200"),
        ("/style.css", "405"),
    ] {
        if let Some(out) = curl(&[
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "-H",
            "Expect: 100-continue",
            "--data-binary",
            "abc",
            &server.url(path),
        ]) {
            assert_eq!(String::from_utf8_lossy(&out.stdout), code, "{path}");
        }
    }
}

#[test]
fn head_has_the_length_and_no_body() {
    let server = Server::start("head", None, &["--access-log", "off"]);
    let mut s = server.connect();
    s.write_all(b"HEAD /range-demo.txt HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = read_response(&mut s, true);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length").as_deref(), Some("16200"));
    // The next response follows directly: no body bytes were sent for HEAD.
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).body, b"Hello, World!");
    if let Some(out) = curl(&["-I", &server.url("/")]) {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains("content-type: text/html"), "{text}");
    }
}

#[test]
fn conditional_requests_get_304() {
    let server = Server::start("conditional", None, &["--access-log", "off"]);
    let (r, _) = exchange(&server, b"GET /style.css HTTP/1.1\r\nHost: t\r\n\r\n");
    let etag = r.header("etag").unwrap();
    let lm = r.header("last-modified").unwrap();
    let (r, _) = exchange(
        &server,
        format!("GET /style.css HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let (r, _) = exchange(
        &server,
        format!("GET /style.css HTTP/1.1\r\nHost: t\r\nIf-Modified-Since: {lm}\r\n\r\n").as_bytes(),
    );
    assert_eq!(r.status, 304);
    if let Some(out) = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "-H",
        &format!("If-None-Match: {etag}"),
        &server.url("/style.css"),
    ]) {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "304");
    }
}

#[test]
fn range_requests_get_206_or_416() {
    let server = Server::start("range", None, &["--access-log", "off"]);
    let whole = std::fs::read(common::demo_site().join("range-demo.txt")).unwrap();
    let (r, _) = exchange(
        &server,
        b"GET /range-demo.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=100-199\r\n\r\n",
    );
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range").as_deref(),
        Some("bytes 100-199/16200")
    );
    assert_eq!(r.body, &whole[100..200]);
    let (r, _) = exchange(
        &server,
        b"GET /range-demo.txt HTTP/1.1\r\nHost: t\r\nRange: bytes=99999-\r\n\r\n",
    );
    assert_eq!(r.status, 416);
    assert_eq!(r.header("content-range").as_deref(), Some("bytes */16200"));
    if let Some(out) = curl(&["-r", "0-99", &server.url("/range-demo.txt")]) {
        assert_eq!(out.stdout, &whole[..100]);
    }
}

#[test]
fn large_files_stream_whole() {
    let dir = common::temp_dir("large-root");
    let big: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let root = dir.to_str().unwrap();
    let server = Server::start("large", None, &["--root", root, "--access-log", "off"]);
    let (r, _) = exchange(&server, b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.body == big, "body differs");
    if let Some(out) = curl(&["-o", "-", &server.url("/big.bin")]) {
        assert!(out.stdout == big);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn traversal_attempts_stay_inside_the_root() {
    let dir = common::temp_dir("traversal-root");
    let root = dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("ok.txt"), "ok").unwrap();
    std::fs::write(dir.join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(dir.join("secret.txt"), root.join("link.txt")).unwrap();
    let server = Server::start(
        "traversal",
        None,
        &["--root", root.to_str().unwrap(), "--access-log", "off"],
    );
    for target in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/ok/../../secret.txt",
        "/..%2f..%2fetc%2fpasswd",
        "/ok.txt%00.html",
    ] {
        let (r, _) = exchange(
            &server,
            format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
        assert_eq!(r.status, 400, "{target}");
        assert!(!r.text().contains("secret"));
    }
    let (r, _) = exchange(&server, b"GET /link.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 403);
    let (r, _) = exchange(&server, b"GET /ok.txt HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
    if let Some(out) = curl(&[
        "--path-as-is",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        &server.url("/../secret.txt"),
    ]) {
        assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
    }
    let _ = std::fs::remove_dir_all(dir);
}

const SMALL_LIMITS: &str = r#"
access_log = "off"
[limits]
max_head_bytes = 1024
max_target_bytes = 256
max_body_bytes = 1000
header_timeout_ms = 600
first_byte_timeout_ms = 600
[[route]]
prefix = "/plaintext"
respond = { content_type = "text/plain", body = "Hello, World!" }
"#;

#[test]
fn malformed_and_oversized_requests_get_their_status_and_a_close() {
    let server = Server::start("malformed", Some(SMALL_LIMITS), &[]);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(300));
    let big_head = format!(
        "GET / HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(2000)
    );
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (b"GARBAGE\r\n\r\n".to_vec(), 400),
        (
            b"GET / HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n".to_vec(),
            400,
        ),
        (b"GET / HTTP/1.1\r\n\r\n".to_vec(), 400),
        (
            b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
                .to_vec(),
            400,
        ),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n".to_vec(), 505),
        (long_target.into_bytes(), 414),
        (big_head.into_bytes(), 431),
        (
            b"POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n".to_vec(),
            413,
        ),
    ];
    for (raw, status) in cases {
        let (r, mut s) = exchange(&server, &raw);
        assert_eq!(
            r.status,
            status,
            "{}",
            String::from_utf8_lossy(&raw[..20.min(raw.len())])
        );
        assert!(r.closes(), "{status} says connection: close");
        assert!(is_closed(&mut s), "{status} closes the connection");
    }
}

#[test]
fn a_slow_client_gets_408_without_delaying_a_fast_one() {
    let server = Server::start("slowloris", Some(SMALL_LIMITS), &[]);
    let mut slow = server.connect();
    let started = Instant::now();
    slow.write_all(b"GET /plaintext HTTP/1.1\r\n").unwrap();
    let trickle = std::thread::spawn(move || {
        // One header byte every 50 ms: never a complete head within 600 ms.
        for b in b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if slow.write_all(&[*b]).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        slow
    });
    for _ in 0..5 {
        let t = Instant::now();
        let (r, _) = exchange(&server, GET_PLAIN);
        assert_eq!(r.status, 200);
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "fast client waited {:?}",
            t.elapsed()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut slow = trickle.join().unwrap();
    let r = read_response(&mut slow, false);
    assert_eq!(r.status, 408);
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(is_closed(&mut slow));
}

#[test]
fn the_status_page_counts_sessions_and_requests() {
    let server = Server::start("status", None, &["--access-log", "off"]);
    let (r, _) = exchange(&server, b"GET /status HTTP/1.1\r\nHost: t\r\n\r\n");
    let text = r.text();
    assert!(text.starts_with("Active connections: "), "{text}");
    assert!(text.contains("server accepts handled requests"));
    let Some(out) = curl(&[&server.url("/status?format=json")]) else {
        return;
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["requests"].as_u64().unwrap() >= 2);
    assert!(v["active"].as_u64().unwrap() >= 1);
    assert!(v["phases"]["idle"].is_u64());
    assert!(v["idle_session_task_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn a_fastcgi_route_with_nobody_listening_answers_502() {
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    let config = r#"
access_log = "off"
[[route]]
suffix = ".php"
fastcgi = { upstreams = ["127.0.0.1:9"], program = "/srv/app.php" }
"#;
    let server = Server::start("gateways", Some(config), &[]);
    let (r, _) = exchange(&server, b"GET /index.php HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 502);
    let (r, _) = exchange(&server, b"GET /other HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
}

#[test]
fn the_access_log_has_combined_format_lines() {
    let server = Server::start("accesslog", None, &[]);
    let (r, _) = exchange(
        &server,
        b"GET /plaintext?x=1 HTTP/1.1\r\nHost: t\r\nUser-Agent: it-test\r\nReferer: http://r/\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let out = server.stdout.lock().unwrap().clone();
        if let Some(line) = out.lines().find(|l| l.contains("/plaintext?x=1")) {
            assert!(line.starts_with("127.0.0.1 - - ["), "{line}");
            assert!(
                line.ends_with("\"GET /plaintext?x=1 HTTP/1.1\" 200 13 \"http://r/\" \"it-test\""),
                "{line}"
            );
            break;
        }
        assert!(Instant::now() < until, "no access log line in {out}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn shutdown_finishes_the_request_in_flight_and_accepts_nothing_new() {
    let mut server = Server::start("shutdown", None, &["--access-log", "off"]);
    let mut s = server.connect();
    // A request in flight: its head is in, half its body is not.
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nhello")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    server.sigterm();
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        std::net::TcpStream::connect_timeout(&server.addr, Duration::from_secs(2)).is_err(),
        "a new connection was accepted during the drain"
    );
    s.write_all(b"world").unwrap();
    let r = read_response(&mut s, false);
    assert_eq!((r.status, r.text().as_str()), (200, "helloworld"));
    assert!(is_closed(&mut s));
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn idle_sessions_do_not_hold_up_shutdown() {
    let mut server = Server::start("shutdown-idle", None, &["--access-log", "off"]);
    let mut idle = server.connect();
    idle.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut idle, false).status, 200);
    let t = Instant::now();
    server.sigterm();
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "drain took {:?}",
        t.elapsed()
    );
    let mut buf = [0u8; 16];
    assert!(matches!(idle.read(&mut buf), Ok(0) | Err(_)));
}

#[test]
fn encoded_or_dotted_paths_cannot_bypass_a_route() {
    let dir = common::temp_dir("bypass-root");
    std::fs::create_dir_all(dir.join("private")).unwrap();
    std::fs::write(dir.join("private/secret.txt"), "secret").unwrap();
    let config = format!(
        r#"
access_log = "off"
[[route]]
prefix = "/private/"
respond = {{ status = 403, content_type = "text/plain", body = "no" }}
[[route]]
prefix = "/"
static = {{ dir = "{}" }}
"#,
        dir.display()
    );
    let server = Server::start("bypass", Some(&config), &[]);
    for target in [
        "/private/secret.txt",
        "/%70rivate/secret.txt",
        "/x/../private/secret.txt",
        "//private//secret.txt",
        "/./private/secret.txt",
        "/private%2Fsecret.txt",
    ] {
        let (r, _) = exchange(
            &server,
            format!("GET {target} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
        assert_eq!((r.status, r.text().as_str()), (403, "no"), "{target}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_slow_reader_does_not_make_the_server_buffer_the_file() {
    let dir = common::temp_dir("slow-reader-root");
    let big = vec![b'x'; 32 << 20];
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let root = dir.to_str().unwrap();
    let server = Server::start(
        "slow-reader",
        None,
        &["--root", root, "--access-log", "off"],
    );
    let (r, _) = exchange(&server, b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(r.status, 404);
    let before = server.rss_kib();
    let mut s = server.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 1024];
    s.read_exact(&mut first).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let during = server.rss_kib();
    assert!(
        during < before + 2048,
        "server grew from {before} KiB to {during} KiB while the client did not read"
    );
    let mut rest = Vec::new();
    let head_end = first.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let want = big.len() - (first.len() - head_end);
    rest.resize(want, 0);
    s.read_exact(&mut rest).unwrap();
    assert!(rest.iter().all(|&b| b == b'x'));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_multi_thread_runtime_serves_and_drains_too() {
    let mut server = Server::start(
        "multi-thread",
        None,
        &[
            "--runtime",
            "multi-thread",
            "--workers",
            "2",
            "--access-log",
            "off",
        ],
    );
    let mut s = server.connect();
    s.write_all(&GET_PLAIN.repeat(3)).unwrap();
    for _ in 0..3 {
        assert_eq!(read_response(&mut s, false).body, b"Hello, World!");
    }
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nab")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    // SIGINT drains like SIGTERM.
    let status = std::process::Command::new("kill")
        .args(["-INT", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    std::thread::sleep(Duration::from_millis(200));
    s.write_all(b"cd").unwrap();
    let r = read_response(&mut s, false);
    assert_eq!((r.status, r.text().as_str()), (200, "abcd"));
    assert_eq!(server.wait_exit(Duration::from_secs(10)), Some(0));
}

#[test]
fn sighup_reloads_routes_and_access_log_without_dropping_sessions() {
    let config = |body: &str, log: &str| {
        format!(
            r#"
access_log = "{log}"
[[route]]
prefix = "/plaintext"
respond = {{ content_type = "text/plain", body = "{body}" }}
"#
        )
    };
    let server = Server::start("reload", Some(&config("A", "off")), &[]);
    let path = server.dir.join("refserver.toml");
    let log = server.dir.join("access.log");
    let hup = || {
        let status = std::process::Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        std::thread::sleep(Duration::from_millis(300));
    };
    let mut s = server.connect();
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).text(), "A");

    std::fs::write(&path, config("B", "access.log")).unwrap();
    hup();
    // The same keep-alive session sees the new routes.
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).text(), "B");
    let (r, _) = exchange(&server, GET_PLAIN);
    assert_eq!(r.text(), "B");

    // A broken file leaves the running configuration in force.
    std::fs::write(&path, "[[route]]\nprefix = \"/\"\nrespnd = {}\n").unwrap();
    hup();
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).text(), "B");

    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.lines().count() >= 3 {
            assert!(
                text.contains("\"GET /plaintext HTTP/1.1\" 200 1 "),
                "{text}"
            );
            break;
        }
        assert!(Instant::now() < until, "access log after reload: {text:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_absolute_form_target_routes_on_its_own_authority() {
    let config = r#"
access_log = "off"
[[route]]
host = "admin.example"
prefix = "/"
respond = { body = "admin" }
[[route]]
prefix = "/"
respond = { body = "public" }
"#;
    let server = Server::start("absolute-form", Some(config), &[]);
    for (raw, body) in [
        (
            &b"GET / HTTP/1.1\r\nHost: admin.example\r\n\r\n"[..],
            "admin",
        ),
        // RFC 9112 §3.2.2: the target's authority replaces Host.
        (
            b"GET http://admin.example:8080/ HTTP/1.1\r\nHost: other\r\n\r\n",
            "admin",
        ),
        (
            b"GET http://other/ HTTP/1.1\r\nHost: admin.example\r\n\r\n",
            "public",
        ),
    ] {
        let (r, _) = exchange(&server, raw);
        assert_eq!(
            (r.status, r.text().as_str()),
            (200, body),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
    // RFC 9110 §4.2: another scheme, userinfo or an empty host are refused.
    for raw in [
        &b"GET ftp://admin.example/ HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET http://user@admin.example/ HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        let (r, _) = exchange(&server, raw);
        assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(raw));
    }
}

/// Every request leaves an access-log line, as with nginx: requests session-core answers
/// itself (garbage, no Host, too long, too large, an unknown version) and a client that
/// leaves before its response (499).
#[test]
fn every_request_leaves_an_access_log_line() {
    let sleeper = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi-scripts");
    let config = format!(
        "[[route]]\nprefix = \"/cgi/\"\ncgi = {{ dir = {:?} }}\n[[route]]\nprefix = \"/\"\nrespond = {{ body = \"x\" }}\n",
        sleeper.display().to_string()
    );
    let server = Server::start("accesslog-all", Some(&config), &[]);
    let long_target = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(20_000));
    let big_head = format!(
        "GET /big HTTP/1.1\r\nHost: t\r\nX-Big: {}\r\n\r\n",
        "b".repeat(70_000)
    );
    let cases: [(&[u8], u16, &str); 5] = [
        (b"HELLO THERE\r\n\r\n", 400, "\"HELLO THERE\" 400"),
        (
            b"GET /nohost HTTP/1.1\r\n\r\n",
            400,
            "\"GET /nohost HTTP/1.1\" 400",
        ),
        (long_target.as_bytes(), 414, "414"),
        (big_head.as_bytes(), 431, "\"GET /big HTTP/1.1\" 431"),
        (
            b"GET /v HTTP/3.0\r\nHost: t\r\n\r\n",
            505,
            "\"GET /v HTTP/3.0\" 505",
        ),
    ];
    for (raw, status, _) in &cases {
        let mut s = server.connect();
        let _ = s.write_all(raw);
        let mut got = String::new();
        let _ = s.read_to_string(&mut got);
        assert!(got.starts_with(&format!("HTTP/1.1 {status} ")), "{got:.80}");
    }
    // A client that leaves while its CGI script runs.
    let mut s = server.connect();
    s.write_all(b"GET /cgi/sleeper.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(s);
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let out = server.stdout.lock().unwrap().clone();
        let missing: Vec<&str> = cases
            .iter()
            .map(|c| c.2)
            .chain(["\"GET /cgi/sleeper.sh HTTP/1.1\" 499 -"])
            .filter(|want| !out.lines().any(|l| l.contains(want)))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "missing {missing:?} in\n{out}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `access_log_format = "json"`: one object per line, with `remote_user` from Basic
/// credentials; `access_log_time = "utc"`.
#[test]
fn the_access_log_can_be_json_lines_with_the_basic_user() {
    let config = "access_log_format = \"json\"\naccess_log_time = \"utc\"\n[[route]]\nprefix = \"/\"\nrespond = { body = \"x\" }\n";
    let server = Server::start("accesslog-json", Some(config), &[]);
    let (r, _) = exchange(
        &server,
        b"GET /j?q=\"1\" HTTP/1.1\r\nHost: t\r\nAuthorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nUser-Agent: it\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let until = Instant::now() + Duration::from_secs(5);
    let line = loop {
        let out = server.stdout.lock().unwrap().clone();
        if let Some(line) = out.lines().find(|l| l.starts_with('{')) {
            break line.to_owned();
        }
        assert!(Instant::now() < until, "no JSON line in {out}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["request"], "GET /j?q=\"1\" HTTP/1.1", "{line}");
    assert_eq!(v["remote_user"], "Aladdin");
    assert_eq!(v["status"], 200);
    assert_eq!(v["body_bytes_sent"], 1);
    assert_eq!(v["http_user_agent"], "it");
    assert!(v["time"].as_str().unwrap().ends_with("+00:00"), "{line}");
}

/// A response the drain deadline cuts is logged too (503: the server gave up on it).
#[test]
fn a_request_cut_by_the_drain_deadline_is_logged() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi-scripts");
    let config = format!(
        "shutdown_timeout_ms = 300\n[[route]]\nprefix = \"/cgi/\"\ncgi = {{ dir = {:?} }}\n",
        scripts.display().to_string()
    );
    let mut server = Server::start("accesslog-drain", Some(&config), &[]);
    let mut s = server.connect();
    s.write_all(b"GET /cgi/sleeper.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.sigterm();
    assert!(server.wait_exit(Duration::from_secs(10)).is_some());
    let out = server.stdout.lock().unwrap().clone();
    assert!(
        out.contains("\"GET /cgi/sleeper.sh HTTP/1.1\" 503 -"),
        "no line for the cut request in\n{out}"
    );
}

/// The status page for operators: traffic, status classes, per-route counts, and the
/// Prometheus text format read by a real parser; `allow`/`deny` keep a route private.
#[test]
fn the_status_page_speaks_prometheus_and_routes_can_be_private() {
    let config = "access_log = \"off\"\n\
        [[route]]\nprefix = \"/status\"\nstatus = {}\nallow = [\"127.0.0.0/8\", \"::1\"]\n\
        [[route]]\nprefix = \"/private\"\nrespond = { body = \"secret\" }\nallow = [\"10.0.0.0/8\"]\n\
        [[route]]\nprefix = \"/denied\"\nrespond = { body = \"no\" }\ndeny = [\"127.0.0.1\"]\n\
        [[route]]\nprefix = \"/\"\nrespond = { body = \"hello\" }\n";
    let server = Server::start("status-prometheus", Some(config), &[]);
    for path in ["/", "/a", "/b"] {
        let (r, _) = exchange(
            &server,
            format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
        assert_eq!(r.status, 200);
    }
    for path in ["/private", "/denied"] {
        let (r, _) = exchange(
            &server,
            format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes(),
        );
        assert_eq!(r.status, 403, "{path}");
    }
    let (r, _) = exchange(
        &server,
        b"GET /status?format=prometheus HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("valid exposition format");
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(
        value("refserver_responses_total", Some(("class", "2xx"))),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value("refserver_responses_total", Some(("class", "4xx"))),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value("refserver_route_requests_total", Some(("route", "4"))),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            "refserver_route_requests_total",
            Some(("prefix", "/private"))
        ),
        Some(1.0)
    );
    assert!(value("refserver_received_bytes_total", None).unwrap() > 100.0);
    assert!(value("refserver_sent_bytes_total", None).unwrap() > 100.0);
    assert_eq!(value("refserver_reloads_total", None), Some(0.0));
    assert!(
        value(
            "refserver_build_info",
            Some(("version", env!("CARGO_PKG_VERSION")))
        )
        .is_some()
    );
}

/// A client that stops reading is closed past `write_stall_timeout_ms`, and its request
/// logged with the status sent and the bytes that went out; a head that never completes
/// is answered 408 and logged with what arrived of its request-line.
#[test]
fn stalls_and_slow_heads_are_logged() {
    let dir = common::temp_dir("accesslog-stall-site");
    std::fs::write(dir.join("big.bin"), vec![b'x'; 32 << 20]).unwrap();
    let config = format!(
        "[limits]\nwrite_stall_timeout_ms = 300\nheader_timeout_ms = 300\n[[route]]\nprefix = \"/\"\nstatic = {{ dir = {:?} }}\n",
        dir.display().to_string()
    );
    let server = Server::start("accesslog-stall", Some(&config), &[]);
    let mut stalled = server.connect();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut slow = server.connect();
    slow.write_all(b"GET /slow-head HTTP/1.1\r\nHost: t\r\n")
        .unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let out = server.stdout.lock().unwrap().clone();
        let stall = out
            .lines()
            .find(|l| l.contains("\"GET /big.bin HTTP/1.1\" 200 "));
        let head = out
            .lines()
            .find(|l| l.contains("\"GET /slow-head HTTP/1.1\" 408"));
        if let (Some(stall), Some(_)) = (stall, head) {
            let bytes: u64 = stall.split(' ').nth(9).unwrap().parse().unwrap();
            assert!(
                bytes < 32 << 20,
                "the whole file cannot have gone out: {stall}"
            );
            break;
        }
        assert!(Instant::now() < until, "missing lines in\n{out}");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop((stalled, slow));
    let _ = std::fs::remove_dir_all(&dir);
}
