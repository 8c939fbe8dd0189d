//! Properties of `Session` under any sequence of inputs and clock ticks: it never panics,
//! never holds more than its limits allow, and always has a next deadline unless closed.

use http_proto::Response;
use proptest::prelude::*;
use session_core::{Event, Limits, Session, Ticket};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
enum Op {
    /// The client sends these bytes (if the session wants to read).
    Send(Vec<u8>),
    /// The client closes its side.
    Eof,
    /// The client reads up to this many bytes of output.
    Read(usize),
    /// The clock moves on by this many milliseconds.
    Tick(u32),
    /// The handler answers the request in flight, with this many body bytes.
    Answer(u16),
    /// Shutdown begins.
    Drain,
}

fn requestish() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        Just(b"POST /u HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".to_vec()),
        Just(b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec()),
        Just(b"PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n".to_vec()),
        Just(b"GET / HTTP/1.0\r\n\r\n".to_vec()),
        Just(b"HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => requestish().prop_flat_map(|r| {
            let len = r.len();
            (Just(r), 0..=len).prop_map(|(r, cut)| Op::Send(r[..cut.max(1).min(r.len())].to_vec()))
        }),
        3 => requestish().prop_map(Op::Send),
        1 => Just(Op::Eof),
        3 => (0usize..4096).prop_map(Op::Read),
        3 => prop_oneof![0u32..2_000, 0u32..200_000].prop_map(Op::Tick),
        3 => (0u16..3000).prop_map(Op::Answer),
        1 => Just(Op::Drain),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn session_invariants_hold_for_any_inputs(ops in proptest::collection::vec(op(), 1..60)) {
        let mut limits = Limits::default();
        limits.write_watermark = 8 * 1024;
        limits.max_read_ahead = 4 * 1024;
        limits.max_queued_responses = 4;
        let limits = Arc::new(limits);
        let start = Instant::now();
        let mut now = start;
        let mut s = Session::new(Arc::clone(&limits), Ticket::detached(), now);
        let mut awaiting_answer = false;
        let mut closed = false;
        for op in ops {
            match op {
                Op::Send(bytes) if s.wants_read() && !bytes.is_empty() => {
                    s.read_buf().extend_from_slice(&bytes);
                    s.handle_read(bytes.len(), now);
                }
                Op::Eof => s.handle_read(0, now),
                Op::Read(n) => {
                    let n = n.min(s.pending_output().len());
                    s.handle_written(n, now);
                }
                Op::Tick(ms) => {
                    now += Duration::from_millis(u64::from(ms));
                    s.handle_timeout(now);
                }
                Op::Answer(len) if awaiting_answer => {
                    let body = vec![b'x'; usize::from(len)];
                    // Errors are allowed (e.g. the session already answered 408); panics are not.
                    let _ = s.send_response(&Response::new(200).body_len(u64::from(len)), now)
                        .and_then(|()| s.send_data(&body, now))
                        .and_then(|()| s.send_end(now));
                    awaiting_answer = false;
                }
                // Sends the session does not want, and answers with no request in flight.
                Op::Send(_) | Op::Answer(_) => {}
                Op::Drain => s.begin_drain(now),
            }
            // Poll until the session settles; it must settle.
            let mut settled = false;
            for _ in 0..1_000 {
                match s.poll_event(now) {
                    Event::Request(_) => awaiting_answer = true,
                    Event::BodyData(_) | Event::BodyEnd => {}
                    Event::Idle => { settled = true; break; }
                    Event::Close => { closed = true; settled = true; break; }
                }
            }
            prop_assert!(settled, "poll_event did not settle");
            if closed {
                prop_assert_eq!(s.poll_timeout(), None);
                break;
            }
            prop_assert!(s.poll_timeout().is_some(), "no deadline while open, phase {:?}", s.phase());
            prop_assert!(s.poll_timeout().unwrap() > start, "deadline in the past of the session");
            // Memory bounds: read buffer bounded by read-ahead + one read chunk + head limit,
            // output by the watermark plus one response.
            let bound = limits.max_read_ahead + limits.read_chunk * 2 + limits.http.max_head_len
                + limits.write_watermark + 3000 + 4096 + std::mem::size_of::<Session>();
            prop_assert!(s.heap_bytes() <= bound * 2, "heap {} over bound {}", s.heap_bytes(), bound);
        }
    }
}
