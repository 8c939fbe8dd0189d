//! Simulated-time specifications of the session lifecycle: every deadline and transition,
//! hours of simulated time in milliseconds of real time.

use http_proto::Response;
use session_core::{
    Admission, CloseReason, Event, Limits, Phase, Registry, RegistryConfig, Session, Ticket,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A fake driver: feeds bytes, advances a fake clock, answers every request with
/// `200 ok`, and records what the client would have received.
struct Sim {
    s: Session,
    now: Instant,
    received: Vec<u8>,
    /// Whether the fake client reads what the server writes.
    client_reads: bool,
    requests: Vec<String>,
    closed: bool,
}

impl Sim {
    fn new(limits: Limits) -> Self {
        Self::with_ticket(limits, Ticket::detached())
    }

    fn with_ticket(limits: Limits, ticket: Ticket) -> Self {
        let now = Instant::now();
        Self {
            s: Session::new(Arc::new(limits), ticket, now),
            now,
            received: Vec::new(),
            client_reads: true,
            requests: Vec::new(),
            closed: false,
        }
    }

    /// The client sends bytes (as far as the session wants to read).
    fn send(&mut self, bytes: &[u8]) -> usize {
        let mut sent = 0;
        while sent < bytes.len() && self.s.wants_read() {
            let n = (bytes.len() - sent).min(4096);
            self.s.read_buf().extend_from_slice(&bytes[sent..sent + n]);
            self.s.handle_read(n, self.now);
            sent += n;
            self.run();
        }
        self.run();
        sent
    }

    fn eof(&mut self) {
        self.s.handle_read(0, self.now);
        self.run();
    }

    /// Polls until idle, answering requests and flushing output if the client reads.
    fn run(&mut self) {
        for _ in 0..10_000 {
            if self.client_reads && !self.s.pending_output().is_empty() {
                let out = self.s.pending_output().to_vec();
                self.received.extend_from_slice(&out);
                self.s.handle_written(out.len(), self.now);
            }
            match self.s.poll_event(self.now) {
                Event::Request(head) => {
                    self.requests
                        .push(String::from_utf8_lossy(head.target()).into_owned());
                    if head.framing().has_body() {
                        self.s.read_body(self.now);
                        continue; // answered at BodyEnd
                    }
                    self.answer();
                }
                Event::BodyData(_) => {}
                Event::BodyEnd => {
                    if self.s.phase() == Phase::Handling {
                        self.answer();
                    }
                }
                Event::Close => {
                    self.closed = true;
                    return;
                }
                Event::Idle => {
                    if self.s.is_lingering() && self.client_reads {
                        // The server shut down its side: a real client closes too.
                        self.s.handle_read(0, self.now);
                        continue;
                    }
                    if !self.client_reads || self.s.pending_output().is_empty() {
                        return;
                    }
                }
            }
        }
        panic!("session did not settle");
    }

    fn answer(&mut self) {
        self.s
            .send_response(&Response::new(200).body_len(2), self.now)
            .unwrap();
        self.s.send_data(b"ok", self.now).unwrap();
        self.s.send_end(self.now).unwrap();
    }

    /// Advances the clock by `d`, firing deadlines as they fall due.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(deadline) = self.s.poll_timeout() {
            if deadline > end || self.closed {
                break;
            }
            self.now = deadline.max(self.now);
            self.s.handle_timeout(self.now);
            self.run();
        }
        self.now = end;
    }

    fn received_text(&self) -> String {
        String::from_utf8_lossy(&self.received).into_owned()
    }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";

#[test]
fn a_request_is_answered_and_the_session_goes_idle_without_buffers() {
    let mut sim = Sim::new(Limits::default());
    sim.send(GET);
    assert!(sim.received_text().starts_with("HTTP/1.1 200 OK\r\n"));
    assert_eq!(sim.s.phase(), Phase::Idle);
    let idle = sim.s.heap_bytes();
    assert_eq!(
        idle,
        std::mem::size_of::<Session>(),
        "no buffer capacity held while idle"
    );
    assert!(idle < 2048, "idle session is {idle} bytes");
}

