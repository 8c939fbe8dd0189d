//! One task per session: it moves bytes and timers for [`session_core::Session`] and
//! drives the exchange of the request in flight, and nothing else.
//!
//! Every protocol decision (framing, keep-alive, pipelining order, `100 Continue`,
//! deadlines, 408/413/431 answers, back-pressure, drain, lingering close) is
//! session-core's; every answer is an [`Exchange`](crate::exchange::Exchange)'s. Each wake-up runs one loop:
//!
//! 1. take session-core's events: a request head is dispatched to its route kind; body
//!    pieces go to the exchange while it has room (`read_body` / `hold_body` steer
//!    session-core), and its refusal makes session-core drop or refuse the body;
//! 2. let the exchange write its response while the output has room;
//! 3. write the output as far as the socket takes it;
//! 4. wait for whichever comes first: the socket (writable if output is pending,
//!    readable if session-core wants to read), the session's next deadline, or the
//!    exchange's own wake-up.
//!
//! Dropping the exchange is its cancellation: that happens when the session closes for
//! any reason, before the response ends.

use crate::access_log::Entry;
use crate::dispatch;
use crate::exchange::{BodyRoom, Started};
use crate::log_limit::LogBudget;
use crate::response::{ResponseSink, ResponseState};
use crate::router::Route;
use crate::server::Server;
use crate::transport::{ConnInfo, Transport};
use http_proto::Method;
use session_core::{Event, Session};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};
use tokio::time::Sleep;

/// Runs one session until session-core says close.
///
/// Everything here lives in the task's future for the session's whole life, so its size
/// is the memory of an idle session: keep new state small or boxed. (The session arrives
/// built and is moved once, into the task state the future captures; no wake-up for the
/// drain is kept either, see `server::busy_sessions`.)
pub(crate) fn serve<T: Transport>(
    io: T,
    conn: ConnInfo,
    server: Arc<Server>,
    session: Session,
) -> impl Future<Output = ()> {
    let mut task = SessionTask {
        io,
        conn,
        server,
        session,
        in_flight: None,
        shut_down: false,
        events: true,
        client_gone: false,
    };
    async move {
        let first = task.session.poll_timeout().unwrap_or_else(Instant::now);
        let sleep = tokio::time::sleep_until(first.into());
        tokio::pin!(sleep);
        std::future::poll_fn(|cx| task.poll(cx, sleep.as_mut())).await;
    }
}

struct SessionTask<T> {
    io: T,
    conn: ConnInfo,
    server: Arc<Server>,
    session: Session,
    /// Inline rather than boxed: one allocation less per request, for 60 bytes more per
    /// idle session.
    in_flight: Option<InFlight>,
    /// The sending side was shut down for the lingering close.
    shut_down: bool,
    /// Session-core may have events: something was read, written, timed out or decided
    /// since it last said `Idle`. (Polling it only then keeps a wake-up cheap.)
    events: bool,
    /// The client closed or reset the connection (for the access log: 499).
    client_gone: bool,
}

/// The request being answered: its exchange and what the task knows about it.
struct InFlight {
    exchange: Started,
    response: ResponseState,
    log: Option<Box<Entry>>,
    body: BodySteer,
    route: Option<&'static Route>,
}

/// Where the task stands with session-core about the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodySteer {
    /// A body follows; the exchange has not said whether it wants it.
    Undecided,
    /// Being read; the exchange is asked for room after each piece.
    Reading,
    /// Held: the exchange had no room.
    Held,
    /// Nothing more to decide (no body, complete, or refused).
    Settled,
}

/// Whether the loop goes on.
enum Flow {
    Continue,
    Close,
}

