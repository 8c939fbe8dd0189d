//! The server role: requests in, responses out (RFC 9112 §9 for persistence).

use super::SideState;
use crate::body::{BodyDecoder, BodyEncoder, BodyEvent, SEND_DATA, SEND_END};
use crate::error::{Error, ErrorKind};
use crate::framing::Framing;
use crate::head::{Headers, Method, RequestHead, RequestParser, Version};
use crate::limits::Limits;
use crate::write::{
    Response, SEND_INFORMATIONAL, SEND_RESPONSE, put_decimal, write_fields, write_status_line,
};
use bytes::{BufMut, Bytes, BytesMut};

/// What the client sent, one piece at a time.
// The head is the common event: boxing it would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A request head. Its body follows as [`Data`](Self::Data) events and one
    /// [`End`](Self::End), also when it has no body.
    ///
    /// Boxed as the parser built it: the event stays small, and the head is never copied.
    Request(Box<RequestHead>),
    /// A piece of the request body.
    Data(Bytes),
    /// The request is complete; chunked bodies may carry trailers.
    End(Option<Box<Headers>>),
    /// Every buffered byte is used: read more from the socket, then poll again.
    NeedData,
    /// The request is complete and the next one (if any) waits until the response to this
    /// one has been sent: responses go out in request order. Poll again after `send_end`.
    Paused,
    /// The client closed the connection between requests.
    Closed,
}

/// A server-side HTTP/1 connection.
///
/// Bytes from the socket go in with [`feed`](Self::feed) (or straight into
/// [`read_buf`](Self::read_buf)); [`poll_event`](Self::poll_event) hands out what they mean.
/// Responses go out with [`send_response`](Self::send_response), [`send_data`](Self::send_data)
/// and [`send_end`](Self::send_end), which append to the caller's output buffer.
/// Keep-alive and pipelining follow RFC 9112 §9.3: after a response ends, the next
/// request is parsed from what is already buffered; [`must_close`](Self::must_close)
/// says when the driver should close instead, once its output is flushed.
///
/// ```
/// use bytes::BytesMut;
/// use http_proto::{Limits, Response, ServerConn, ServerEvent};
///
/// let mut conn = ServerConn::new(Limits::default());
/// conn.feed(b"GET /hello HTTP/1.1\r\nHost: a\r\n\r\n");
/// let ServerEvent::Request(req) = conn.poll_event()? else { panic!() };
/// assert_eq!(req.path(), b"/hello");
/// assert_eq!(conn.poll_event()?, ServerEvent::End(None));
///
/// let mut out = BytesMut::new();
/// conn.send_response(&Response::new(200).body_len(2), &mut out)?;
/// conn.send_data(b"hi", &mut out)?;
/// conn.send_end(&[], &mut out)?;
/// assert_eq!(&out[..], b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
/// assert!(!conn.must_close());
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct ServerConn {
    limits: Limits,
    buf: BytesMut,
    parser: RequestParser,
    their: Their,
    our: Our,
    cycle: Cycle,
    eof: bool,
    error: Option<Error>,
}

#[derive(Debug)]
enum Their {
    Idle,
    Body(BodyDecoder),
    Done,
    Closed,
}

#[derive(Debug)]
enum Our {
    Idle,
    Body { encoder: BodyEncoder, discard: bool },
    Done,
    Upgraded,
    Closed,
}

/// What the current request decided about its response.
#[derive(Debug, Clone, Copy)]
struct Cycle {
    started: bool,
    method: Method,
    version: Version,
    keep_alive: bool,
    wants_upgrade: bool,
    waiting_continue: bool,
    /// The caller reads the rest of the body after the response starts.
    body_after_response: bool,
}

impl Cycle {
    const NONE: Self = Self {
        started: false,
        method: Method::Get,
        version: Version::Http11,
        keep_alive: false,
        wants_upgrade: false,
        waiting_continue: false,
        body_after_response: false,
    };
}

