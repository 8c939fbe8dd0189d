//! One client session: an HTTP/1 server connection plus every rule about its time and memory.

use crate::buffers;
use crate::limits::Limits;
use crate::phase::Phase;
use crate::registry::Ticket;
use bytes::{Buf, Bytes, BytesMut};
use http_proto::{ErrorKind, RequestHead, Response, ServerConn, ServerEvent, SideState};
use smallvec::SmallVec;
use std::sync::Arc;
use std::time::Instant;

/// Output buffer capacity reserved when a response starts on an empty buffer.
const RESPONSE_BUFFER: usize = 1024;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
// The head is the common event: boxing it would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
pub enum Event {
    /// Dispatch this request to a handler, then answer with `send_response`, `send_data`
    /// and `send_end`. A request with a body waits for the handler's decision: call
    /// [`Session::read_body`] to receive it as `BodyData` events and one `BodyEnd`, or
    /// [`Session::refuse_body`] (or simply respond) to leave it unread. A request without
    /// a body is followed by `BodyEnd` at once.
    ///
    /// Boxed so the event stays small: every poll returns one, and most are not heads.
    Request(Box<RequestHead>),
    /// A piece of the current request's body (only after [`Session::read_body`]).
    BodyData(Bytes),
    /// The current request's body is complete (not reported for a refused body).
    BodyEnd,
    /// Nothing to do now. Write [`Session::pending_output`] if it is not empty, read if
    /// [`Session::wants_read`], and call [`Session::handle_timeout`] at
    /// [`Session::poll_timeout`]. Poll again after any of those.
    Idle,
    /// Close the connection now; [`Session::close_reason`] says why.
    Close,
}

/// Why a session ended (or is ending once its output is flushed). Log it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection.
    ClientClosed,
    /// The transport's handshake did not complete within `handshake_timeout`.
    HandshakeTimeout,
    /// No byte arrived within `first_byte_timeout` of accept.
    FirstByteTimeout,
    /// A head did not complete within `header_timeout` (answered 408).
    HeaderTimeout,
    /// The request body arrived slower than `body_min_rate` (answered 408).
    BodyTooSlow,
    /// Keep-alive idle past `keepalive_timeout`.
    IdleTimeout,
    /// The client did not read its responses within `write_stall_timeout`.
    WriteStalled,
    /// The handler did not answer within `handler_timeout` (answered 504 if it could be).
    HandlerTimeout,
    /// The session reached `max_lifetime`.
    LifetimeExceeded,
    /// The session served `max_requests`.
    MaxRequests,
    /// The request was malformed; answered with the status of this kind.
    ProtocolError(ErrorKind),
    /// The response did not allow keep-alive (`Connection: close`, HTTP/1.0, close-delimited).
    NotKeepAlive,
    /// A graceful drain closed the session.
    Drained,
    /// A 101 or CONNECT handed the connection to another protocol.
    Upgraded,
}

/// What the handler decided about the current request's body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFlow {
    /// No body left to decide about: none was sent, or it is complete.
    Done,
    /// A body follows and the handler has not said whether it wants it: not read.
    Undecided,
    /// Read and handed out as `BodyData`.
    Reading,
    /// The consumer has no room: not read until `read_body`.
    Held,
    /// The handler will not read it: its bytes are read and dropped, so the connection
    /// can persist (or it closes, if the client waits for `100 Continue`).
    Discarding,
}