impl<T: Transport> SessionTask<T> {
    fn poll(&mut self, cx: &mut Context<'_>, mut sleep: Pin<&mut Sleep>) -> Poll<()> {
        // One clock read per wake-up: a turn never blocks (tokio's budget bounds it), so
        // its `now` is at most microseconds old, and session-core's deadlines are seconds.
        let mut now = Instant::now();
        loop {
            // 1 and 2: events, body steering, response.
            if let Flow::Close = self.pump(cx, now) {
                // A response cut short: what is queued of it still goes out if the socket
                // takes it now, so the client sees a truncated body, not nothing.
                let _ = self.io.try_write(self.session.pending_output());
                return Poll::Ready(());
            }
            // 3. Write what is pending, as far as the socket takes it.
            let mut wrote = false;
            while !self.session.pending_output().is_empty() {
                match self.io.try_write(self.session.pending_output()) {
                    Ok(0) => return self.peer_gone(),
                    Ok(n) => {
                        self.server.traffic.wrote(n);
                        self.session.handle_written(n, now);
                        self.events = true;
                        wrote = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return self.peer_gone(),
                }
            }
            if wrote {
                // More may follow (the next pipelined response, the close): a transport
                // that queues what it is given (TLS records) sends it all in one write.
                continue;
            }
            if self.session.is_lingering() && !self.shut_down {
                // RFC 9112 §9.6: half-close, then read until the client closes too.
                let _ = self.io.shutdown_write();
                self.shut_down = true;
            }
            if self.io.wants_write() {
                match self.io.try_flush() {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(_) => return self.peer_gone(),
                }
            }
            // 4. Wait for the socket, the next deadline, or the exchange (which arranged
            // its own wake-up when it returned `Pending` in step 2).
            if !self.session.pending_output().is_empty() || self.io.wants_write() {
                match self.io.poll_write_ready(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(_)) => return self.peer_gone(),
                    Poll::Pending => {}
                }
            }
            if self.session.wants_read() {
                match self.io.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => {
                        let read = self.io.try_read_buf(self.session.read_buf());
                        if self.session.is_handshaking() && !self.io.is_handshaking() {
                            self.handshake_done();
                        }
                        match read {
                            Ok(n) => {
                                self.server.traffic.read(n);
                                self.session.handle_read(n, now);
                                self.events = true;
                                if n == 0 && self.gateway_in_flight() {
                                    // The client left: the gateway's work is for nobody.
                                    return self.peer_gone();
                                }
                            }
                            // Readiness was stale (seen right after accept, and on a
                            // keep-alive socket until a read finds it empty); the read
                            // cleared it, so the next poll registers for the real one.
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                self.session.handle_read_nothing();
                            }
                            Err(_) => return self.peer_gone(),
                        }
                        continue;
                    }
                    Poll::Ready(Err(_)) => return self.peer_gone(),
                    Poll::Pending => {}
                }
            }
            // Only now, about to sleep: the deadline. (A socket that stays ready still
            // yields when tokio's budget runs out, and the timer is checked then.)
            let Some(deadline) = self.session.poll_timeout() else {
                return Poll::Ready(());
            };
            // Lazy re-arming: the keep-alive deadline moves later with every request, and
            // resetting the timer each time costs more than an early wake-up, after which
            // `handle_timeout` finds nothing due and the real deadline is armed.
            if sleep.is_elapsed() || deadline < sleep.deadline().into_std() {
                sleep.as_mut().reset(deadline.into());
            }
            if sleep.as_mut().poll(cx).is_ready() {
                // Read afresh: the timer may have fired for a deadline just after `now`.
                now = Instant::now();
                self.session.handle_timeout(now);
                self.events = true;
                continue;
            }
            return Poll::Pending;
        }
    }

    /// The transport's handshake is over: HTTP begins, and routes learn what TLS agreed.
    fn handshake_done(&mut self) {
        self.session.handshake_done(Instant::now());
        self.conn.tls = self.io.tls_info().map(Arc::new);
        self.events = true;
    }

    /// Ends the task: the client closed or reset the connection.
    fn peer_gone(&mut self) -> Poll<()> {
        self.client_gone = true;
        Poll::Ready(())
    }

    /// Whether the request in flight is a gateway's that should stop when the client goes.
    fn gateway_in_flight(&mut self) -> bool {
        self.in_flight
            .as_mut()
            .is_some_and(|f| f.exchange.get().cancel_on_client_close())
    }

    /// Steps 1 and 2: session-core's events, each followed by the exchange's turn to
    /// respond (so a response that is ready at once goes out before the next poll, and a
    /// pipelined request follows without an idle round).
    fn pump(&mut self, cx: &mut Context<'_>, now: Instant) -> Flow {
        loop {
            if self.events {
                match self.session.poll_event(now) {
                    Event::Request(head) => {
                        let (exchange, route) = dispatch::dispatch(&self.server, &head, &self.conn);
                        self.in_flight = Some(InFlight {
                            exchange,
                            response: ResponseState::new(head.method() == Method::Head),
                            log: dispatch::log_entry(&self.server, &head, &self.conn),
                            body: if head.framing().has_body() {
                                BodySteer::Undecided
                            } else {
                                BodySteer::Settled
                            },
                            route,
                        });
                    }
                    Event::BodyData(data) => {
                        if let Some(f) = &mut self.in_flight {
                            f.exchange.get().body_data(data);
                        }
                    }
                    Event::BodyEnd => {
                        if let Some(f) = &mut self.in_flight {
                            f.body = BodySteer::Settled;
                            f.exchange.get().body_end();
                        }
                    }
                    Event::Idle => self.events = false,
                    Event::Close => return Flow::Close,
                }
            }
            // Before the next piece: does the exchange still have room for one?
            self.steer_body(cx, now);
            match self.respond(cx, now) {
                // Ended: the next pipelined request may be ready.
                Some(Flow::Continue) => self.events = true,
                Some(Flow::Close) => return Flow::Close,
                None if self.events => {}
                None => return Flow::Continue,
            }
        }
    }

    /// Asks the exchange whether it has room for the request body and tells session-core.
    fn steer_body(&mut self, cx: &mut Context<'_>, now: Instant) {
        let Some(f) = &mut self.in_flight else {
            return;
        };
        if f.body == BodySteer::Settled {
            return;
        }
        match f.exchange.get().poll_body_room(cx) {
            Poll::Ready(BodyRoom::Ready) => {
                if f.body != BodySteer::Reading {
                    f.body = BodySteer::Reading;
                    self.session.read_body(now);
                    self.events = true;
                }
            }
            Poll::Ready(BodyRoom::Refused) => {
                f.body = BodySteer::Settled;
                self.session.refuse_body(now);
                self.events = true;
            }
            Poll::Pending => {
                if f.body == BodySteer::Reading {
                    f.body = BodySteer::Held;
                    self.session.hold_body(now);
                    self.events = true;
                }
            }
        }
    }

    /// Lets the exchange write while the output has room. `Some(Continue)` once its
    /// response ended (logged and dropped), `Some(Close)` when the connection must be cut,
    /// `None` while it is still going.
    fn respond(&mut self, cx: &mut Context<'_>, now: Instant) -> Option<Flow> {
        let f = self.in_flight.as_mut()?;
        if self.session.send_capacity() == 0 {
            return None;
        }
        let mut sink = ResponseSink::new(&mut self.session, &mut f.response, now)
            .with_hsts(self.conn.hsts.as_deref())
            .with_transport(&mut self.io, &self.server.traffic);
        let result = match f.exchange.get().poll_response(cx, &mut sink) {
            Poll::Pending => return None,
            Poll::Ready(result) => result,
        };
        let flow = match result {
            Ok(()) if sink.is_ended() => Flow::Continue,
            Ok(()) => {
                tracing::error!(
                    "route {}: the exchange finished without ending its response",
                    describe(f.route)
                );
                Flow::Close
            }
            Err(e) => {
                let route = describe(f.route);
                if sink.is_started() {
                    // The head went out: the response can only be cut short.
                    tracing::error!("route {route}: response cut short: {e}");
                    Flow::Close
                } else {
                    tracing::error!("route {route}: {e}");
                    match sink.error_page(e.status) {
                        Ok(()) => Flow::Continue,
                        Err(e) => {
                            tracing::error!("route {route}: error page refused: {e}");
                            Flow::Close
                        }
                    }
                }
            }
        };
        let f = self.in_flight.take()?;
        self.finish_log(f, now);
        Some(flow)
    }

    /// Logs the request with what its response sent.
    fn finish_log(&self, f: InFlight, now: Instant) {
        self.server
            .traffic
            .response(f.response.status().unwrap_or(0), now);
        if let Some(mut entry) = f.log {
            entry.status = f.response.status().unwrap_or(0);
            entry.bytes = f.response.body_bytes();
            entry.time = SystemTime::now();
            self.server.access_log.log(*entry);
        }
    }
}

