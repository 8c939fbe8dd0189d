//! Simulated-time specifications of request body flow control: the handler asks for the
//! body (`read_body`, which alone sends `100 Continue`), holds it while its consumer is
//! full (`hold_body`), or refuses it (`refuse_body`, or answering first), after which
//! the body is read and dropped or the connection closes after a lingering read.

use http_proto::Response;
use session_core::{CloseReason, Event, Limits, Phase, Session, Ticket};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A session and a fake clock; the client's bytes and what it received.
struct Conn {
    s: Session,
    now: Instant,
    received: Vec<u8>,
}

impl Conn {
    fn new(limits: Limits) -> Self {
        let now = Instant::now();
        Self {
            s: Session::new(Arc::new(limits), Ticket::detached(), now),
            now,
            received: Vec::new(),
        }
    }

    /// The client sends as much of `bytes` as the session reads; returns how much.
    fn send(&mut self, bytes: &[u8]) -> usize {
        let mut sent = 0;
        while sent < bytes.len() && self.s.wants_read() {
            let n = (bytes.len() - sent).min(4096);
            self.s.read_buf().extend_from_slice(&bytes[sent..sent + n]);
            self.s.handle_read(n, self.now);
            sent += n;
        }
        sent
    }

    /// The client reads everything pending.
    fn flush(&mut self) {
        let out = self.s.pending_output().to_vec();
        self.received.extend_from_slice(&out);
        self.s.handle_written(out.len(), self.now);
    }