impl ServerConn {
    /// A connection with nothing received yet.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            parser: RequestParser::new(),
            their: Their::Idle,
            our: Our::Idle,
            cycle: Cycle::NONE,
            eof: false,
            error: None,
        }
    }

    /// The limits in force.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Appends bytes received from the client.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, for reading from the socket straight into it (no copy).
    /// Poll after every read.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// Bytes received and not yet turned into events.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Gives up the receive buffer and frees the parser's memory when nothing is buffered,
    /// so an idle keep-alive connection costs no buffer. The emptied buffer is returned for
    /// the driver to reuse or drop (`None` when bytes are buffered and nothing changed);
    /// [`read_buf`](Self::read_buf) is then empty with no room until the driver gives it some.
    pub fn release_buffer(&mut self) -> Option<BytesMut> {
        if !self.buf.is_empty() {
            return None;
        }
        self.parser.release();
        Some(std::mem::take(&mut self.buf))
    }

    /// Heap bytes held by the receive buffer and the head parser.
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        self.buf.capacity() + self.parser.heap_bytes()
    }

    /// The client closed its sending side (a read returned 0). Poll once more.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// The client's side of the cycle.
    #[must_use]
    pub fn their_state(&self) -> SideState {
        match self.their {
            Their::Idle => SideState::Idle,
            Their::Body(_) => SideState::Body,
            Their::Done => SideState::Done,
            Their::Closed => SideState::Closed,
        }
    }

    /// Our side of the cycle.
    #[must_use]
    pub fn our_state(&self) -> SideState {
        match self.our {
            Our::Idle => SideState::Idle,
            Our::Body { .. } => SideState::Body,
            Our::Done => SideState::Done,
            Our::Upgraded => SideState::Upgraded,
            Our::Closed => SideState::Closed,
        }
    }

    /// Whether part of a request head has arrived and the rest has not.
    #[must_use]
    pub fn is_mid_head(&self) -> bool {
        matches!(self.their, Their::Idle) && (self.parser.is_mid_head() || !self.buf.is_empty())
    }

    /// The error that ended the connection, if one did.
    #[must_use]
    pub fn error(&self) -> Option<&Error> {
        self.error.as_ref()
    }

    /// Whether a response can still be sent: no response has started for the current
    /// request (or for the error that ended the connection).
    #[must_use]
    pub fn can_respond(&self) -> bool {
        matches!(self.our, Our::Idle)
    }

    /// Whether the connection ends once the output written so far is flushed: the response
    /// went out without keep-alive, or an error ended the request side. False after an
    /// upgrade: the socket then belongs to the new protocol (see [`take_upgraded`](Self::take_upgraded)).
    #[must_use]
    pub fn must_close(&self) -> bool {
        matches!(self.our, Our::Closed)
            || (matches!(self.their, Their::Closed) && !matches!(self.our, Our::Body { .. }))
    }

    /// Whether the client waits for `100 Continue` before sending the body: it asked, no body
    /// byte has arrived, and no response has started. Call [`send_continue`](Self::send_continue)
    /// when you are ready to read the body (RFC 9110 §10.1.1).
    #[must_use]
    pub fn wants_continue(&self) -> bool {
        self.cycle.waiting_continue
            && matches!(self.our, Our::Idle)
            && matches!(self.their, Their::Body(_))
    }

    /// Hands out the next event from what has been received.
    ///
    /// Call it after each [`feed`](Self::feed)/read, and again after
    /// [`send_end`](Self::send_end) when it returned [`ServerEvent::Paused`]. An `Err`
    /// ends the request side for good: answer with `err.status()` if
    /// [`can_respond`](Self::can_respond), then close.
    pub fn poll_event(&mut self) -> Result<ServerEvent, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let result = self.next_event();
        if let Err(e) = result {
            self.error = Some(e);
            self.their = Their::Closed;
            self.cycle.keep_alive = false;
            if matches!(self.our, Our::Done) {
                self.our = Our::Closed;
            }
        }
        result
    }

    fn next_event(&mut self) -> Result<ServerEvent, Error> {
        match &mut self.their {
            Their::Closed => Ok(ServerEvent::Closed),
            Their::Done => Ok(ServerEvent::Paused),
            Their::Idle => {
                if !matches!(self.our, Our::Idle) {
                    // A response that did not belong to a request (408, 503) ends the connection.
                    return Ok(ServerEvent::Paused);
                }
                match self.parser.parse(&mut self.buf, &self.limits)? {
                    Some(head) => self.start_cycle(head),
                    // Empty lines before EOF are not a request (RFC 9112 §2.2 ignores them).
                    None if self.eof
                        && !self.parser.is_mid_head()
                        && self.buf.iter().all(|&b| matches!(b, b'\r' | b'\n')) =>
                    {
                        self.their = Their::Closed;
                        Ok(ServerEvent::Closed)
                    }
                    None if self.eof => {
                        Err(Error::new(ErrorKind::IncompleteMessage, self.buf.len()))
                    }
                    None => Ok(ServerEvent::NeedData),
                }
            }
            Their::Body(decoder) => {
                let event = match decoder.decode(&mut self.buf, &self.limits)? {
                    BodyEvent::NeedData if self.eof => decoder.decode_eof()?,
                    event => event,
                };
                match event {
                    BodyEvent::Data(data) => {
                        self.cycle.waiting_continue = false;
                        Ok(ServerEvent::Data(data))
                    }
                    BodyEvent::End(trailers) => {
                        self.their = Their::Done;
                        self.cycle.waiting_continue = false;
                        self.next_cycle();
                        Ok(ServerEvent::End(trailers))
                    }
                    BodyEvent::NeedData => Ok(ServerEvent::NeedData),
                }
            }
        }
    }

    fn start_cycle(&mut self, head: Box<RequestHead>) -> Result<ServerEvent, Error> {
        let framing = head.framing();
        if let Framing::Length(n) = framing
            && n > self.limits.max_body_len
        {
            return Err(Error::new(ErrorKind::BodyTooLarge, 0));
        }
        self.cycle = Cycle {
            started: true,
            method: head.method(),
            version: head.version(),
            keep_alive: head.keep_alive(),
            wants_upgrade: head.wants_upgrade(),
            waiting_continue: head.expects_continue(),
            body_after_response: false,
        };
        // Bodiless requests get a decoder too: it hands out their End on the next poll.
        self.their = Their::Body(BodyDecoder::new(framing));
        Ok(ServerEvent::Request(head))
    }

    /// Sends `100 Continue` (or another 1xx other than 101) before the final response.
    pub fn send_informational(
        &mut self,
        status: u16,
        headers: &[(&[u8], &[u8])],
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        if !(100..200).contains(&status) || status == 101 {
            return Err(Error::local(
                "send_informational: the status is not a 1xx other than 101 (101 is sent with send_response)",
            ));
        }
        if !matches!(self.our, Our::Idle) {
            return Err(Error::local(
                "send_informational: the final response was already started",
            ));
        }
        // RFC 9110 §15.2: a server MUST NOT send a 1xx to an HTTP/1.0 client.
        if self.cycle.version == Version::Http10 {
            return Err(Error::local(
                "send_informational: an HTTP/1.0 client gets no 1xx response",
            ));
        }
        let start = out.len();
        if let Err(e) = write_status_line(status, None, out, &SEND_INFORMATIONAL)
            .and_then(|()| write_fields(headers, out, &SEND_INFORMATIONAL))
        {
            out.truncate(start);
            return Err(e);
        }
        out.put_slice(b"\r\n");
        if status == 100 {
            self.cycle.waiting_continue = false;
        }
        Ok(())
    }

    /// Promises that the rest of the current request body will be read (handed on or
    /// discarded) even if the response starts first, so that response may keep the
    /// connection alive: a handler that streams its answer while the upload arrives, or
    /// one that refuses the body and lets the caller throw it away (RFC 9110 §10.1.1: a
    /// server answering before the content SHOULD say whether it closes or reads on).
    ///
    /// Returns `false`, and promises nothing, while the client waits for `100 Continue`
    /// (see [`wants_continue`](Self::wants_continue)): it may never send the body, so the
    /// bytes after the response could be either the body or the next request, and a
    /// response sent now closes the connection. Call it before
    /// [`send_response`](Self::send_response); the promise lasts for this request.
    pub fn read_body_after_response(&mut self) -> bool {
        if self.wants_continue() {
            return false;
        }
        self.cycle.body_after_response = true;
        true
    }

    /// Sends `100 Continue` if the client waits for it; does nothing otherwise.
    pub fn send_continue(&mut self, out: &mut BytesMut) -> Result<(), Error> {
        if self.wants_continue() {
            self.send_informational(100, &[], out)
        } else {
            Ok(())
        }
    }

    /// Writes the response head for the current request, choosing the framing from
    /// `response.body_len`, the request method and the status (RFC 9112 §6.3):
    /// HEAD, 1xx, 204 and 304 responses carry no body, and data sent for a HEAD response
    /// is dropped. A 101, or a 2xx to CONNECT, hands the connection over after the head.
    ///
    /// Also allowed with no request at all (a 408 on timeout, a 503 at admission) and after
    /// a request error; both close the connection once sent.
    pub fn send_response(
        &mut self,
        response: &Response<'_>,
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        if !matches!(self.our, Our::Idle) {
            return Err(Error::local(match self.our {
                Our::Upgraded => {
                    "send_response: the connection was handed over (upgrade or tunnel)"
                }
                Our::Closed => "send_response: the connection is closed",
                _ => "send_response: a response was already started for this request",
            }));
        }
        let status = response.status;
        let cycle = self.cycle;
        let upgrade = (status == 101 && cycle.wants_upgrade && cycle.method != Method::Connect)
            || (cycle.method == Method::Connect && (200..300).contains(&status));
        if (100..200).contains(&status) && status != 101 {
            return Err(Error::local(
                "send_response: 1xx is sent with send_informational",
            ));
        }
        if status == 101 && !upgrade {
            return Err(Error::local(
                "send_response: 101 to a request that did not ask to upgrade",
            ));
        }
        if upgrade && !matches!(self.their, Their::Done) && !self.their_body_is_empty() {
            return Err(Error::local(
                "send_response: switching protocols before the request body was read",
            ));
        }
        // RFC 9110 §15.2.2: a 101 names the protocol it switches to.
        if status == 101
            && !response
                .headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(b"upgrade"))
        {
            return Err(Error::local("send_response: 101 without an Upgrade field"));
        }
        // The HEAD rule is applied below: its head still says what the body would be.
        let bodiless = upgrade || !crate::framing::response_has_body(false, false, status);
        let head = cycle.method == Method::Head;
        let mut keep_alive = cycle.started && cycle.keep_alive && self.error.is_none();

        // A refused field (header injection, a framing field) leaves `out` as it was.
        let start = out.len();
        let written = write_status_line(status, response.reason, out, &SEND_RESPONSE)
            .and_then(|()| write_fields(response.headers, out, &SEND_RESPONSE));
        let caller_close = match written {
            Ok(close) => close,
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        };
        // Formatted by `DateCache` itself: nothing to check.
        if let Some(date) = response.date {
            out.put_slice(b"date: ");
            out.put_slice(date.as_bytes());
            out.put_slice(b"\r\n");
        }
        keep_alive &= !caller_close;
        let framing = if bodiless {
            Framing::None
        } else {
            match response.body_len {
                Some(n) => {
                    out.put_slice(b"content-length: ");
                    put_decimal(n, out);
                    out.put_slice(b"\r\n");
                    Framing::Length(n)
                }
                None if head => Framing::None,
                None if cycle.version == Version::Http11 => {
                    out.put_slice(b"transfer-encoding: chunked\r\n");
                    Framing::Chunked
                }
                None => {
                    keep_alive = false;
                    Framing::CloseDelimited
                }
            }
        };
        // A response that goes out before the request body was read leaves the rest of
        // that body on the wire: close rather than parse it as a request, unless the
        // caller promised to read it through (`read_body_after_response`).
        if !matches!(self.their, Their::Done)
            && !self.their_body_is_empty()
            && !self.cycle.body_after_response
        {
            keep_alive = false;
        }
        if upgrade {
            out.put_slice(b"\r\n");
            self.our = Our::Upgraded;
            return Ok(());
        }
        if !keep_alive {
            // The caller's own `Connection: close` already says it.
            if !caller_close {
                out.put_slice(b"connection: close\r\n");
            }
        } else if cycle.version == Version::Http10 {
            out.put_slice(b"connection: keep-alive\r\n");
        }
        out.put_slice(b"\r\n");
        self.cycle.keep_alive = keep_alive;
        self.cycle.waiting_continue = false;
        let discard = head || bodiless;
        let encoder = BodyEncoder::new(if discard { Framing::None } else { framing });
        self.our = Our::Body { encoder, discard };
        Ok(())
    }

    fn their_body_is_empty(&self) -> bool {
        matches!(&self.their, Their::Body(d) if d.is_done())
    }

    /// Starts a response the caller writes whole, status line and head included, with
    /// [`send_data`](Self::send_data), then [`send_end`](Self::send_end): the output of a
    /// CGI "non-parsed header" script (RFC 3875 §5), passed through as it is. Nothing is
    /// checked or added, so its framing is unknown: the connection closes after it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use http_proto::{Limits, ServerConn, ServerEvent};
    ///
    /// let mut conn = ServerConn::new(Limits::default());
    /// conn.feed(b"GET /nph-x HTTP/1.1\r\nHost: a\r\n\r\n");
    /// assert!(matches!(conn.poll_event()?, ServerEvent::Request(_)));
    /// let mut out = BytesMut::new();
    /// conn.send_raw_response()?;
    /// conn.send_data(b"HTTP/1.1 200 OK\r\n\r\nraw", &mut out)?;
    /// conn.send_end(&[], &mut out)?;
    /// assert_eq!(&out[..], b"HTTP/1.1 200 OK\r\n\r\nraw");
    /// assert!(conn.must_close());
    /// # Ok::<(), http_proto::Error>(())
    /// ```
    pub fn send_raw_response(&mut self) -> Result<(), Error> {
        if !matches!(self.our, Our::Idle) || !self.cycle.started {
            return Err(Error::local(
                "send_raw_response: a response was already started, or no request is in flight",
            ));
        }
        self.cycle.keep_alive = false;
        self.cycle.waiting_continue = false;
        self.our = Our::Body {
            encoder: BodyEncoder::new(Framing::CloseDelimited),
            discard: false,
        };
        Ok(())
    }

    /// Appends response body bytes (dropped for HEAD responses; an error for 204/304).
    pub fn send_data(&mut self, data: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        match &mut self.our {
            Our::Body { discard: true, .. } if self.cycle.method == Method::Head => Ok(()),
            Our::Body { encoder, .. } => encoder.encode_with(data, out, &SEND_DATA),
            _ => Err(Error::local("send_data: no response body in progress")),
        }
    }

    /// The body encoder of the response in progress, to write body bytes without copying
    /// them into `out` ([`BodyEncoder::encode_prefix`], then the bytes, then
    /// [`BodyEncoder::encode_suffix`]). `None` outside a response body or for HEAD.
    pub fn body_encoder(&mut self) -> Option<&mut BodyEncoder> {
        match &mut self.our {
            Our::Body {
                encoder,
                discard: false,
            } => Some(encoder),
            _ => None,
        }
    }

    /// Ends the response (with trailers, for chunked). Then, if the connection persists and
    /// the request is complete, the next pipelined request is ready to poll.
    pub fn send_end(
        &mut self,
        trailers: &[(&[u8], &[u8])],
        out: &mut BytesMut,
    ) -> Result<(), Error> {
        let Our::Body { encoder, .. } = &mut self.our else {
            return Err(Error::local("send_end: no response body in progress"));
        };
        encoder.finish_with(trailers, out, &SEND_END)?;
        let close_delimited = encoder.framing() == Framing::CloseDelimited;
        self.our = if self.cycle.keep_alive && !close_delimited {
            Our::Done
        } else {
            Our::Closed
        };
        self.next_cycle();
        Ok(())
    }

    /// Starts the next cycle when both sides are done and the connection persists.
    fn next_cycle(&mut self) {
        if matches!(self.their, Their::Done)
            && matches!(self.our, Our::Done)
            && self.cycle.keep_alive
        {
            self.their = Their::Idle;
            self.our = Our::Idle;
            self.cycle = Cycle::NONE;
        }
    }

    /// Whether a 101 or a CONNECT 2xx handed the connection to another protocol.
    #[must_use]
    pub fn is_upgraded(&self) -> bool {
        matches!(self.our, Our::Upgraded)
    }

    /// After an upgrade, the bytes the client sent past the request: they belong to the
    /// new protocol. `None` if the connection was not upgraded.
    pub fn take_upgraded(&mut self) -> Option<BytesMut> {
        self.is_upgraded().then(|| std::mem::take(&mut self.buf))
    }
}
