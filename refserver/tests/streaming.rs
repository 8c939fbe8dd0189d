//! The streaming seam end to end, against the real binary: request bodies streamed to a
//! route kind and responses streamed back, with back-pressure both ways (the server's
//! memory stays bounded), a producer that answers late while other sessions are served,
//! a slow reader of a streamed body, and clients that leave mid-body.

mod common;

use common::{Server, read_head, read_response};
use std::io::{Read, Write};
use std::time::{Duration, Instant};

const CONFIG: &str = r#"
access_log = "off"
[limits]
max_body_bytes = 67108864
[[route]]
prefix = "/echo"
echo = {}
[[route]]
prefix = "/delay"
echo = { delay_ms = 2000 }
[[route]]
prefix = "/plaintext"
respond = { status = 200, content_type = "text/plain", body = "Hello, World!" }
[[route]]
prefix = "/status"
status = {}
"#;

/// A deterministic body byte at `i`, so corruption or reordering is caught.
fn byte_at(i: usize) -> u8 {
    u8::try_from(i % 251).unwrap_or(0)
}

#[test]
fn a_50_mib_upload_is_echoed_with_the_server_memory_bounded() {
    let server = Server::start("echo-50mib", Some(CONFIG), &["--workers", "1"]);
    // Warm up, then take the baseline.
    let (r, _) = common::exchange(
        &server,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(r.text(), "hi");
    let before = server.rss_kib();

    const TOTAL: usize = 50 << 20;
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        format!("POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: {TOTAL}\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let mut writer = s.try_clone().unwrap();
    let upload = std::thread::spawn(move || {
        let mut chunk = vec![0u8; 256 * 1024];
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
    let mut got = 0;
    let mut most = 0;
    let mut buf = vec![0u8; 128 * 1024];
    while got < TOTAL {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {got} bytes");
        for (k, &b) in buf[..n].iter().enumerate() {
            assert_eq!(b, byte_at(got + k), "byte {}", got + k);
        }
        got += n;
        if got % (4 << 20) < n {
            most = most.max(server.rss_kib());
        }
    }
    upload.join().unwrap();
    let grew = most.saturating_sub(before);
    eprintln!("RSS before {before} KiB, most during the echo {most} KiB (+{grew} KiB)");
    assert!(
        grew < 8 * 1024,
        "the server grew by {grew} KiB echoing 50 MiB"
    );
    // Keep-alive survives the exchange.
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s, false).text(), "Hello, World!");
}

#[test]
fn a_late_producer_answers_while_other_sessions_are_served() {
    let server = Server::start("late-producer", Some(CONFIG), &["--workers", "1"]);
    let started = Instant::now();
    let mut late = server.connect();
    late.write_all(b"GET /delay HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // On the same single worker, other sessions are answered meanwhile.
    let mut fast = server.connect();
    for _ in 0..50 {
        fast.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut fast, false).status, 200);
    }
    let fast_done = started.elapsed();
    assert!(fast_done < Duration::from_millis(1500), "{fast_done:?}");
    let r = read_response(&mut late, false);
    let late_done = started.elapsed();
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-echo-target").as_deref(), Some("/delay"));
    assert!(late_done >= Duration::from_secs(2), "{late_done:?}");
    assert!(late_done < Duration::from_secs(5), "{late_done:?}");
}

#[test]
fn a_slow_reader_slows_the_producer_of_a_streamed_body() {
    let server = Server::start("slow-stream-reader", Some(CONFIG), &["--workers", "1"]);
    let before = server.rss_kib();
    const TOTAL: usize = 48 << 20;
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // Chunked: the response is streamed chunked too.
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        .unwrap();
    let mut writer = s.try_clone().unwrap();
    let (progress_tx, progress_rx) = std::sync::mpsc::channel();
    let upload = std::thread::spawn(move || {
        let piece = vec![b'z'; 64 * 1024];
        let mut sent = 0;
        while sent < TOTAL {
            writer
                .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
                .unwrap();
            writer.write_all(&piece).unwrap();
            writer.write_all(b"\r\n").unwrap();
            sent += piece.len();
            let _ = progress_tx.send(sent);
        }
        writer.write_all(b"0\r\n\r\n").unwrap();
    });
    let head = read_head(&mut s);
    assert!(head.contains("transfer-encoding: chunked\r\n"), "{head}");
    // The reader pauses: once the kernel's socket buffers are full, the upload stalls
    // too, well before the whole body is in.
    std::thread::sleep(Duration::from_millis(1500));
    let stalled_at = progress_rx.try_iter().last().unwrap_or(0);
    std::thread::sleep(Duration::from_millis(700));
    let uploaded = progress_rx.try_iter().last().unwrap_or(stalled_at);
    assert!(
        uploaded == stalled_at && uploaded < TOTAL / 2,
        "the client went on uploading ({stalled_at}, then {uploaded} of {TOTAL} bytes) while nobody read the echo"
    );
    let stalled_rss = server.rss_kib();
    // Now read it all, slowly at first.
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut reads = 0;
    while !raw.ends_with(b"0\r\n\r\n") {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        raw.extend_from_slice(&buf[..n]);
        reads += 1;
        if reads < 20 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    upload.join().unwrap();
    let grew = stalled_rss.saturating_sub(before);
    assert!(
        grew < 8 * 1024,
        "the server grew by {grew} KiB while the reader paused"
    );
    // De-chunk and check the echo is the upload.
    let mut body = 0;
    let mut rest = &raw[..];
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16).unwrap();
        rest = &rest[line_end + 2..];
        if size == 0 {
            break;
        }
        assert!(rest[..size].iter().all(|&b| b == b'z'));
        body += size;
        rest = &rest[size + 2..];
    }
    assert_eq!(body, TOTAL);
}

/// The status page's `"phases"`, parsed from its JSON.
fn phases(server: &Server) -> serde_json::Value {
    let (r, _) = common::exchange(
        server,
        b"GET /status?format=json HTTP/1.1\r\nHost: t\r\n\r\n",
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    v["phases"].clone()
}

#[test]
fn clients_that_leave_mid_body_leave_nothing_behind() {
    let server = Server::start("leave-mid-body", Some(CONFIG), &["--workers", "1"]);
    // Mid-upload: the request body stops half-way and the client leaves.
    for _ in 0..20 {
        let mut s = server.connect();
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
            .unwrap();
        s.write_all(&[b'a'; 30_000]).unwrap();
        let head = read_head(&mut s);
        assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
        drop(s);
    }
    // Mid-download: a large echo the client stops reading, then leaves.
    for _ in 0..5 {
        let mut s = server.connect();
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4000000\r\n\r\n")
            .unwrap();
        s.write_all(&vec![b'b'; 1_000_000]).unwrap();
        let mut some = [0u8; 4096];
        s.read_exact(&mut some).unwrap();
        drop(s);
    }
    // A late producer whose client left before it answered.
    let mut s = server.connect();
    s.write_all(b"GET /delay HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    drop(s);
    // Every one of those sessions closes (the exchange dropped with it): only the status
    // request's own session is left, within a moment.
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let p = phases(&server);
        let busy: u64 = [
            "reading_head",
            "reading_body",
            "handling",
            "writing",
            "draining",
        ]
        .iter()
        .map(|k| p[k].as_u64().unwrap_or(0))
        .sum();
        if busy <= 1 {
            break;
        }
        assert!(Instant::now() < until, "sessions left behind: {p}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