/// What a session leaves in the logs when it ends (no socket needed for that).
impl<T> SessionTask<T> {
    /// Logs the request in flight when the session ends before its response did (the
    /// client left, a write stalled, session-core answered a timeout, the drain deadline
    /// passed), with an error-log line: the status session-core answered, else the one the
    /// head said, else 499 when the client closed first (nginx's code) or 503 when the
    /// server gave up; the body bytes actually written.
    fn log_unfinished(&self, mut f: InFlight) {
        let own = self.session.own_response();
        let status = own
            .filter(|o| o.for_request_in_flight)
            .map(|o| o.status)
            .or(f.response.status())
            .unwrap_or(if self.client_gone { 499 } else { 503 });
        let unwritten = self.session.pending_output().len() as u64;
        let bytes = f.response.body_bytes().saturating_sub(unwritten);
        self.server.traffic.response(status, Instant::now());
        if CLOSES.allow() {
            tracing::info!(
                "route {}: {} closed before the response ended (logged {status}, {bytes} body bytes written){}",
                describe(f.route),
                self.conn
                    .peer
                    .map_or_else(|| "a client".to_owned(), |p| p.to_string()),
                self.session
                    .close_reason()
                    .map_or_else(String::new, |r| format!(": {r:?}")),
            );
        }
        if let Some(entry) = &mut f.log {
            entry.status = status;
            entry.bytes = bytes;
            entry.time = SystemTime::now();
        }
        if let Some(entry) = f.log.take() {
            self.server.access_log.log(*entry);
        }
    }