    /// Polls until `Idle` or `Close`, collecting events.
    fn events(&mut self) -> Vec<Event> {
        let mut all = Vec::new();
        loop {
            match self.s.poll_event(self.now) {
                Event::Idle => return all,
                Event::Close => {
                    all.push(Event::Close);
                    return all;
                }
                e => all.push(e),
            }
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }

    fn respond(&mut self, status: u16, body: &[u8]) {
        self.s
            .send_response(&Response::new(status).body_len(body.len() as u64), self.now)
            .unwrap();
        self.s.send_data(body, self.now).unwrap();
        self.s.send_end(self.now).unwrap();
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
        self.s.handle_timeout(self.now);
    }
}

const POST_EXPECT: &[u8] =
    b"POST /up HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

#[test]
fn a_body_is_not_read_until_the_handler_asks_and_100_goes_out_once() {
    let mut c = Conn::new(Limits::default());
    c.send(POST_EXPECT);
    assert!(matches!(c.events()[..], [Event::Request(_)]));
    // However often the driver polls before deciding, no 100 Continue and no reading.
    for _ in 0..5 {
        assert!(c.events().is_empty());
    }
    c.flush();
    assert_eq!(c.text(), "");
    assert!(!c.s.wants_read(), "the undecided body stays in the socket");
    assert_eq!(c.s.phase(), Phase::Handling);

    c.s.read_body(c.now);
    c.s.read_body(c.now);
    c.flush();
    assert_eq!(c.text(), "HTTP/1.1 100 Continue\r\n\r\n", "exactly one 100");
    assert!(c.s.wants_read());
    c.send(b"hello");
    let events = c.events();
    assert_eq!(
        events,
        [
            Event::BodyData(bytes::Bytes::from_static(b"hello")),
            Event::BodyEnd
        ]
    );
    c.respond(200, b"ok");
    c.flush();
    assert_eq!(c.text().matches("100 Continue").count(), 1);
    assert!(c.text().ends_with("\r\n\r\nok"));
    assert!(!c.text().contains("connection: close"));
}

#[test]
fn an_early_417_never_sends_100_and_closes_after_lingering() {
    let mut c = Conn::new(Limits::default());
    c.send(POST_EXPECT);
    assert!(matches!(c.events()[..], [Event::Request(_)]));
    c.s.refuse_body(c.now);
    c.respond(417, b"no");
    c.flush();
    assert!(c.text().starts_with("HTTP/1.1 417"), "{}", c.text());
    assert!(!c.text().contains("100 Continue"));
    assert!(
        c.text().contains("connection: close"),
        "the body may never come: close"
    );
    assert!(c.events().is_empty());
    assert!(c.s.is_lingering(), "shut down the sending side and read on");
    assert!(c.s.wants_read());
    // The client sends the body anyway; it is dropped, not parsed as a request.
    assert_eq!(c.send(b"hello GET / HTTP/1.1\r\n\r\n"), 24);
    assert!(c.events().is_empty());
    // The client closes: so does the session.
    c.s.handle_read(0, c.now);
    assert_eq!(c.events(), [Event::Close]);
    assert_eq!(c.s.close_reason(), Some(CloseReason::NotKeepAlive));
}

#[test]
fn lingering_ends_at_its_deadline_when_the_client_keeps_the_connection() {
    let mut limits = Limits::default();
    limits.linger_timeout = Duration::from_secs(2);
    let mut c = Conn::new(limits);
    c.send(POST_EXPECT);
    c.events();
    c.respond(413, b"big"); // answering without a decision refuses the body
    c.flush();
    assert!(c.text().contains("connection: close"));
    assert!(c.events().is_empty());
    assert!(c.s.is_lingering());
    assert_eq!(c.s.poll_timeout(), Some(c.now + Duration::from_secs(2)));
    c.advance(Duration::from_millis(1999));
    assert!(c.events().is_empty());
    c.advance(Duration::from_millis(1));
    assert_eq!(c.events(), [Event::Close]);
}

#[test]
fn a_refused_body_without_expect_is_dropped_and_the_connection_persists() {
    for body_framing in [
        "Content-Length: 11\r\n\r\nhello world",
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    ] {
        let mut c = Conn::new(Limits::default());
        let request = format!("PUT /f HTTP/1.1\r\nHost: x\r\n{body_framing}");
        let (head, body) = request.split_at(request.find("\r\n\r\n").unwrap() + 4);
        c.send(head.as_bytes());
        assert!(matches!(c.events()[..], [Event::Request(_)]));
        c.s.refuse_body(c.now);
        c.respond(401, b"who?");
        c.flush();
        assert!(c.text().starts_with("HTTP/1.1 401"));
        assert!(!c.text().contains("connection: close"), "{}", c.text());
        // The body arrives after the answer, then the next request: only that one is seen.
        let mut rest = body.as_bytes().to_vec();
        rest.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(c.send(&rest), rest.len());
        let events = c.events();
        assert!(
            matches!(&events[..], [Event::Request(h), Event::BodyEnd] if h.path() == b"/next"),
            "{events:?}"
        );
        c.respond(200, b"ok");
        c.flush();
        assert!(c.text().ends_with("ok"));
        assert_eq!(c.s.phase(), Phase::Idle);
    }
}

#[test]
fn a_slow_consumer_bounds_the_buffered_bytes() {
    let limits = Limits::default();
    let read_ahead = limits.max_read_ahead;
    let chunk = limits.read_chunk;
    let mut c = Conn::new(limits);
    let total = 4 * 1024 * 1024;
    c.send(format!("POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {total}\r\n\r\n").as_bytes());
    assert!(matches!(c.events()[..], [Event::Request(_)]));
    c.s.read_body(c.now);

    // The consumer takes 8 KiB, then is full for a second, again and again.
    let body = vec![b'x'; total];
    let mut sent = 0;
    let mut consumed = 0;
    let mut most_held = 0;
    while consumed < total {
        sent += c.send(&body[sent..]);
        let mut taken = 0;
        loop {
            match c.s.poll_event(c.now) {
                Event::BodyData(d) => {
                    taken += d.len();
                    if taken >= 8 * 1024 {
                        c.s.hold_body(c.now);
                        break;
                    }
                }
                Event::BodyEnd | Event::Idle => break,
                other => panic!("{other:?}"),
            }
        }
        consumed += taken;
        // Held: the session reads nothing more, whatever the client has ready.
        if consumed < total {
            assert!(!c.s.wants_read());
            assert_eq!(c.send(&body[sent..]), 0);
        }
        most_held = most_held.max(c.s.heap_bytes());
        c.advance(Duration::from_secs(1));
        c.s.read_body(c.now);
    }
    assert_eq!(consumed, total);
    assert_eq!(sent, total);
    assert!(
        most_held <= read_ahead + 2 * chunk + 2048,
        "held {most_held} bytes for a {total}-byte upload"
    );
    // 512 simulated seconds of a consumer that keeps taking: neither 408 nor 504.
    assert!(c.s.close_reason().is_none(), "{:?}", c.s.close_reason());
}

#[test]
fn a_held_body_pauses_the_body_rate_clock_but_not_the_handler_deadline() {
    let mut c = Conn::new(Limits::default());
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    c.events();
    c.s.read_body(c.now);
    assert!(matches!(c.events()[..], [Event::BodyData(_)]));
    assert_eq!(c.s.phase(), Phase::ReadingBody);
    c.s.hold_body(c.now);
    assert_eq!(c.s.phase(), Phase::Handling);
    // Far past the 10 s body rate window: the client is not the slow one.
    c.advance(Duration::from_secs(30));
    assert!(c.s.close_reason().is_none());
    // The handler deadline still runs: a consumer stuck for 60 s is a stuck handler.
    c.advance(Duration::from_secs(30));
    c.flush();
    assert!(c.text().starts_with("HTTP/1.1 504"), "{}", c.text());
}

#[test]
fn a_slow_client_body_still_gets_408_while_the_handler_reads() {
    let mut c = Conn::new(Limits::default());
    c.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123");
    c.events();
    c.s.read_body(c.now);
    c.events();
    c.advance(Duration::from_secs(10));
    c.flush();
    assert!(c.text().starts_with("HTTP/1.1 408"), "{}", c.text());
    assert_eq!(c.s.close_reason(), Some(CloseReason::BodyTooSlow));
}

#[test]
fn a_response_may_stream_while_the_body_is_still_read() {
    let mut c = Conn::new(Limits::default());
    c.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc");
    c.events();
    c.s.read_body(c.now);
    let Event::BodyData(first) = c.events().remove(0) else {
        panic!()
    };
    c.s.send_response(&Response::new(200).streamed(), c.now)
        .unwrap();
    c.s.send_data(&first, c.now).unwrap();
    c.send(b"def");
    let events = c.events();
    assert_eq!(
        events,
        [
            Event::BodyData(bytes::Bytes::from_static(b"def")),
            Event::BodyEnd
        ]
    );
    c.s.send_data(b"def", c.now).unwrap();
    c.s.send_end_with_trailers(&[(b"x-sum", b"6")], c.now)
        .unwrap();
    c.flush();
    assert!(
        c.text()
            .contains("3\r\nabc\r\n3\r\ndef\r\n0\r\nx-sum: 6\r\n\r\n"),
        "{}",
        c.text()
    );
    assert!(
        !c.text().contains("connection: close"),
        "keep-alive survives"
    );
    assert_eq!(c.s.phase(), Phase::Idle);
}

#[test]
fn ending_the_response_before_the_body_drops_the_rest_of_it() {
    let mut c = Conn::new(Limits::default());
    c.send(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc");
    c.events();
    c.s.read_body(c.now);
    assert!(matches!(c.events()[..], [Event::BodyData(_)]));
    c.respond(200, b"done");
    c.send(b"defGET /n HTTP/1.1\r\nHost: x\r\n\r\n");
    let events = c.events();
    assert!(
        matches!(&events[..], [Event::Request(h), Event::BodyEnd] if h.path() == b"/n"),
        "{events:?}"
    );
}

#[test]
fn eof_while_a_request_is_in_flight_stops_reading() {
    let mut c = Conn::new(Limits::default());
    c.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(
        c.events()[..],
        [Event::Request(_), Event::BodyEnd]
    ));
    assert!(c.s.wants_read(), "pipelined requests may follow");
    c.s.handle_read(0, c.now);
    assert!(
        c.events().is_empty(),
        "a half-close still gets its response"
    );
    assert!(!c.s.wants_read(), "no read after EOF: nothing to spin on");
    c.respond(200, b"ok");
    c.flush();
    assert_eq!(c.events(), [Event::Close]);
    assert_eq!(c.s.close_reason(), Some(CloseReason::ClientClosed));
}

#[test]
fn a_content_length_body_may_be_sent_directly_once_the_head_is_out() {
    let mut c = Conn::new(Limits::default());
    c.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\nGET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(c.events()[..], [Event::Request(_), ..]));
    c.s.send_response(&Response::new(200).body_len(10), c.now)
        .unwrap();
    assert!(c.s.can_send_data_directly());
    // The head is still waiting: the body's bytes may not overtake it.
    assert!(!c.s.handle_data_sent_directly(4, c.now));
    c.flush();
    assert!(c.s.handle_data_sent_directly(4, c.now));
    assert!(c.s.handle_data_sent_directly(6, c.now));
    // More than the Content-Length owes is refused, and nothing is counted.
    assert!(!c.s.handle_data_sent_directly(1, c.now));
    c.s.send_end(c.now).unwrap();
    assert!(!c.s.can_send_data_directly(), "no body in progress");
    // The next (pipelined) request is served as usual.
    assert!(matches!(c.events()[..], [Event::Request(_), ..]));
    c.s.send_response(&Response::new(200).streamed(), c.now)
        .unwrap();
    assert!(
        !c.s.can_send_data_directly(),
        "a chunked body needs its framing"
    );
}