/// A client session: phases, deadlines, limits, back-pressure and drain around an
/// [`http_proto::ServerConn`]. Sans-IO: the driver moves bytes and reads the clock.
///
/// ```
/// use session_core::{Event, Limits, Session, Ticket};
/// use http_proto::Response;
/// use std::sync::Arc;
/// use std::time::Instant;
///
/// let now = Instant::now();
/// let mut s = Session::new(Arc::new(Limits::default()), Ticket::detached(), now);
/// let req = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
/// s.read_buf().extend_from_slice(req);
/// s.handle_read(req.len(), now);
/// let Event::Request(head) = s.poll_event(now) else { panic!() };
/// assert_eq!(head.path(), b"/");
/// s.send_response(&Response::new(204), now)?;
/// s.send_end(now)?;
/// assert!(s.pending_output().starts_with(b"HTTP/1.1 204 No Content\r\n"));
/// let n = s.pending_output().len();
/// s.handle_written(n, now);
/// assert_eq!(s.poll_event(now), Event::BodyEnd);
/// assert_eq!(s.poll_event(now), Event::Idle);
/// assert!(s.poll_timeout().is_some(), "the keep-alive deadline");
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct Session {
    limits: Arc<Limits>,
    conn: ServerConn,
    out: BytesMut,
    ticket: Ticket,
    phase: Phase,
    created: Instant,
    /// While the transport's handshake runs: when it must be over.
    handshake_until: Option<Instant>,
    /// When HTTP could begin: accept, or the end of the handshake (the first-byte clock).
    opened: Instant,
    /// When the first byte of the head being read arrived.
    head_started: Option<Instant>,
    /// When the session last became idle (or was accepted).
    idle_since: Instant,
    /// While the handler waits for body bytes: the window's start and bytes seen in it.
    body_window: Option<(Instant, u64)>,
    /// Last write progress, or when output became pending.
    write_progress: Instant,
    /// The driver's direct body bytes wait for the socket: the write-stall deadline runs
    /// as it does for pending output.
    direct_blocked: bool,
    /// Last handler progress (dispatch or a piece of response) while a request is in flight.
    handler_progress: Instant,
    /// What happens to the current request's body.
    body_flow: BodyFlow,
    /// The client closed its sending side.
    eof: bool,
    /// Closing after a lingering read: input is read and dropped until this instant or EOF.
    linger_until: Option<Instant>,
    /// Output offsets (counted from the session's start) where queued responses end,
    /// oldest first. Two inline: only pipelining queues more.
    response_ends: SmallVec<[u64; 2]>,
    written: u64,
    requests: u32,
    in_flight: bool,
    /// After the response in flight, close (drain, lifetime, max requests).
    last_response: Option<CloseReason>,
    drain_seen: bool,
    /// Close once the output is flushed.
    closing: Option<CloseReason>,
    closed: Option<CloseReason>,
    /// The response session-core answered with itself, kept for the driver's access log
    /// (boxed: sessions that never need one pay a pointer).
    own_response: Option<Box<OwnResponse>>,
}

/// A response session-core wrote itself, without the handler: a malformed request (400,
/// 414, 431, 505, ...), a timeout (408, 504), a body too large (413). What the driver needs
/// to log it, since every request should leave an access-log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnResponse {
    /// The status sent.
    pub status: u16,
    /// Body bytes of it.
    pub body_bytes: u64,
    /// The request-line as received (at most 2 KiB, without its CRLF; what the client sent
    /// before the error when it was not one), or empty when nothing of it was there. Empty
    /// too when the answer is for the request the handler has in flight (a handler
    /// timeout): the driver has that one's line.
    pub request_line: Bytes,
    /// Whether the answer is for the request in flight at the handler.
    pub for_request_in_flight: bool,
}

impl Session {
    /// A session for a connection accepted at `now`.
    #[must_use]
    pub fn new(limits: Arc<Limits>, ticket: Ticket, now: Instant) -> Self {
        let conn = ServerConn::new(limits.http.clone());
        Self {
            limits,
            conn,
            out: BytesMut::new(),
            ticket,
            phase: Phase::ReadingHead,
            created: now,
            handshake_until: None,
            opened: now,
            head_started: None,
            idle_since: now,
            body_window: None,
            write_progress: now,
            direct_blocked: false,
            handler_progress: now,
            body_flow: BodyFlow::Done,
            eof: false,
            linger_until: None,
            response_ends: SmallVec::new(),
            written: 0,
            requests: 0,
            in_flight: false,
            last_response: None,
            drain_seen: false,
            closing: None,
            closed: None,
            own_response: None,
        }
    }

    /// A session for a connection accepted at `now` whose transport first runs a
    /// handshake (TLS): [`Phase::Handshaking`] until the driver calls
    /// [`handshake_done`](Self::handshake_done), bounded by `handshake_timeout` (past it the
    /// session closes with [`CloseReason::HandshakeTimeout`]). The first-byte deadline
    /// starts when the handshake ends. The handshake's bytes are the driver's: session-core
    /// sees only what comes after it.
    #[must_use]
    pub fn with_handshake(limits: Arc<Limits>, ticket: Ticket, now: Instant) -> Self {
        let mut session = Self::new(limits, ticket, now);
        session.handshake_until = Some(now + session.limits.handshake_timeout);
        session.update_phase(now);
        session
    }