    /// Logs the response session-core answered with itself to a request that never
    /// reached a route (400 for garbage or a missing Host, 408, 413, 414, 431, 505).
    fn log_own_response(&self) {
        let own = self
            .session
            .own_response()
            .filter(|o| !o.for_request_in_flight);
        if let Some(o) = own {
            self.server.traffic.response(o.status, Instant::now());
        }
        let Some(own) = own else {
            return;
        };
        if CLOSES.allow() {
            tracing::info!(
                "{}: answered {} and closed: {}",
                self.conn
                    .peer
                    .map_or_else(|| "a client".to_owned(), |p| p.to_string()),
                own.status,
                self.session
                    .close_reason()
                    .map_or_else(String::new, |r| format!("{r:?}")),
            );
        }
        if self.server.access_log.enabled() {
            self.server.access_log.log(Entry {
                remote: self.conn.peer.map(|p| p.ip()),
                time: SystemTime::now(),
                request_line: own.request_line.clone(),
                status: own.status,
                bytes: own.body_bytes,
                referer: None,
                user_agent: None,
                user: None,
                tls: self.conn.tls.as_ref().map(|t| (t.protocol, t.cipher)),
            });
        }
    }
}

/// Every request leaves an access-log line, also one whose response never finished.
impl<T> Drop for SessionTask<T> {
    fn drop(&mut self) {
        if self.session.close_reason() == Some(session_core::CloseReason::HandshakeTimeout) {
            self.server.tls.timeouts.fetch_add(1, Relaxed);
        }
        match self.in_flight.take() {
            Some(f) => self.log_unfinished(f),
            None => self.log_own_response(),
        }
    }
}

/// Error-log lines about connections closed early, for the whole process.
static CLOSES: LogBudget = LogBudget::new("closed connections");

fn describe(route: Option<&'static Route>) -> String {
    route.map_or_else(|| "(none)".to_owned(), Route::describe)
}

#[cfg(test)]
pub(crate) mod tests {
    //! The session task with test doubles for the exchange, over Unix socket pairs: a
    //! producer that answers late while other sessions are served, cancellation when
    //! the client goes away, and errors before and after the head.

    use super::*;
    use crate::config::Config;
    use crate::exchange::{Exchange, ExchangeError, Request};
    use crate::router::Router;
    use http_proto::Response;
    use session_core::Admission;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::UnixStream;

