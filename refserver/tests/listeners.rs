//! Listeners and admission: Unix sockets, IPv6, `max_sessions` with both overload
//! policies, and accept back-off when the process runs out of file descriptors.

mod common;

use common::{Server, is_closed, read_response};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const GET_PLAIN: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

#[test]
fn a_unix_socket_listener_serves_too() {
    let path = std::env::temp_dir().join(format!("refserver-it-{}.sock", std::process::id()));
    let listen = format!("unix:{}", path.display());
    let server = Server::start("unix", None, &["--listen", &listen, "--access-log", "off"]);
    let until = Instant::now() + Duration::from_secs(5);
    while !server.listening_lines().iter().any(|l| l.contains("unix:")) {
        assert!(Instant::now() < until, "no unix listening line");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut s = std::os::unix::net::UnixStream::connect(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /plaintext HTTP/1.0\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(out.ends_with("\r\n\r\nHello, World!"), "{out}");
    drop(server);
    let _ = std::fs::remove_file(path);
}

#[test]
fn ipv6_loopback_listens_beside_ipv4() {
    if std::net::TcpListener::bind("[::1]:0").is_err() {
        eprintln!("SKIP: no IPv6 loopback here");
        return;
    }
    let server = Server::start(
        "ipv6",
        None,
        &["--listen", "[::1]:0", "--access-log", "off"],
    );
    let until = Instant::now() + Duration::from_secs(5);
    let line = loop {
        if let Some(l) = server
            .listening_lines()
            .into_iter()
            .find(|l| l.contains("[::1]"))
        {
            break l;
        }
        assert!(Instant::now() < until, "no IPv6 listening line");
        std::thread::sleep(Duration::from_millis(10));
    };
    let addr = line
        .trim_start_matches("listening on http://")
        .trim_end_matches('/');
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
}

fn overload_config(policy: &str) -> String {
    format!(
        r#"
access_log = "off"
workers = 1
[limits]
max_sessions = 2
overload = "{policy}"
[[route]]
prefix = "/plaintext"
respond = {{ content_type = "text/plain", body = "Hello, World!" }}
"#
    )
}

#[test]
fn past_max_sessions_a_connection_gets_503_or_is_closed() {
    for policy in ["reject503", "close"] {
        let server = Server::start(
            &format!("overload-{policy}"),
            Some(&overload_config(policy)),
            &[],
        );
        let mut held = [server.connect(), server.connect()];
        for s in &mut held {
            s.write_all(GET_PLAIN).unwrap();
            assert_eq!(read_response(s, false).status, 200);
        }
        let mut third = server.connect();
        let mut out = Vec::new();
        let _ = third.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out);
        if policy == "reject503" {
            assert!(text.starts_with("HTTP/1.1 503 "), "{policy}: {text}");
        } else {
            assert!(out.is_empty(), "{policy}: {text}");
        }
        // The held sessions are still served; once one closes, a new one is admitted.
        held[0].write_all(GET_PLAIN).unwrap();
        assert_eq!(read_response(&mut held[0], false).status, 200);
        let [first, _second] = held;
        drop(first);
        std::thread::sleep(Duration::from_millis(100));
        let mut fresh = server.connect();
        fresh.write_all(GET_PLAIN).unwrap();
        assert_eq!(read_response(&mut fresh, false).status, 200);
    }
}

#[test]
fn running_out_of_descriptors_backs_off_without_spinning() {
    let config = r#"
access_log = "off"
workers = 1
[limits]
first_byte_timeout_ms = 500
[[route]]
prefix = "/plaintext"
respond = { content_type = "text/plain", body = "Hello, World!" }
"#;
    let server = Server::start_limited("emfile", Some(config), &[], Some(40));
    // More connections than descriptors: the kernel completes them all (backlog); accept
    // fails with EMFILE once the process is full.
    let mut flood: Vec<TcpStream> = (0..60)
        .filter_map(|_| TcpStream::connect(server.addr).ok())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let cpu_before = server.cpu_time();
    std::thread::sleep(Duration::from_secs(1));
    let spent = server.cpu_time() - cpu_before;
    assert!(
        spent < Duration::from_millis(300),
        "accept loop spun: {spent:?} CPU in 1 s"
    );
    // Still alive; once descriptors free up, the waiting connections are served.
    for s in flood.iter_mut().take(30) {
        let _ = s.shutdown(std::net::Shutdown::Both);
    }
    flood.truncate(0);
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let mut s = server.connect();
        if s.write_all(GET_PLAIN).is_ok() {
            let mut buf = [0u8; 12];
            if s.read_exact(&mut buf).is_ok() && &buf == b"HTTP/1.1 200" {
                break;
            }
        }
        assert!(
            Instant::now() < until,
            "not served after descriptors were freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut s = server.connect();
    s.write_all(GET_PLAIN).unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).status, 200);
    assert!(is_closed(&mut s));
}

/// A port is owned by one server, as with nginx: a second refserver on an address the
/// first listens on (TCP or Unix) fails at start-up with the address-in-use error, and the
/// first keeps every connection.
#[test]
fn a_second_server_on_the_same_address_is_refused() {
    let first = Server::start("port-owner", None, &["--access-log", "off"]);
    let addr = first.addr.to_string();
    for workers in ["1", "2"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_refserver"))
            .args([
                "--listen",
                &addr,
                "--workers",
                workers,
                "--access-log",
                "off",
            ])
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert!(!out.status.success(), "a second server started on {addr}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!("listen {addr}: address already in use")),
            "{stderr}"
        );
    }
    for _ in 0..10 {
        let mut s = first.connect();
        s.write_all(GET_PLAIN).unwrap();
        assert_eq!(read_response(&mut s, false).status, 200);
    }

    let path = std::env::temp_dir().join(format!("refserver-it-own-{}.sock", std::process::id()));
    let listen = format!("unix:{}", path.display());
    let unix = Server::start(
        "port-owner-unix",
        None,
        &["--listen", &listen, "--access-log", "off"],
    );
    let until = Instant::now() + Duration::from_secs(5);
    while !unix.listening_lines().iter().any(|l| l.contains("unix:")) {
        assert!(Instant::now() < until, "no unix listening line");
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_refserver"))
        .args(["--listen", &listen, "--access-log", "off"])
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("address already in use"));
    assert!(
        std::os::unix::net::UnixStream::connect(&path).is_ok(),
        "the first lost its socket"
    );
    drop(unix);
    let _ = std::fs::remove_file(&path);
}