#[test]
fn silent_close_when_no_byte_arrives() {
    let mut sim = Sim::new(Limits::default());
    sim.advance(Duration::from_secs(9));
    assert!(!sim.closed);
    sim.advance(Duration::from_secs(2));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::FirstByteTimeout));
    assert!(sim.received.is_empty(), "idle: nothing is said");
}

/// A fake driver for a session whose transport shakes hands first (TLS), within 3 s.
fn handshaking() -> Sim {
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(3);
    let mut sim = Sim::new(limits.clone());
    sim.s = Session::with_handshake(Arc::new(limits), Ticket::detached(), sim.now);
    sim
}

#[test]
fn a_stalled_handshake_closes_silently_at_its_deadline() {
    let mut sim = handshaking();
    assert_eq!(sim.s.phase(), Phase::Handshaking);
    assert!(sim.s.is_handshaking() && sim.s.wants_read());
    sim.advance(Duration::from_millis(2900));
    assert!(!sim.closed);
    sim.advance(Duration::from_millis(200));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::HandshakeTimeout));
    assert!(sim.received.is_empty(), "no HTTP yet: nothing to answer");
}

#[test]
fn after_the_handshake_the_first_byte_deadline_runs_from_its_end() {
    let mut sim = handshaking();
    sim.advance(Duration::from_secs(2));
    sim.s.handshake_done(sim.now);
    assert_eq!(sim.s.phase(), Phase::ReadingHead);
    assert!(!sim.s.is_handshaking());
    // The handshake deadline is gone; the 10 s first-byte one counts from now.
    sim.advance(Duration::from_secs(9));
    assert!(!sim.closed);
    sim.send(GET);
    assert!(sim.received_text().starts_with("HTTP/1.1 200 OK\r\n"));
    sim.advance(Duration::from_secs(76));
    assert_eq!(sim.s.close_reason(), Some(CloseReason::IdleTimeout));
}

#[test]
fn request_bytes_end_a_handshake_the_driver_did_not_report() {
    let mut sim = handshaking();
    sim.send(GET);
    assert!(!sim.s.is_handshaking());
    assert!(sim.received_text().starts_with("HTTP/1.1 200 OK\r\n"));
}

#[test]
fn a_drain_closes_a_session_still_shaking_hands() {
    let registry = Registry::new(RegistryConfig::default());
    let Admission::Accepted(ticket) = registry.admit() else {
        panic!("admitted")
    };
    let now = Instant::now();
    let mut s = Session::with_handshake(Arc::new(Limits::default()), ticket, now);
    assert_eq!(registry.snapshot().by_phase[0], (Phase::Handshaking, 1));
    registry.start_drain();
    s.handle_timeout(now);
    assert_eq!(s.poll_event(now), Event::Close);
    assert_eq!(s.close_reason(), Some(CloseReason::Drained));
}

#[test]
fn slowloris_gets_408_after_the_header_timeout() {
    let mut sim = Sim::new(Limits::default());
    // One byte every 3 s: the head would take minutes.
    for &b in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaa" {
        if sim.closed {
            break;
        }
        sim.send(&[b]);
        sim.advance(Duration::from_secs(3));
    }
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::HeaderTimeout));
    assert!(
        sim.received_text()
            .starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{}",
        sim.received_text()
    );
    assert!(sim.received_text().contains("connection: close"));
}

#[test]
fn keep_alive_idle_timeout_closes_silently() {
    let mut sim = Sim::new(Limits::default());
    sim.send(GET);
    let answered = sim.received.len();
    sim.advance(Duration::from_secs(74));
    assert!(!sim.closed);
    sim.send(GET);
    assert_eq!(sim.requests.len(), 2);
    sim.advance(Duration::from_secs(76));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::IdleTimeout));
    assert_eq!(
        sim.received.len(),
        answered * 2,
        "no 408 for an idle session"
    );
}

