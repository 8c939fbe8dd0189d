//! In-process handlers end to end, against the running `embedded` example
//! (`examples/embedded.rs`): each route it documents, a 10 MiB echo with the server's
//! memory bounded, a storm of panics, the route timeout, cancellation by a client that
//! leaves, visitor sessions (across requests, expiry, rotation, logout), the filter layer,
//! the status page's counters; and the embedding API itself (start, reload, shutdown).

mod common;

use common::{Resp, Server, read_head, read_response, read_whole_response};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn example() -> PathBuf {
    common::embedded_example()
}

fn start(name: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--workers", "1", "--access-log", "off"];
    args.extend_from_slice(extra);
    Server::start_program(name, &example(), &args)
}

fn get(s: &mut TcpStream, path: &str, extra: &str) -> Resp {
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n{extra}\r\n").as_bytes())
        .unwrap();
    read_whole_response(s, false)
}

/// `/status?format=json`'s counters of one handler.
fn handler_counts(server: &Server, name: &str) -> serde_json::Value {
    let r = get(&mut server.connect(), "/status?format=json", "");
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["handlers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no handler {name} in {v}"))
}

fn byte_at(i: usize) -> u8 {
    u8::try_from(i % 251).unwrap_or(0)
}

#[test]
fn each_route_of_the_example_answers_as_documented() {
    let server = start("handlers-routes", &[]);
    let mut s = server.connect();
    let r = get(&mut s, "/hello", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(r.header("content-length").as_deref(), Some("32"));
    assert_eq!(r.text(), "Hello from an in-process handler");
    // The filter numbered it; a second answer gets another number.
    let first = r.header("x-request-id").unwrap();
    let r = get(&mut s, "/app/greet/world", "");
    assert_eq!((r.status, r.text().as_str()), (200, "Hello, world"));
    assert_ne!(r.header("x-request-id").unwrap(), first);
    // axum decodes its own path parameters; its own 404 for what it does not route.
    assert_eq!(get(&mut s, "/app/greet/a%20b", "").text(), "Hello, a b");
    assert_eq!(get(&mut s, "/app/nothing", "").status, 404);
    // Everything else is the demo site, without the filter.
    let r = get(&mut s, "/", "");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<html"), "{}", r.text());
    assert!(r.header("x-request-id").is_none());
    assert_eq!(get(&mut s, "/plaintext", "").text(), "Hello, World!");
    // HEAD through axum: the length, no body.
    s.write_all(b"HEAD /app/greet/abc HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = read_whole_response(&mut s, true);
    assert_eq!(r.header("content-length").as_deref(), Some("10"));
    assert_eq!(get(&mut s, "/hello", "").status, 200, "still in step");
}

#[test]
fn a_10_mib_echo_streams_back_unchanged_with_the_server_memory_bounded() {
    let server = start("handlers-echo", &[]);
    let mut warm = server.connect();
    warm.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
        .unwrap();
    assert_eq!(read_response(&mut warm, false).text(), "hi");
    let before = server.rss_kib();

    const TOTAL: usize = 10 << 20;
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        format!(
            "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-test\r\nContent-Length: {TOTAL}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut writer = s.try_clone().unwrap();
    let upload = std::thread::spawn(move || {
        let mut chunk = vec![0u8; 128 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            let n = chunk.len().min(TOTAL - sent);
            for (k, b) in chunk[..n].iter_mut().enumerate() {
                *b = byte_at(sent + k);
            }
            writer.write_all(&chunk[..n]).unwrap();
            sent += n;
        }
    });
    let head = read_head(&mut s);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(
        head.contains(&format!("content-length: {TOTAL}\r\n")),
        "{head}"
    );
    assert!(
        head.contains("content-type: application/x-test\r\n"),
        "{head}"
    );
    let (mut got, mut most) = (0, before);
    let mut buf = vec![0u8; 64 * 1024];
    while got < TOTAL {
        // A slow reader: the echo, and through it the upload, wait for it.
        if got % (1 << 20) < buf.len() {
            std::thread::sleep(Duration::from_millis(20));
            most = most.max(server.rss_kib());
        }
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {got} bytes");
        for (k, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, byte_at(got + k), "byte {}", got + k);
        }
        got += n;
    }
    upload.join().unwrap();
    let grew = most.saturating_sub(before);
    eprintln!("RSS before {before} KiB, most during the echo {most} KiB (+{grew} KiB)");
    assert!(
        grew < 4 * 1024,
        "the server grew by {grew} KiB echoing 10 MiB"
    );
    // Keep-alive survives it.
    assert_eq!(get(&mut s, "/hello", "").status, 200);
}

#[test]
fn a_chunked_upload_and_100_continue_reach_the_handler() {
    let server = start("handlers-echo-chunked", &[]);
    let mut s = server.connect();
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    .unwrap();
    let r = read_whole_response(&mut s, false);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding").as_deref(), Some("chunked"));
    assert_eq!(r.text(), "hello world");
    // The handler asks for the body, so the waiting client gets its 100 Continue.
    s.write_all(
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let interim = read_head(&mut s);
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n"),
        "{interim}"
    );
    s.write_all(b"abc").unwrap();
    assert_eq!(read_response(&mut s, false).text(), "abc");
    // A handler that never reads the body sends no 100 Continue: it answers at once.
    s.write_all(
        b"POST /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
    )
    .unwrap();
    let r = read_response(&mut s, false);
    assert_eq!(r.status, 200, "{}", r.head);
}

#[test]
fn a_storm_of_1000_panics_answers_500_each_and_the_server_goes_on() {
    let server = start("handlers-panics", &[]);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let mut s = server.connect();
            std::thread::spawn(move || {
                for i in 0..250 {
                    let r = get(&mut s, "/panic", "");
                    assert_eq!(r.status, 500, "{}", r.head);
                    assert!(!r.closes(), "a panic keeps the connection");
                    // Interleaved: the same session goes on serving.
                    if i % 50 == 0 {
                        assert_eq!(get(&mut s, "/hello", "").status, 200);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(
        get(&mut server.connect(), "/hello", "").text(),
        "Hello from an in-process handler"
    );
    let counts = handler_counts(&server, "panic");
    assert_eq!(counts["panics"], 1000, "{counts}");
    assert_eq!(counts["requests"], 1000, "{counts}");
    assert_eq!(counts["running"], 0, "{counts}");
    assert_eq!(handler_counts(&server, "hello")["panics"], 0);
    // Logged with the route.
    let log = server.stderr_log();
    assert!(
        log.contains(
            "route prefix=/panic: handler `panic` panicked: this handler panics on purpose"
        ),
        "{}",
        &log[..log.len().min(2000)]
    );
}

#[test]
fn a_handler_past_its_timeout_is_dropped_and_answers_504() {
    let server = start("handlers-timeout", &[]);
    let dropped_before = get(&mut server.connect(), "/slow/dropped", "").text();
    assert_eq!(dropped_before, "0");
    let mut s = server.connect();
    assert_eq!(get(&mut s, "/slow?ms=50", "").text(), "slept 50 ms");
    let started = Instant::now();
    let r = get(&mut s, "/slow?ms=5000", "");
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{}", r.head);
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(3000),
        "{took:?}"
    );
    assert_eq!(
        get(&mut s, "/slow/dropped", "").text(),
        "1",
        "the future was dropped"
    );
    let counts = handler_counts(&server, "slow");
    assert_eq!(counts["timeouts"], 1, "{counts}");
    assert_eq!(counts["running"], 0, "{counts}");
}

/// A client that goes away cancels its handler: its connection reset (what a closing
/// socket with unread data, or `SO_LINGER` 0, sends) or closed (a FIN: as nginx does for
/// upstreams, an in-process handler's work is not finished for a client that left, while
/// a `respond` or `static` answer is still sent to a half-closed client).
#[test]
fn a_client_that_goes_away_cancels_its_handler() {
    let server = start("handlers-cancel", &[]);
    for (n, reset) in [(1, true), (2, false)] {
        let mut s = server.connect();
        s.write_all(b"GET /slow?ms=900 HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(handler_counts(&server, "slow")["running"], 1);
        if reset {
            socket2::SockRef::from(&s)
                .set_linger(Some(Duration::ZERO))
                .unwrap();
        }
        drop(s);
        let until = Instant::now() + Duration::from_millis(700);
        let dropped = loop {
            let got = get(&mut server.connect(), "/slow/dropped", "").text();
            if got != (n - 1).to_string() || Instant::now() > until {
                break got;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Before the 900 ms were up: it was dropped, not finished, and not timed out.
        assert_eq!(dropped, n.to_string(), "reset: {reset}");
        let counts = handler_counts(&server, "slow");
        assert_eq!(counts["running"], 0, "{counts}");
        assert_eq!(counts["timeouts"], 0, "{counts}");
    }
}

/// The `id=` cookie a response sets, if any.
fn set_cookie(r: &Resp) -> Option<String> {
    let value = r.header("set-cookie")?;
    Some(value.split(';').next()?.to_owned())
}

#[test]
fn visitor_sessions_count_visits_and_rotate_and_end() {
    let server = start("handlers-visits", &[]);
    let mut s = server.connect();
    let r = get(&mut s, "/visits", "");
    assert_eq!(r.text(), "1");
    let cookie = set_cookie(&r).expect("a new session sets its cookie");
    assert!(
        cookie.starts_with("id=") && cookie.len() == 3 + 32,
        "{cookie}"
    );
    let flags = r.header("set-cookie").unwrap();
    assert!(
        flags.contains("HttpOnly") && flags.contains("SameSite=Lax"),
        "{flags}"
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // The cookie brings the session back; nothing new is set.
    let r = get(
        &mut s,
        "/visits",
        &format!("Cookie: theme=dark; {cookie}\r\n"),
    );
    assert_eq!(r.text(), "2");
    assert!(set_cookie(&r).is_none());
    // Another visitor, and a forged id, start afresh.
    assert_eq!(get(&mut s, "/visits", "").text(), "1");
    let forged = "id=00000000000000000000000000000000";
    let r = get(&mut s, "/visits", &format!("Cookie: {forged}\r\n"));
    assert_eq!(r.text(), "1");
    assert_ne!(set_cookie(&r).as_deref(), Some(forged));
    // Login: a new id for the same data, the old one dead.
    let r = get(&mut s, "/visits/login", &format!("Cookie: {cookie}\r\n"));
    assert_eq!(r.text(), "2");
    let rotated = set_cookie(&r).expect("rotation sets the new id");
    assert_ne!(rotated, cookie);
    assert_eq!(
        get(&mut s, "/visits", &format!("Cookie: {rotated}\r\n")).text(),
        "3"
    );
    let r = get(&mut s, "/visits", &format!("Cookie: {cookie}\r\n"));
    assert_eq!(r.text(), "1", "the old id names nothing");
    // Logout: removed, and the cookie deleted.
    let r = get(&mut s, "/visits/logout", &format!("Cookie: {rotated}\r\n"));
    assert_eq!(r.text(), "bye");
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(
        get(&mut s, "/visits", &format!("Cookie: {rotated}\r\n")).text(),
        "1"
    );
    // A route without the layer has no visitor.
    assert!(
        get(&mut s, "/hello", &format!("Cookie: {rotated}\r\n"))
            .header("set-cookie")
            .is_none()
    );
}

#[test]
fn visitor_sessions_expire_when_idle_and_at_their_absolute_deadline() {
    let server = start(
        "handlers-visits-expiry",
        &["--session-idle-ms", "600", "--session-absolute-ms", "1500"],
    );
    let mut s = server.connect();
    // Idle: a pause longer than 600 ms ends it.
    let r = get(&mut s, "/visits", "");
    let cookie = set_cookie(&r).unwrap();
    std::thread::sleep(Duration::from_millis(900));
    let r = get(&mut s, "/visits", &format!("Cookie: {cookie}\r\n"));
    assert_eq!(r.text(), "1", "expired while idle");
    // Absolute: visits every 250 ms keep it alive, but not past 1500 ms.
    let mut cookie = set_cookie(&r).unwrap();
    let born = Instant::now();
    let mut last = 1;
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let r = get(&mut s, "/visits", &format!("Cookie: {cookie}\r\n"));
        let n: u64 = r.text().parse().unwrap();
        if n == 1 {
            let lived = born.elapsed();
            assert!(
                lived >= Duration::from_millis(1400),
                "ended early: {lived:?}"
            );
            assert!(last >= 4, "was kept alive by activity: {last} visits");
            break;
        }
        assert_eq!(n, last + 1);
        last = n;
        assert!(born.elapsed() < Duration::from_secs(4), "never expired");
        if let Some(c) = set_cookie(&r) {
            cookie = c;
        }
    }
}

#[test]
fn an_unknown_handler_name_is_a_start_up_error_naming_the_route() {
    let dir = common::temp_dir("handlers-unknown");
    let path = dir.join("refserver.toml");
    std::fs::write(
        &path,
        "[[route]]\nprefix = \"/status\"\nstatus = {}\n[[route]]\nprefix = \"/x\"\nhandler = { name = \"hello\" }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_refserver"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("route 2: handler `hello`: no handler is registered under that name"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The library itself: start with a handler, reload to a new route table, shut down.
#[test]
fn an_embedded_server_starts_reloads_and_shuts_down() {
    use refserver::handler::{Request, handler_fn};
    use refserver::{Builder, Config};

    let config_text = |path: &str| {
        format!(
            "listen = [\"127.0.0.1:0\"]\nworkers = 1\naccess_log = \"off\"\nshutdown_timeout_ms = 2000\n[[route]]\nprefix = \"{path}\"\nhandler = {{ name = \"hi\" }}\n"
        )
    };
    let hi = handler_fn(|r: Request| async move {
        http::Response::new(format!("hi from {}", r.uri().path()))
    });
    let running = Builder::new(Config::parse(&config_text("/a")).unwrap())
        .handler("hi", hi)
        .start()
        .unwrap();
    let addr = running.local_addr().unwrap();
    let ask = |path: &str| {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        get(&mut s, path, "")
    };
    assert_eq!(ask("/a").text(), "hi from /a");
    assert_eq!(ask("/b").status, 404);
    // A reload that names an unknown handler is refused, and the routes stay.
    let bad = Config::parse(&config_text("/b").replace("\"hi\"", "\"nope\"")).unwrap();
    let err = running.handle().reload(bad).unwrap_err().to_string();
    assert!(err.contains("handler `nope`"), "{err}");
    assert_eq!(ask("/a").status, 200);
    running
        .handle()
        .reload(Config::parse(&config_text("/b")).unwrap())
        .unwrap();
    assert_eq!(ask("/b").text(), "hi from /b");
    assert_eq!(ask("/a").status, 404);
    // The drain closes idle sessions, stops listening, and `shutdown` returns.
    let mut open = TcpStream::connect(addr).unwrap();
    open.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let started = Instant::now();
    running.shutdown();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(TcpStream::connect(addr).is_err(), "no longer listening");
    assert!(common::is_closed(&mut open), "idle sessions are closed");
}
