#![no_main]
//! Drives a `Session` with arbitrary bytes, clock ticks, reads, answers, body decisions
//! (read, hold, refuse) and drains: it must never panic, always settle, always have a
//! deadline while open, and never hand out body data it was not asked for.

use arbitrary::Arbitrary;
use http_proto::Response;
use libfuzzer_sys::fuzz_target;
use session_core::{Event, Limits, Session, Ticket};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Arbitrary)]
enum Op {
    Send(Vec<u8>),
    Eof,
    Read(u16),
    Tick(u32),
    Answer {
        status: u16,
        len: u16,
        streamed: bool,
    },
    Drain,
    ReadBody,
    HoldBody,
    RefuseBody,
}

fuzz_target!(|ops: Vec<Op>| {
    let mut limits = Limits::default();
    limits.write_watermark = 4096;
    limits.max_read_ahead = 2048;
    limits.max_queued_responses = 3;
    let mut now = Instant::now();
    let mut s = Session::new(Arc::new(limits), Ticket::detached(), now);
    let mut awaiting = false;
    // Whether the handler asked for the body (and has not held or refused it since).
    let mut reading = false;
    for op in ops.into_iter().take(200) {
        match op {
            Op::Send(bytes) => {
                if s.wants_read() && !bytes.is_empty() {
                    s.read_buf().extend_from_slice(&bytes);
                    s.handle_read(bytes.len(), now);
                }
            }
            Op::Eof => s.handle_read(0, now),
            Op::Read(n) => {
                let n = usize::from(n).min(s.pending_output().len());
                s.handle_written(n, now);
            }
            Op::Tick(ms) => {
                now += Duration::from_millis(u64::from(ms));
                s.handle_timeout(now);
            }
            Op::Answer {
                status,
                len,
                streamed,
            } => {
                if awaiting {
                    let body = vec![b'x'; usize::from(len)];
                    let head = if streamed {
                        Response::new(status).streamed()
                    } else {
                        Response::new(status).body_len(u64::from(len))
                    };
                    let _ = s
                        .send_response(&head, now)
                        .and_then(|()| s.send_data(&body, now))
                        .and_then(|()| s.send_end(now));
                    awaiting = false;
                }
            }
            Op::Drain => s.begin_drain(now),
            Op::ReadBody => {
                s.read_body(now);
                reading = true;
            }
            Op::HoldBody => {
                s.hold_body(now);
                reading = false;
            }
            Op::RefuseBody => {
                s.refuse_body(now);
                reading = false;
            }
        }
        let mut settled = false;
        for _ in 0..1000 {
            match s.poll_event(now) {
                Event::Request(_) => {
                    awaiting = true;
                    reading = false;
                }
                Event::BodyData(_) => assert!(reading, "body data nobody asked for"),
                Event::BodyEnd => {}
                Event::Idle => {
                    settled = true;
                    break;
                }
                Event::Close => {
                    assert!(s.poll_timeout().is_none());
                    return;
                }
            }
        }
        assert!(settled, "session did not settle");
        assert!(
            s.poll_timeout().is_some(),
            "open session without a deadline"
        );
    }
});