#[test]
fn a_slow_body_gets_408() {
    let mut sim = Sim::new(Limits::default());
    sim.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n0123456789");
    sim.advance(Duration::from_secs(11));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::BodyTooSlow));
    assert!(sim.received_text().starts_with("HTTP/1.1 408"));
}

#[test]
fn a_steady_body_is_not_cut_off() {
    let mut sim = Sim::new(Limits::default());
    sim.send(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 40000\r\n\r\n");
    for _ in 0..10 {
        sim.send(&[b'a'; 4000]);
        sim.advance(Duration::from_secs(5));
    }
    assert!(!sim.closed, "{:?}", sim.s.close_reason());
    assert!(sim.received_text().starts_with("HTTP/1.1 200"));
}

#[test]
fn expect_continue_is_sent_when_the_body_is_wanted() {
    let mut sim = Sim::new(Limits::default());
    sim.send(b"PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
    assert_eq!(sim.received_text(), "HTTP/1.1 100 Continue\r\n\r\n");
    sim.send(b"abc");
    assert!(sim.received_text().contains("HTTP/1.1 200 OK"));
}

#[test]
fn a_client_that_never_reads_is_throttled_then_dropped() {
    let mut sim = Sim::new(Limits::default());
    sim.client_reads = false;
    let pipeline: Vec<u8> = GET.repeat(1000);
    let accepted = sim.send(&pipeline);
    assert!(!sim.s.wants_read(), "back-pressure stops reading");
    assert!(
        accepted < pipeline.len(),
        "the server did not swallow everything"
    );
    assert_eq!(sim.requests.len(), Limits::default().max_queued_responses);
    // nginx's send_timeout: a pause of 59 s is a slow client, not a dead one.
    sim.advance(Duration::from_secs(59));
    assert!(!sim.closed);
    sim.advance(Duration::from_secs(2));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::WriteStalled));
}

#[test]
fn one_thousand_pipelined_requests_are_answered_in_order() {
    let mut sim = Sim::new(Limits::default());
    let mut pipeline = Vec::new();
    for i in 0..1000 {
        pipeline.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    assert_eq!(sim.send(&pipeline), pipeline.len());
    assert_eq!(sim.requests.len(), 1000);
    assert!(
        sim.requests
            .iter()
            .enumerate()
            .all(|(i, t)| *t == format!("/{i}"))
    );
    assert_eq!(sim.received_text().matches("HTTP/1.1 200 OK").count(), 1000);
    assert_eq!(sim.s.phase(), Phase::Idle);
}

#[test]
fn the_last_of_max_requests_says_connection_close() {
    let mut limits = Limits::default();
    limits.max_requests = 2;
    let mut sim = Sim::new(limits);
    sim.send(GET);
    sim.send(GET);
    assert_eq!(sim.received_text().matches("connection: close").count(), 1);
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::MaxRequests));
}

#[test]
fn a_handler_that_never_answers_gets_504() {
    let now = Instant::now();
    let mut s = Session::new(Arc::new(Limits::default()), Ticket::detached(), now);
    s.read_buf().extend_from_slice(GET);
    s.handle_read(GET.len(), now);
    assert!(matches!(s.poll_event(now), Event::Request(_)));
    assert_eq!(s.poll_event(now), Event::BodyEnd);
    assert_eq!(s.phase(), Phase::Handling);
    let deadline = s.poll_timeout().unwrap();
    assert_eq!(deadline, now + Duration::from_secs(60));
    s.handle_timeout(deadline);
    assert!(
        s.pending_output()
            .starts_with(b"HTTP/1.1 504 Gateway Timeout\r\n")
    );
}

#[test]
fn a_malformed_request_is_answered_with_its_status_and_closed() {
    for (raw, status) in [
        (&b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n"[..], "400"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "505"),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
            "413",
        ),
    ] {
        let mut sim = Sim::new(Limits::default());
        sim.send(raw);
        assert!(
            sim.received_text()
                .starts_with(&format!("HTTP/1.1 {status}")),
            "{}",
            sim.received_text()
        );
        assert!(sim.closed);
    }
}