#[test]
fn a_head_request_never_sends_its_body_directly() {
    let mut c = Conn::new(Limits::default());
    c.send(b"HEAD /big HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(c.events()[..], [Event::Request(_), ..]));
    c.s.send_response(&Response::new(200).body_len(10), c.now)
        .unwrap();
    c.flush();
    assert!(!c.s.can_send_data_directly());
    assert!(!c.s.handle_data_sent_directly(10, c.now));
}

#[test]
fn a_direct_body_the_client_does_not_read_stalls_like_pending_output() {
    let mut limits = Limits::default();
    limits.write_stall_timeout = Duration::from_secs(5);
    limits.handler_timeout = Duration::from_secs(60);
    let mut c = Conn::new(limits);
    c.send(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(c.events()[..], [Event::Request(_), ..]));
    c.s.send_response(&Response::new(200).body_len(1 << 20), c.now)
        .unwrap();
    c.flush();
    assert!(c.s.handle_data_sent_directly(65536, c.now));
    c.s.handle_direct_send_blocked();
    c.advance(Duration::from_secs(4));
    assert!(
        c.s.handle_data_sent_directly(65536, c.now),
        "progress resets the clock"
    );
    c.s.handle_direct_send_blocked();
    c.advance(Duration::from_secs(4));
    assert!(!c.events().contains(&Event::Close));
    c.advance(Duration::from_secs(2));
    assert_eq!(c.events(), vec![Event::Close]);
    assert_eq!(c.s.close_reason(), Some(CloseReason::WriteStalled));
}