    /// How a test route starts its exchange.
    pub(crate) type StartDouble = fn(&Request<'_>) -> Box<dyn Exchange>;

    /// A server whose `/double` route is `start`, with `/plain` answering `hi` at once.
    fn server(start: StartDouble) -> Arc<Server> {
        let config = Config::parse(
            "access_log = \"off\"\n[[route]]\nprefix = \"/plain\"\nrespond = { body = \"hi\" }\n",
        )
        .unwrap();
        let server = Server::new(&config).unwrap();
        server
            .routes
            .replace(Router::with_test_double("/double", start, &config.routes));
        Arc::new(server)
    }

    /// Opens a session on `server`; returns the client's end and the task's handle.
    fn connect(server: &Arc<Server>) -> (UnixStream, tokio::task::JoinHandle<()>) {
        connect_with(server, session_core::Limits::default())
    }

    fn connect_with(
        server: &Arc<Server>,
        limits: session_core::Limits,
    ) -> (UnixStream, tokio::task::JoinHandle<()>) {
        let (client, ours) = UnixStream::pair().unwrap();
        let Admission::Accepted(ticket) = server.registry.admit() else {
            panic!("admitted")
        };
        let limits = Arc::new(limits);
        let session = Session::new(limits, ticket, Instant::now());
        let task = tokio::spawn(serve(
            ours,
            ConnInfo::default(),
            Arc::clone(server),
            session,
        ));
        (client, task)
    }

    /// Reads until the peer closes or `until` appears; bounded by a deadline.
    async fn read_until(client: &mut UnixStream, until: &str) -> String {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !String::from_utf8_lossy(&got).contains(until) {
            match tokio::time::timeout_at(deadline, client.read(&mut buf)).await {
                Ok(Ok(0) | Err(_)) | Err(_) => break,
                Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    /// Answers after a delay, from a timer of its own.
    struct Late {
        timer: Pin<Box<Sleep>>,
    }

    impl Exchange for Late {
        fn poll_response(
            &mut self,
            cx: &mut Context<'_>,
            sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            if self.timer.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            Poll::Ready(sink.whole(200, &[], b"late"))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_late_producer_answers_while_other_sessions_are_served() {
        let server = server(|_| {
            Box::new(Late {
                timer: Box::pin(tokio::time::sleep(Duration::from_millis(400))),
            })
        });
        let started = Instant::now();
        let (mut slow, _t1) = connect(&server);
        slow.write_all(b"GET /double HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        // Meanwhile, on the same single-threaded runtime, another session is served at once.
        let (mut fast, _t2) = connect(&server);
        for _ in 0..3 {
            fast.write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let text = read_until(&mut fast, "\r\n\r\nhi").await;
            assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        }
        assert!(started.elapsed() < Duration::from_millis(300));
        let text = read_until(&mut slow, "late").await;
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(started.elapsed() >= Duration::from_millis(400));
        // The late session stays usable.
        slow.write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(read_until(&mut slow, "\r\n\r\nhi").await.contains("200 OK"));
    }

    static DROPPED: AtomicBool = AtomicBool::new(false);
    static BODY_SEEN: AtomicUsize = AtomicUsize::new(0);

    /// Wants the body and streams an endless response; records its drop.
    struct Endless;

    impl Exchange for Endless {
        fn poll_body_room(&mut self, _cx: &mut Context<'_>) -> Poll<BodyRoom> {
            Poll::Ready(BodyRoom::Ready)
        }
        fn body_data(&mut self, data: bytes::Bytes) {
            BODY_SEEN.fetch_add(data.len(), SeqCst);
        }
        fn poll_response(
            &mut self,
            _cx: &mut Context<'_>,
            sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            if !sink.is_started() {
                sink.head(&Response::new(200).streamed())?;
            }
            while sink.has_room() {
                sink.data(&[b'x'; 4096])?;
            }
            Poll::Pending
        }
    }

    impl Drop for Endless {
        fn drop(&mut self) {
            DROPPED.store(true, SeqCst);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_client_that_goes_away_cancels_the_exchange() {
        let server = server(|_| Box::new(Endless));
        let (mut client, task) = connect(&server);
        client
            .write_all(b"POST /double HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789")
            .await
            .unwrap();
        let text = read_until(&mut client, "xxxx").await;
        assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
        assert!(!DROPPED.load(SeqCst), "still streaming");
        // Mid-body on both sides: the client stops and leaves.
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the session ends")
            .unwrap();
        assert!(
            DROPPED.load(SeqCst),
            "the exchange was dropped: its cancellation"
        );
        assert_eq!(BODY_SEEN.load(SeqCst), 10);
    }

    static NEVER_DROPPED: AtomicBool = AtomicBool::new(false);

    /// Never answers; records its drop.
    struct Never;

    impl Exchange for Never {
        fn poll_response(
            &mut self,
            _cx: &mut Context<'_>,
            _sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            Poll::Pending
        }
    }

    impl Drop for Never {
        fn drop(&mut self) {
            NEVER_DROPPED.store(true, SeqCst);
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_deadline_cancels_the_exchange_and_answers_504() {
        let server = server(|_| Box::new(Never));
        let mut limits = session_core::Limits::default();
        limits.handler_timeout = Duration::from_millis(200);
        let (mut client, task) = connect_with(&server, limits);
        client
            .write_all(b"GET /double HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let text = read_until(&mut client, "Gateway Timeout\n").await;
        assert!(
            text.starts_with("HTTP/1.1 504 Gateway Timeout\r\n"),
            "{text}"
        );
        drop(client);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the session ends")
            .unwrap();
        assert!(NEVER_DROPPED.load(SeqCst), "the exchange was dropped");
    }

    /// Fails: before its head for `/double`, after it for `/double/late`.
    struct Failing {
        after_head: bool,
    }

    impl Exchange for Failing {
        fn poll_response(
            &mut self,
            _cx: &mut Context<'_>,
            sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            if self.after_head {
                sink.head(&Response::new(200).body_len(10))?;
                sink.data(b"01234")?;
            }
            Poll::Ready(Err(ExchangeError::new(502, "upstream went away")))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_exchange_error_is_its_status_before_the_head_and_a_cut_after() {
        let server = server(|request| {
            Box::new(Failing {
                after_head: request.path.ends_with(b"/late"),
            })
        });
        let (mut client, _task) = connect(&server);
        client
            .write_all(b"GET /double HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let text = read_until(&mut client, "Bad Gateway\n").await;
        assert!(
            text.starts_with("HTTP/1.1 502 Bad Gateway") && !text.contains("close"),
            "{text}"
        );
        client
            .write_all(b"GET /double/late HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let text = read_until(&mut client, "never").await;
        assert!(text.contains("HTTP/1.1 200 OK"), "{text}");
        assert!(text.ends_with("01234"), "cut short, then closed: {text}");
    }

    /// Writes a head http-proto refuses: a field value with a line break in it.
    struct Injecting;

    impl Exchange for Injecting {
        fn poll_response(
            &mut self,
            _cx: &mut Context<'_>,
            sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            let fields: [(&[u8], &[u8]); 1] = [(b"x-note", b"a\r\nset-cookie: evil=1")];
            Poll::Ready(sink.whole(200, &fields, b"never sent"))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_response_http_proto_refuses_is_a_500_not_a_silent_close() {
        let server = server(|_| Box::new(Injecting));
        let (mut client, _task) = connect(&server);
        client
            .write_all(b"GET /double HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let text = read_until(&mut client, "Server Error\n").await;
        assert!(
            text.starts_with("HTTP/1.1 500 Internal Server Error\r\n"),
            "{text}"
        );
        assert!(!text.contains("evil"), "{text}");
        // The connection stays usable.
        client
            .write_all(b"GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        assert!(
            read_until(&mut client, "\r\n\r\nhi")
                .await
                .contains("200 OK")
        );
    }

    /// Ends without calling `end`: a bug in a route kind, answered by a close.
    struct Unended;

    impl Exchange for Unended {
        fn poll_response(
            &mut self,
            _cx: &mut Context<'_>,
            sink: &mut ResponseSink<'_>,
        ) -> Poll<Result<(), ExchangeError>> {
            sink.head(&Response::new(200).body_len(0))?;
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_exchange_that_forgets_to_end_closes_the_connection() {
        let server = server(|_| Box::new(Unended));
        let (mut client, task) = connect(&server);
        client
            .write_all(b"GET /double HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        read_until(&mut client, "never").await;
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the session ends")
            .unwrap();
    }
}
