#![no_main]
//! The server connection fed arbitrary bytes in arbitrary pieces, interleaved with arbitrary
//! responses: never panics, never loops, and its state stays consistent.

use arbitrary::Arbitrary;
use bytes::{Bytes, BytesMut};
use http_proto::{Limits, Response, ResponseHead, ServerConn, ServerEvent, SideState};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Feed(Vec<u8>),
    /// A well-formed request, so the fuzzer reaches the body and response states quickly.
    FeedRequest {
        method: u8,
        body: Option<Vec<u8>>,
        chunked: bool,
        close: bool,
        http10: bool,
        expect_continue: bool,
        upgrade: bool,
    },
    FeedEof,
    Poll(u8),
    SendResponse {
        status: u16,
        body_len: Option<u16>,
        header: Option<(u8, Vec<u8>)>,
        reason: Option<Vec<u8>>,
    },
    SendData(Vec<u8>),
    SendEnd {
        trailer: Option<(u8, Vec<u8>)>,
    },
    SendContinue,
    SendInformational(u16),
    TakeUpgraded,
    ReleaseBuffer,
}

const NAMES: [&[u8]; 6] = [
    b"x-a",
    b"connection",
    b"upgrade",
    b"content-type",
    b"content-length",
    b"bad name",
];
const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "CONNECT", "OPTIONS", "PUT"];

#[derive(Debug, Arbitrary)]
struct Input {
    small_limits: bool,
    ops: Vec<Op>,
}