#[test]
fn client_close_between_requests_ends_the_session() {
    let mut sim = Sim::new(Limits::default());
    sim.send(GET);
    sim.eof();
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::ClientClosed));
}

#[test]
fn lifetime_closes_an_idle_session() {
    let mut limits = Limits::default();
    limits.max_lifetime = Some(Duration::from_secs(30));
    let mut sim = Sim::new(limits);
    sim.send(GET);
    sim.advance(Duration::from_secs(31));
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::LifetimeExceeded));
}

fn registry_sim(registry: &Registry) -> Sim {
    let Admission::Accepted(ticket) = registry.admit() else {
        panic!("admitted")
    };
    Sim::with_ticket(Limits::default(), ticket)
}

#[test]
fn drain_closes_idle_sessions_at_once() {
    let registry = Registry::new(RegistryConfig::default());
    let mut sim = registry_sim(&registry);
    sim.send(GET);
    registry.start_drain();
    sim.run();
    assert!(sim.closed);
    assert_eq!(sim.s.close_reason(), Some(CloseReason::Drained));
    assert!(
        matches!(registry.admit(), Admission::Rejected(_)),
        "no new sessions while draining"
    );
}

#[test]
fn drain_closes_a_session_mid_head() {
    let registry = Registry::new(RegistryConfig::default());
    let mut sim = registry_sim(&registry);
    sim.send(b"GET / HTTP/1.1\r\nHo");
    registry.start_drain();
    sim.run();
    assert!(sim.closed);
}

#[test]
fn drain_lets_a_dispatched_request_finish_with_connection_close() {
    let registry = Registry::new(RegistryConfig::default());
    let Admission::Accepted(ticket) = registry.admit() else {
        panic!()
    };
    let now = Instant::now();
    let mut s = Session::new(Arc::new(Limits::default()), ticket, now);
    s.read_buf().extend_from_slice(GET);
    s.handle_read(GET.len(), now);
    assert!(matches!(s.poll_event(now), Event::Request(_)));
    registry.start_drain();
    assert_eq!(s.poll_event(now), Event::BodyEnd);
    assert_eq!(s.phase(), Phase::Draining);
    s.send_response(&Response::new(200).body_len(0), now)
        .unwrap();
    s.send_end(now).unwrap();
    let out = String::from_utf8_lossy(s.pending_output()).into_owned();
    assert!(out.contains("connection: close"), "{out}");
    let n = s.pending_output().len();
    s.handle_written(n, now);
    assert_eq!(s.poll_event(now), Event::Close);
    assert_eq!(s.close_reason(), Some(CloseReason::Drained));
}

#[test]
fn drain_while_writing_finishes_the_write() {
    let registry = Registry::new(RegistryConfig::default());
    let mut sim = registry_sim(&registry);
    sim.client_reads = false;
    sim.send(GET);
    assert_eq!(sim.s.phase(), Phase::Writing);
    registry.start_drain();
    sim.run();
    assert!(!sim.closed, "output still pending");
    sim.client_reads = true;
    sim.run();
    assert!(sim.closed);
    assert!(sim.received_text().starts_with("HTTP/1.1 200 OK"));
}

#[test]
fn registry_counts_sessions_by_phase() {
    let registry = Registry::new(RegistryConfig::default());
    let mut a = registry_sim(&registry);
    let mut b = registry_sim(&registry);
    a.send(GET);
    b.send(b"GET / HTTP/1.1\r\n");
    let snap = registry.snapshot();
    assert_eq!(snap.active, 2);
    let count = |p| {
        snap.by_phase
            .iter()
            .find(|(q, _)| *q == p)
            .map(|(_, n)| *n)
            .unwrap()
    };
    assert_eq!(count(Phase::Idle), 1);
    assert_eq!(count(Phase::ReadingHead), 1);
    assert_eq!(snap.requests, 1);
    drop(a);
    drop(b);
    let snap = registry.snapshot();
    assert_eq!((snap.active, snap.handled), (0, 2));
}