    /// The transport's handshake completed at `now`: HTTP begins, and the first-byte
    /// deadline runs from here. Does nothing for a session without a handshake, or twice.
    pub fn handshake_done(&mut self, now: Instant) {
        if self.handshake_until.take().is_some() {
            self.opened = now;
            self.idle_since = now;
            self.update_phase(now);
        }
    }

    /// Whether the transport's handshake is still under way (see
    /// [`with_handshake`](Self::with_handshake)). Changes after
    /// [`handshake_done`](Self::handshake_done) and a read of request bytes.
    #[must_use]
    pub fn is_handshaking(&self) -> bool {
        self.handshake_until.is_some()
    }

    /// The phase now.
    #[must_use]
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Why the session closed or is closing.
    #[must_use]
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.closed.or(self.closing)
    }

    /// Requests dispatched so far.
    #[must_use]
    pub fn requests(&self) -> u32 {
        self.requests
    }

    /// Heap and inline bytes this session holds: the struct plus its buffers' capacity.
    /// An idle keep-alive session holds no buffers.
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.conn.buffer_capacity()
            + self.out.capacity()
            + if self.response_ends.spilled() {
                self.response_ends.capacity() * std::mem::size_of::<u64>()
            } else {
                0
            }
    }

    /// Whether the driver should read from the socket now. False while closing (except
    /// while lingering), after the client's EOF, under output back-pressure
    /// (`write_watermark`, `max_queued_responses`), while `max_read_ahead` received bytes
    /// wait to be parsed, and while a request body waits for the handler (not yet asked
    /// for, or held by [`hold_body`](Self::hold_body)).
    ///
    /// May change after any other call.
    #[must_use]
    pub fn wants_read(&self) -> bool {
        if self.eof || self.closed.is_some() {
            return false;
        }
        if self.linger_until.is_some() {
            return true;
        }
        self.closing.is_none()
            && self.conn.their_state() != SideState::Closed
            && !self.output_is_backed_up()
            && self.conn.buffered() < self.limits.max_read_ahead
            && !self.body_waits_for_handler()
    }

    /// A request body is on its way and the handler has not asked for it (or holds it).
    fn body_waits_for_handler(&self) -> bool {
        matches!(self.body_flow, BodyFlow::Undecided | BodyFlow::Held)
            && self.conn.their_state() == SideState::Body
    }

    /// The response session-core answered with itself, if it did (it closes the session
    /// after one). The driver logs it: see [`OwnResponse`].
    #[must_use]
    pub fn own_response(&self) -> Option<&OwnResponse> {
        self.own_response.as_deref()
    }

    /// Whether the client has closed its sending side (a read returned 0). Requests
    /// already received may still be answered; a driver whose handler's work is pointless
    /// once the client left (a gateway: nginx's `proxy_ignore_client_abort off`) may end
    /// the session instead.
    #[must_use]
    pub fn client_closed(&self) -> bool {
        self.eof
    }

    /// Whether the session is lingering before its close (RFC 9112 §9.6): its response is
    /// flushed, and what the client still sends is read and dropped, so that closing does
    /// not reset the connection under a response the client has not read yet. The driver
    /// shuts down its sending side once this turns true, then keeps reading until
    /// [`Event::Close`].
    #[must_use]
    pub fn is_lingering(&self) -> bool {
        self.linger_until.is_some() && self.closed.is_none()
    }

    /// The handler wants the current request's body: it arrives as [`Event::BodyData`]
    /// and one [`Event::BodyEnd`], read at the client's pace and timed against
    /// `body_min_rate`. Sends `100 Continue` if the client waits for it (RFC 9110
    /// §10.1.1), once. Also resumes a body held by [`hold_body`](Self::hold_body).
    ///
    /// Does nothing when the request has no body left or it was refused.
    pub fn read_body(&mut self, now: Instant) {
        if !matches!(self.body_flow, BodyFlow::Undecided | BodyFlow::Held) {
            return;
        }
        self.body_flow = BodyFlow::Reading;
        self.handler_progress = now;
        if self.conn.wants_continue() {
            self.note_output_start(now);
            // Cannot fail: the client waits, so no response has started and it is HTTP/1.1.
            let _ = self.conn.send_continue(&mut self.out);
        }
        self.update_phase(now);
    }

    /// The handler's consumer has no room: no more [`Event::BodyData`] and no socket
    /// reads for this body until [`read_body`](Self::read_body) resumes it, so memory stays
    /// bounded whatever the client sends and a slow consumer slows the upload. The body
    /// rate clock stops meanwhile (the client is not the slow one); `handler_timeout` runs.
    pub fn hold_body(&mut self, now: Instant) {
        if self.body_flow == BodyFlow::Reading {
            self.body_flow = BodyFlow::Held;
            self.body_window = None;
            self.update_phase(now);
        }
    }

    /// The handler will not read the current request's body (it answers 401, 413 or 417
    /// first, say). No `100 Continue` is sent. What arrives of the body is read and
    /// dropped so the connection can serve the next request, unless the client waits for
    /// `100 Continue`: then the body may never come, and the response closes the
    /// connection after a lingering read ([`is_lingering`](Self::is_lingering)).
    ///
    /// Sending a response without having called [`read_body`](Self::read_body) refuses
    /// the body the same way; so does ending a response before the body was read through.
    pub fn refuse_body(&mut self, now: Instant) {
        if matches!(
            self.body_flow,
            BodyFlow::Undecided | BodyFlow::Reading | BodyFlow::Held
        ) {
            self.body_flow = BodyFlow::Discarding;
            self.body_window = None;
            self.conn.read_body_after_response();
            self.update_phase(now);
        }
    }

    /// Bytes of response the output can take before it reaches `write_watermark`: a
    /// producer streaming a body writes while this is above zero, then waits for the
    /// driver to flush. Zero while closed or closing.
    ///
    /// Changes after [`handle_written`](Self::handle_written) and every `send_*` call.
    #[must_use]
    pub fn send_capacity(&self) -> usize {
        if self.closed.is_some() || self.closing.is_some() {
            return 0;
        }
        self.limits.write_watermark.saturating_sub(self.out.len())
    }

    fn output_is_backed_up(&self) -> bool {
        self.out.len() >= self.limits.write_watermark
            || self.response_ends.len() >= self.limits.max_queued_responses
    }

    /// The buffer to read into, with room for `read_chunk` bytes. Then call
    /// [`handle_read`](Self::handle_read) with the count.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        let chunk = self.limits.read_chunk;
        let buf = self.conn.read_buf();
        if buf.capacity() == 0 {
            *buf = buffers::take(chunk);
        } else if buf.capacity() - buf.len() < chunk / 4 {
            buf.reserve(chunk);
        }
        buf
    }

    /// A read found nothing (the socket said readable, the read would block): gives back
    /// the buffer [`read_buf`](Self::read_buf) reserved if it holds nothing, so an idle
    /// session keeps no memory through spurious wake-ups.
    pub fn handle_read_nothing(&mut self) {
        self.release_read_buffer();
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf); 0 means the client closed.
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        if n > 0 {
            // Request bytes come only after a handshake: it is over, whatever was said.
            self.handshake_done(now);
        }
        if n == 0 {
            self.eof = true;
            self.conn.feed_eof();
        } else if self.linger_until.is_some() {
            // Lingering: what the client still sends is read only to be dropped.
            self.conn.read_buf().clear();
        } else if self.conn.their_state() == SideState::Idle
            && self.head_started.is_none()
            && !self.in_flight
        {
            self.head_started = Some(now);
        }
        self.update_phase(now);
    }

    /// Output waiting to be written, oldest first.
    #[must_use]
    pub fn pending_output(&self) -> &[u8] {
        &self.out
    }

    /// Whether the response body in progress may be sent by the driver itself, straight
    /// from a file to the socket (`sendfile`), bypassing the output: a Content-Length body
    /// (no framing bytes around the data), not for HEAD, on a session still responding.
    /// The driver must first write all of [`pending_output`](Self::pending_output) (the
    /// head), so the bytes reach the client in order, and then report each piece with
    /// [`handle_data_sent_directly`](Self::handle_data_sent_directly).
    pub fn can_send_data_directly(&mut self) -> bool {
        self.closed.is_none()
            && self.closing.is_none()
            && self
                .conn
                .body_encoder()
                .is_some_and(|e| matches!(e.framing(), http_proto::Framing::Length(_)))
    }

    /// `n` bytes of the response body went to the socket outside the output (see
    /// [`can_send_data_directly`](Self::can_send_data_directly)): they count toward the
    /// Content-Length, as write progress and as the handler's progress. `false`, counting
    /// nothing, when direct sending is not allowed now (output still waiting, another
    /// framing) or `n` is more than the body still owes: the response is then broken and
    /// the driver closes the connection.
    #[must_use]
    pub fn handle_data_sent_directly(&mut self, n: usize, now: Instant) -> bool {
        if !self.out.is_empty() || !self.can_send_data_directly() {
            return false;
        }
        let Some(encoder) = self.conn.body_encoder() else {
            return false;
        };
        // A Content-Length prefix writes nothing; it only counts the bytes.
        if encoder.encode_prefix(n, &mut self.out).is_err() {
            return false;
        }
        if n > 0 {
            self.write_progress = now;
            self.handler_progress = now;
            self.direct_blocked = false;
        }
        self.update_phase(now);
        true
    }

    /// The driver's direct body bytes (see
    /// [`can_send_data_directly`](Self::can_send_data_directly)) wait for room in the
    /// socket: from the last write progress, the write-stall deadline applies, as it does
    /// to pending output, until bytes go out again or the response ends.
    pub fn handle_direct_send_blocked(&mut self) {
        self.direct_blocked = true;
    }

    fn write_waits(&self) -> bool {
        !self.out.is_empty() || self.direct_blocked
    }

    /// `n` bytes of [`pending_output`](Self::pending_output) were written.
    pub fn handle_written(&mut self, n: usize, now: Instant) {
        let n = n.min(self.out.len());
        self.out.advance(n);
        self.written += n as u64;
        let done = self
            .response_ends
            .iter()
            .take_while(|&&end| end <= self.written)
            .count();
        if done > 0 {
            self.response_ends.drain(..done);
        }
        if n > 0 {
            self.write_progress = now;
        }
        self.update_phase(now);
    }

    /// Hands out what the driver must do next. Call it after every read, write, send
    /// and timeout, until it returns [`Event::Idle`] or [`Event::Close`].
    pub fn poll_event(&mut self, now: Instant) -> Event {
        let event = self.next_event(now);
        self.update_phase(now);
        event
    }

    fn next_event(&mut self, now: Instant) -> Event {
        loop {
            if self.closed.is_some() {
                return Event::Close;
            }
            self.check_drain();
            if self.closed.is_some() {
                return Event::Close;
            }
            if let Some(reason) = self.closing {
                if !self.out.is_empty() {
                    return Event::Idle;
                }
                if self.linger_until.is_none() && self.should_linger() {
                    self.linger_until = Some(now + self.limits.linger_timeout);
                    self.conn.read_buf().clear();
                }
                if self.linger_until.is_some() && !self.eof {
                    return Event::Idle;
                }
                self.closed = Some(reason);
                return Event::Close;
            }
            if self.body_waits_for_handler() {
                return Event::Idle;
            }
            if self.conn.their_state() == SideState::Idle && self.output_is_backed_up() {
                // Back-pressure reaches the parser too: no new request while the client lags.
                return Event::Idle;
            }
            return match self.conn.poll_event() {
                Ok(ServerEvent::Request(head)) => {
                    self.body_flow = if head.framing().has_body() {
                        BodyFlow::Undecided
                    } else {
                        BodyFlow::Done
                    };
                    self.requests += 1;
                    self.ticket.count_request();
                    self.in_flight = true;
                    self.head_started = None;
                    self.body_window = None;
                    self.handler_progress = now;
                    if self.requests >= self.limits.max_requests {
                        self.last_response.get_or_insert(CloseReason::MaxRequests);
                    }
                    Event::Request(head)
                }
                Ok(ServerEvent::Data(data)) => {
                    if let Some((_, seen)) = &mut self.body_window {
                        *seen += data.len() as u64;
                    }
                    if self.body_flow == BodyFlow::Discarding {
                        continue; // a piece of a refused body, dropped
                    }
                    Event::BodyData(data)
                }
                Ok(ServerEvent::End(_)) => {
                    self.body_window = None;
                    let refused = self.body_flow == BodyFlow::Discarding;
                    self.body_flow = BodyFlow::Done;
                    if refused {
                        continue;
                    }
                    Event::BodyEnd
                }
                Ok(ServerEvent::NeedData) => {
                    match self.conn.their_state() {
                        // Time the client's body rate while the handler waits for it, or
                        // while a refused body is thrown away after its response went out.
                        SideState::Body
                            if self.body_flow == BodyFlow::Reading
                                || (self.body_flow == BodyFlow::Discarding && !self.in_flight) =>
                        {
                            self.body_window.get_or_insert((now, 0));
                        }
                        SideState::Idle if self.conn.is_mid_head() => {
                            self.head_started.get_or_insert(now);
                        }
                        _ => {}
                    }
                    Event::Idle
                }
                Ok(ServerEvent::Paused) => Event::Idle,
                Ok(ServerEvent::Closed) => {
                    if self.in_flight || !self.out.is_empty() {
                        self.closing = Some(CloseReason::ClientClosed);
                        Event::Idle
                    } else {
                        self.closed = Some(CloseReason::ClientClosed);
                        Event::Close
                    }
                }
                Err(e) => {
                    self.respond_or_close(e.status(), CloseReason::ProtocolError(e.kind()), now);
                    if self.closed.is_some() {
                        Event::Close
                    } else {
                        Event::Idle
                    }
                }
            };
        }
    }

    /// Writes a short error response and closes once it is flushed.
    fn respond_and_close(&mut self, status: u16, reason: CloseReason, now: Instant) {
        let mut body = [0u8; 64];
        let text = error_body(status, &mut body);
        let request_line = if self.in_flight {
            Bytes::new()
        } else {
            let buf = self.conn.read_buf();
            let line = buf[..].split(|&b| b == b'\n').next().unwrap_or_default();
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            Bytes::copy_from_slice(&line[..line.len().min(2048)])
        };
        self.own_response = Some(Box::new(OwnResponse {
            status,
            body_bytes: text.len() as u64,
            request_line,
            for_request_in_flight: self.in_flight,
        }));
        let fields: [(&[u8], &[u8]); 1] = [(b"content-type", b"text/plain; charset=utf-8")];
        let response = Response::new(status)
            .headers(&fields)
            .body_len(text.len() as u64);
        let sent = self.conn.send_response(&response, &mut self.out).is_ok()
            && self.conn.send_data(text, &mut self.out).is_ok()
            && self.conn.send_end(&[], &mut self.out).is_ok();
        self.in_flight = false;
        if sent {
            self.write_progress = now;
            self.closing = Some(reason);
        } else {
            self.closed = Some(reason);
        }
    }

    /// Writes the response head for the request in flight (or, with none, for an error the
    /// driver detected). Adds `Connection: close` when the session will end after it.
    pub fn send_response(
        &mut self,
        response: &Response<'_>,
        now: Instant,
    ) -> Result<(), http_proto::Error> {
        if matches!(self.body_flow, BodyFlow::Undecided) {
            self.refuse_body(now);
        } else if matches!(self.body_flow, BodyFlow::Reading | BodyFlow::Held) {
            // The handler answers while it reads the body (streaming both ways).
            self.conn.read_body_after_response();
        }
        self.note_output_start(now);
        self.handler_progress = now;
        if self.out.capacity() == 0 {
            // Room for a typical head and small body at once, instead of regrowing.
            self.out = buffers::take(RESPONSE_BUFFER);
        }
        let result = if self.last_response.is_some() {
            let mut fields: Vec<(&[u8], &[u8])> = response.headers.to_vec();
            fields.push((b"connection", b"close"));
            self.conn
                .send_response(&response.headers(&fields), &mut self.out)
        } else {
            self.conn.send_response(response, &mut self.out)
        };
        self.update_phase(now);
        result
    }

    /// Starts a response the handler writes whole, head included, with
    /// [`send_data`](Self::send_data) and [`send_end`](Self::send_end) (a CGI NPH
    /// script's output; see [`http_proto::ServerConn::send_raw_response`]). The session
    /// closes after it.
    pub fn send_raw_response(&mut self, now: Instant) -> Result<(), http_proto::Error> {
        if matches!(self.body_flow, BodyFlow::Undecided) {
            self.refuse_body(now);
        }
        self.note_output_start(now);
        self.handler_progress = now;
        let result = self.conn.send_raw_response();
        self.update_phase(now);
        result
    }

    /// Appends response body bytes.
    pub fn send_data(&mut self, data: &[u8], now: Instant) -> Result<(), http_proto::Error> {
        self.note_output_start(now);
        self.handler_progress = now;
        let result = self.conn.send_data(data, &mut self.out);
        self.update_phase(now);
        result
    }

    /// Ends the response. The next pipelined request, if any, is ready to poll.
    pub fn send_end(&mut self, now: Instant) -> Result<(), http_proto::Error> {
        self.send_end_with_trailers(&[], now)
    }

    /// Ends the response with trailer fields. They go out only where the framing has room
    /// for them (a chunked body); with any other framing they are dropped, as RFC 9110
    /// §6.5 lets a sender do with fields it cannot send.
    pub fn send_end_with_trailers(
        &mut self,
        trailers: &[(&[u8], &[u8])],
        now: Instant,
    ) -> Result<(), http_proto::Error> {
        self.note_output_start(now);
        self.conn.send_end(trailers, &mut self.out)?;
        self.in_flight = false;
        self.direct_blocked = false;
        // What the handler did not read of the body is read and dropped from now on.
        self.refuse_body(now);
        self.response_ends
            .push(self.written + self.out.len() as u64);
        if self.conn.is_upgraded() {
            self.closing = Some(CloseReason::Upgraded);
        } else if self.conn.must_close() {
            self.closing = Some(self.last_response.unwrap_or(CloseReason::NotKeepAlive));
        }
        self.idle_since = now;
        self.update_phase(now);
        Ok(())
    }

    /// Begins a graceful drain of this session (the registry's drain does the same).
    pub fn begin_drain(&mut self, now: Instant) {
        self.drain_seen = false;
        self.last_response.get_or_insert(CloseReason::Drained);
        self.apply_drain();
        self.update_phase(now);
    }

    fn check_drain(&mut self) {
        if !self.drain_seen && self.ticket.registry().is_draining() {
            self.last_response.get_or_insert(CloseReason::Drained);
            self.apply_drain();
        }
    }

    /// Idle sessions close at once; a dispatched request finishes with `Connection: close`.
    /// A head still arriving is not in flight: it is closed too.
    fn apply_drain(&mut self) {
        self.drain_seen = true;
        if !self.in_flight && self.closing.is_none() && self.closed.is_none() {
            if self.out.is_empty() {
                self.closed = Some(CloseReason::Drained);
            } else {
                self.closing = Some(CloseReason::Drained);
            }
        }
    }

    /// The next instant [`handle_timeout`](Self::handle_timeout) must be called, or `None`
    /// once closed. May change after any other call.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed.is_some() {
            return None;
        }
        let l = &self.limits;
        let mut next = self.created + l.max_lifetime.unwrap_or(std::time::Duration::MAX / 4);
        let mut consider = |t: Instant| next = next.min(t);
        if self.write_waits() {
            consider(self.write_progress + l.write_stall_timeout);
        }
        if let (Some((start, _)), true) = (self.body_window, l.body_min_rate > 0) {
            consider(start + l.body_rate_window);
        }
        if let Some(until) = self.handshake_until {
            consider(until);
        } else if let Some(until) = self.linger_until {
            consider(until);
        } else if self.in_flight {
            consider(self.handler_progress + l.handler_timeout);
        } else if self.closing.is_none() {
            consider(self.read_deadline());
        }
        Some(next)
    }

    /// The deadline for the client's next bytes when no request is in flight.
    fn read_deadline(&self) -> Instant {
        let l = &self.limits;
        match self.head_started {
            Some(start) => start + l.header_timeout,
            None if self.requests == 0 => self.opened + l.first_byte_timeout,
            None => self.idle_since + l.keepalive_timeout,
        }
    }

    /// Acts on every deadline that has passed at `now`. Then poll for events.
    ///
    /// Harmless to call early, or at any time: a deadline that has not passed does
    /// nothing, so a driver may call it on every wake-up (a lazily re-armed timer fires
    /// before the real deadline) without changing what the session does.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed.is_some() {
            return;
        }
        self.check_drain();
        self.expire(now);
        self.update_phase(now);
    }

    fn expire(&mut self, now: Instant) {
        let l = Arc::clone(&self.limits);
        if l.max_lifetime.is_some_and(|max| now >= self.created + max)
            && self.last_response.is_none()
        {
            self.last_response = Some(CloseReason::LifetimeExceeded);
            if !self.in_flight {
                self.closed = Some(CloseReason::LifetimeExceeded);
                return;
            }
        }
        if self.write_waits() && now >= self.write_progress + l.write_stall_timeout {
            self.closed = Some(CloseReason::WriteStalled);
            return;
        }
        if let Some(until) = self.handshake_until {
            if now >= until {
                // Nothing to answer: no HTTP has been spoken (a stalled head's 408 cannot be).
                self.closed = Some(CloseReason::HandshakeTimeout);
            }
            return;
        }
        if let Some(until) = self.linger_until {
            if now >= until {
                self.closed = self.closing;
            }
            return;
        }
        if self.closing.is_some() {
            return;
        }
        if let Some((start, seen)) = self.body_window
            && l.body_min_rate > 0
            && now >= start + l.body_rate_window
        {
            let needed = l
                .body_min_rate
                .saturating_mul(l.body_rate_window.as_secs().max(1));
            if seen < needed {
                self.respond_or_close(408, CloseReason::BodyTooSlow, now);
                return;
            }
            self.body_window = Some((now, 0));
        }
        if self.in_flight {
            if now >= self.handler_progress + l.handler_timeout {
                self.respond_or_close(504, CloseReason::HandlerTimeout, now);
            }
            return;
        }
        if self.conn.their_state() == SideState::Body {
            // A refused body still arriving after its response: the body rate bounds it.
            return;
        }
        if now >= self.read_deadline() {
            match self.head_started {
                // RFC 9110 §15.5.9: 408 when a request was started, silent close when idle.
                Some(_) => self.respond_or_close(408, CloseReason::HeaderTimeout, now),
                None if self.requests == 0 => self.closed = Some(CloseReason::FirstByteTimeout),
                None => self.closed = Some(CloseReason::IdleTimeout),
            }
        }
    }

    /// Whether closing should linger (RFC 9112 §9.6): the client may still be sending, a
    /// body nobody read or more of a request we refused, and closing with unread input
    /// makes the kernel reset the connection, which can destroy the response in flight.
    fn should_linger(&self) -> bool {
        !self.eof
            && !self.limits.linger_timeout.is_zero()
            && (self.conn.their_state() == SideState::Body
                || matches!(
                    self.closing,
                    Some(
                        CloseReason::ProtocolError(_)
                            | CloseReason::BodyTooSlow
                            | CloseReason::HeaderTimeout
                    )
                ))
    }

    /// Output about to start on an empty buffer: the write-stall clock starts now.
    fn note_output_start(&mut self, now: Instant) {
        if self.out.is_empty() {
            self.write_progress = now;
        }
    }

    fn respond_or_close(&mut self, status: u16, reason: CloseReason, now: Instant) {
        if self.conn.can_respond() {
            self.respond_and_close(status, reason, now);
        } else {
            self.closed = Some(reason);
        }
    }

    /// Gives the receive buffer back to the thread's stack when it is empty.
    fn release_read_buffer(&mut self) {
        if let Some(buf) = self.conn.release_buffer() {
            buffers::give(buf);
        }
    }

    /// Gives the receive and output buffers back to the thread's stack when they are empty.
    fn release_buffers(&mut self) {
        self.release_read_buffer();
        if self.out.is_empty() {
            buffers::give(std::mem::take(&mut self.out));
        }
    }

    fn update_phase(&mut self, now: Instant) {
        let phase = if self.closed.is_some() {
            Phase::Closed
        } else if self.handshake_until.is_some() {
            Phase::Handshaking
        } else if self.closing.is_some() || (self.last_response.is_some() && self.drain_seen) {
            Phase::Draining
        } else if !self.out.is_empty() || self.conn.our_state() == SideState::Body {
            Phase::Writing
        } else {
            match self.conn.their_state() {
                SideState::Body if self.body_window.is_some() => Phase::ReadingBody,
                SideState::Body | SideState::Done => Phase::Handling,
                _ if self.in_flight => Phase::Handling,
                _ if self.head_started.is_some()
                    || self.requests == 0
                    || self.conn.buffered() > 0 =>
                {
                    Phase::ReadingHead
                }
                _ => Phase::Idle,
            }
        };
        if phase == Phase::Idle && self.phase != Phase::Idle {
            // C10K memory discipline: an idle session keeps no buffers.
            self.release_buffers();
            self.response_ends = SmallVec::new();
            self.idle_since = now;
        }
        self.phase = phase;
        self.ticket.set_phase(phase);
    }
}

/// `"400 Bad Request\n"` into `buf`.
fn error_body(status: u16, buf: &mut [u8; 64]) -> &[u8] {
    let reason = http_proto::reason_phrase(status).as_bytes();
    let digits = [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ];
    let mut len = 0;
    for part in [&digits[..], b" ", reason, b"\n"] {
        let n = part.len().min(buf.len() - len);
        buf[len..len + n].copy_from_slice(&part[..n]);
        len += n;
    }
    &buf[..len]
}