fn request(op: &Op) -> Vec<u8> {
    let Op::FeedRequest {
        method,
        body,
        chunked,
        close,
        http10,
        expect_continue,
        upgrade,
    } = op
    else {
        unreachable!()
    };
    let method = METHODS[usize::from(*method) % METHODS.len()];
    let target = if method == "CONNECT" {
        "example.com:443"
    } else {
        "/p"
    };
    let version = if *http10 { "1.0" } else { "1.1" };
    let mut r = format!("{method} {target} HTTP/{version}\r\nHost: h\r\n").into_bytes();
    if *close {
        r.extend_from_slice(b"Connection: close\r\n");
    }
    if *upgrade {
        r.extend_from_slice(b"Connection: upgrade\r\nUpgrade: x\r\n");
    }
    if *expect_continue {
        r.extend_from_slice(b"Expect: 100-continue\r\n");
    }
    match body {
        Some(b) if *chunked => {
            r.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
            if !b.is_empty() {
                r.extend_from_slice(format!("{:x}\r\n", b.len()).as_bytes());
                r.extend_from_slice(b);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
        }
        Some(b) => {
            r.extend_from_slice(format!("Content-Length: {}\r\n\r\n", b.len()).as_bytes());
            r.extend_from_slice(b);
        }
        None => r.extend_from_slice(b"\r\n"),
    }
    r
}

fuzz_target!(|input: Input| {
    let mut limits = Limits::default();
    if input.small_limits {
        limits.max_head_len = 128;
        limits.max_headers = 3;
        limits.max_body_len = 16;
    }
    let mut conn = ServerConn::new(limits.clone());
    let mut out = BytesMut::new();
    let mut fed = 0usize;
    for op in input.ops.iter().take(64) {
        match op {
            Op::Feed(data) => {
                fed += data.len();
                conn.feed(data);
            }
            Op::FeedRequest { .. } => {
                let r = request(op);
                fed += r.len();
                conn.feed(&r);
            }
            Op::FeedEof => conn.feed_eof(),
            Op::Poll(n) => {
                // Bounded: every event but NeedData/Paused/Closed uses input or ends a message.
                for _ in 0..=usize::from(*n % 8) + fed + 2 {
                    let buffered = conn.buffered();
                    match conn.poll_event() {
                        Ok(ServerEvent::NeedData | ServerEvent::Paused | ServerEvent::Closed) => {
                            break;
                        }
                        Ok(ServerEvent::Request(head)) => {
                            assert!(conn.buffered() < buffered);
                            assert_eq!(conn.their_state(), SideState::Body);
                            let _ = head.keep_alive();
                        }
                        Ok(ServerEvent::Data(d)) => {
                            assert!(!d.is_empty());
                            assert!(conn.buffered() < buffered);
                        }
                        Ok(ServerEvent::End(_)) => {
                            assert!(matches!(
                                conn.their_state(),
                                SideState::Done | SideState::Idle
                            ));
                        }
                        Err(e) => {
                            // An error is final: the same error again, the request side closed.
                            assert_eq!(conn.poll_event(), Err(e));
                            assert_eq!(conn.their_state(), SideState::Closed);
                            assert_eq!(conn.error(), Some(&e));
                            if conn.our_state() != SideState::Body {
                                assert!(conn.must_close(), "error without must_close");
                            }
                            break;
                        }
                    }
                }
            }
            Op::SendResponse {
                status,
                body_len,
                header,
                reason,
            } => {
                let could = conn.can_respond();
                let header = header
                    .as_ref()
                    .map(|(n, v)| (NAMES[usize::from(*n) % NAMES.len()], &v[..]));
                let headers: Vec<(&[u8], &[u8])> = header.into_iter().collect();
                let mut response = Response::new(*status).headers(&headers);
                if let Some(n) = body_len {
                    response = response.body_len(u64::from(*n));
                }
                if let Some(r) = reason {
                    response = response.reason(r);
                }
                let mark = out.len();
                match conn.send_response(&response, &mut out) {
                    Ok(()) => {
                        assert!(could, "a response was sent while can_respond was false");
                        assert!(!conn.can_respond());
                        // What we wrote reads back as a response head with the same status.
                        let written = Bytes::copy_from_slice(&out[mark..]);
                        let parsed = ResponseHead::parse(&written, &Limits::default());
                        let Ok(Some((head, len))) = parsed else {
                            panic!(
                                "unreadable response head {parsed:?}: {:?}",
                                String::from_utf8_lossy(&written)
                            );
                        };
                        assert_eq!(len, written.len());
                        assert_eq!(head.status(), *status);
                        if conn.error().is_some() {
                            assert!(!head.keep_alive(), "a response after an error keeps alive");
                        }
                    }
                    Err(_) => {
                        assert_eq!(
                            out.len(),
                            mark,
                            "a refused response left bytes in the output"
                        );
                    }
                }
            }
            Op::SendData(data) => {
                let state = conn.our_state();
                if conn.send_data(data, &mut out).is_ok() {
                    assert_eq!(state, SideState::Body);
                }
            }
            Op::SendEnd { trailer } => {
                let trailer = trailer
                    .as_ref()
                    .map(|(n, v)| (NAMES[usize::from(*n) % NAMES.len()], &v[..]));
                let trailers: Vec<(&[u8], &[u8])> = trailer.into_iter().collect();
                let state = conn.our_state();
                if conn.send_end(&trailers, &mut out).is_ok() {
                    assert_eq!(state, SideState::Body);
                    assert!(matches!(
                        conn.our_state(),
                        SideState::Done | SideState::Closed | SideState::Idle
                    ));
                    if conn.error().is_some() {
                        assert!(
                            conn.must_close(),
                            "a response after an error does not close"
                        );
                    }
                }
            }
            Op::SendContinue => {
                let _ = conn.send_continue(&mut out);
                assert!(!conn.wants_continue());
            }
            Op::SendInformational(status) => {
                let _ = conn.send_informational(*status, &[], &mut out);
            }
            Op::TakeUpgraded => {
                let upgraded = conn.is_upgraded();
                assert_eq!(conn.take_upgraded().is_some(), upgraded);
            }
            Op::ReleaseBuffer => {
                let _ = conn.release_buffer();
            }
        }
        assert_eq!(conn.can_respond(), conn.our_state() == SideState::Idle);
        if conn.must_close() {
            assert!(
                !conn.can_respond()
                    || conn.error().is_some()
                    || conn.their_state() == SideState::Closed
            );
        }
    }
});
