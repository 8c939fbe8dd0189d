//! The client role: requests out, responses in, matched in order.

use super::SideState;
use crate::body::{BodyDecoder, BodyEncoder, BodyEvent, SEND_DATA, SEND_END};
use crate::error::{Error, ErrorKind};
use crate::framing::{Framing, response_framing};
use crate::head::{Headers, Method, ResponseHead, ResponseParser, is_field_value};
use crate::limits::Limits;
use crate::write::{Request, SEND_REQUEST, put_decimal, write_fields};
use bytes::{BufMut, Bytes, BytesMut};
use std::collections::VecDeque;

/// What the server sent, one piece at a time.
// The head is the common event: boxing it would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// A 1xx response other than 101; the final response is still to come.
    Informational(ResponseHead),
    /// The final response head for the oldest outstanding request. Its body follows as
    /// [`Data`](Self::Data) events and one [`End`](Self::End).
    Response(ResponseHead),
    /// A piece of the response body.
    Data(Bytes),
    /// The response is complete.
    End(Option<Box<Headers>>),
    /// Read more from the socket, then poll again.
    NeedData,
    /// The server closed the connection, or the last response did not allow another.
    Closed,
}

/// A request sent whose response has not ended.
#[derive(Debug, Clone, Copy)]
struct Outstanding {
    method: Method,
    /// The request carried `Upgrade`, so a 101 may answer it.
    asked_upgrade: bool,
}

/// A client-side HTTP/1 connection: send requests (pipelined if you like), poll responses.
///
/// ```
/// use bytes::BytesMut;
/// use http_proto::{ClientConn, ClientEvent, Limits, Request};
///
/// let mut conn = ClientConn::new(Limits::default());
/// let mut out = BytesMut::new();
/// conn.send_request(&Request::new(b"GET", b"/", &[(b"host", b"example.com")]), &mut out)?;
/// conn.send_end(&mut out)?;
/// assert_eq!(&out[..], b"GET / HTTP/1.1\r\nhost: example.com\r\n\r\n");
///
/// conn.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
/// let ClientEvent::Response(resp) = conn.poll_event()? else { panic!() };
/// assert_eq!(resp.status(), 200);
/// assert_eq!(conn.poll_event()?, ClientEvent::Data("hi".into()));
/// assert_eq!(conn.poll_event()?, ClientEvent::End(None));
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug)]
pub struct ClientConn {
    limits: Limits,
    buf: BytesMut,
    parser: ResponseParser,
    /// Methods of requests sent whose responses have not ended, oldest first.
    outstanding: VecDeque<Outstanding>,
    sending: Option<BodyEncoder>,
    receiving: Option<BodyDecoder>,
    keep_alive: bool,
    upgraded: bool,
    closed: bool,
    eof: bool,
    error: Option<Error>,
}

impl ClientConn {
    /// A fresh connection.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            parser: ResponseParser::new(),
            outstanding: VecDeque::new(),
            sending: None,
            receiving: None,
            keep_alive: true,
            upgraded: false,
            closed: false,
            eof: false,
            error: None,
        }
    }

    /// Appends bytes received from the server.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The receive buffer, to read into directly.
    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The server closed its side.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Our side: `Body` while a request body is being sent, `Closed` once no request may follow.
    #[must_use]
    pub fn our_state(&self) -> SideState {
        match (&self.sending, self.closed, self.upgraded) {
            (_, _, true) => SideState::Upgraded,
            (_, true, _) => SideState::Closed,
            (Some(_), ..) => SideState::Body,
            (None, ..) => SideState::Idle,
        }
    }

    /// Requests sent whose responses have not ended.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// Whether another request may be sent on this connection.
    #[must_use]
    pub fn can_send(&self) -> bool {
        self.sending.is_none()
            && !self.closed
            && !self.upgraded
            && self.keep_alive
            && self.error.is_none()
    }

    /// Why [`can_send`](Self::can_send) says no, in the words of `send_request`.
    fn cannot_send_reason(&self) -> &'static str {
        if self.sending.is_some() {
            "send_request: the previous request's body has not ended (send_end)"
        } else if self.upgraded {
            "send_request: the connection was handed over (upgrade or tunnel)"
        } else if self.error.is_some() {
            "send_request: the connection failed on an earlier error"
        } else {
            "send_request: the connection is closed or does not persist (Connection: close)"
        }
    }

    /// Writes a request head; the body follows with [`send_data`](Self::send_data) and
    /// [`send_end`](Self::send_end). Requests may be sent before earlier responses arrive.
    pub fn send_request(&mut self, request: &Request<'_>, out: &mut BytesMut) -> Result<(), Error> {
        if !self.can_send() {
            return Err(Error::local(self.cannot_send_reason()));
        }
        if !crate::head::is_field_name(request.method) {
            return Err(Error::local("send_request: the method is not a token"));
        }
        if request.target.is_empty()
            || crate::head::scan::target_len(request.target) != request.target.len()
            || !is_field_value(request.target)
        {
            return Err(Error::local(
                "send_request: the request-target is empty or holds a byte outside visible ASCII",
            ));
        }
        // RFC 9112 §3.2: a client MUST send Host in every HTTP/1.1 request.
        if !request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"host"))
        {
            return Err(Error::local("send_request: no Host field"));
        }
        let start = out.len();
        out.put_slice(request.method);
        out.put_u8(b' ');
        out.put_slice(request.target);
        out.put_slice(b" HTTP/1.1\r\n");
        // A refused field (header injection, a framing field) leaves `out` as it was.
        match write_fields(request.headers, out, &SEND_REQUEST) {
            Ok(close) => self.keep_alive &= !close,
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
        let method = request.method_kind();
        let framing = match request.body_len {
            // RFC 9110 §8.6: say 0 for methods that usually carry a body.
            Some(0) if !matches!(method, Method::Post | Method::Put | Method::Patch) => {
                Framing::None
            }
            Some(n) => {
                out.put_slice(b"content-length: ");
                put_decimal(n, out);
                out.put_slice(b"\r\n");
                Framing::Length(n)
            }
            None => {
                out.put_slice(b"transfer-encoding: chunked\r\n");
                Framing::Chunked
            }
        };
        out.put_slice(b"\r\n");
        self.sending = Some(BodyEncoder::new(framing));
        let asked_upgrade = request
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(b"upgrade"));
        self.outstanding.push_back(Outstanding {
            method,
            asked_upgrade,
        });
        Ok(())
    }

    /// Appends request body bytes.
    pub fn send_data(&mut self, data: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        self.sending
            .as_mut()
            .ok_or(Error::local("send_data: no request body in progress"))?
            .encode_with(data, out, &SEND_DATA)
    }

    /// Ends the request body.
    pub fn send_end(&mut self, out: &mut BytesMut) -> Result<(), Error> {
        self.sending
            .take()
            .ok_or(Error::local("send_end: no request body in progress"))?
            .finish_with(&[], out, &SEND_END)
    }

    /// Hands out the next event from what has been received.
    pub fn poll_event(&mut self) -> Result<ClientEvent, Error> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let result = self.next_event();
        if let Err(e) = result {
            self.error = Some(e);
            self.closed = true;
        }
        result
    }

    fn next_event(&mut self) -> Result<ClientEvent, Error> {
        if self.upgraded {
            return Ok(ClientEvent::Closed);
        }
        if let Some(decoder) = &mut self.receiving {
            let event = match decoder.decode(&mut self.buf, &self.limits)? {
                BodyEvent::NeedData if self.eof => decoder.decode_eof()?,
                event => event,
            };
            return Ok(match event {
                BodyEvent::Data(data) => ClientEvent::Data(data),
                BodyEvent::NeedData => ClientEvent::NeedData,
                BodyEvent::End(trailers) => {
                    self.receiving = None;
                    self.outstanding.pop_front();
                    if !self.keep_alive {
                        self.closed = true;
                    }
                    ClientEvent::End(trailers)
                }
            });
        }
        if self.closed {
            return Ok(ClientEvent::Closed);
        }
        let Some(&Outstanding {
            method,
            asked_upgrade,
        }) = self.outstanding.front()
        else {
            if !self.buf.is_empty() {
                // A response nobody asked for.
                return Err(Error::new(ErrorKind::InvalidStatusLine, 0));
            }
            return Ok(if self.eof {
                ClientEvent::Closed
            } else {
                ClientEvent::NeedData
            });
        };
        let Some(head) = self.parser.parse(&mut self.buf, &self.limits)? else {
            if self.eof {
                self.closed = true;
                return if self.buf.is_empty() {
                    Ok(ClientEvent::Closed)
                } else {
                    Err(Error::new(ErrorKind::IncompleteMessage, self.buf.len()))
                };
            }
            return Ok(ClientEvent::NeedData);
        };
        let status = head.status();
        if (100..200).contains(&status) && status != 101 {
            return Ok(ClientEvent::Informational(head));
        }
        if status == 101 && !asked_upgrade {
            // RFC 9110 §15.2.2: a server only switches protocols when asked to.
            return Err(Error::new(ErrorKind::InvalidStatusLine, 9));
        }
        if status == 101 || (method == Method::Connect && (200..300).contains(&status)) {
            self.upgraded = true;
            self.outstanding.clear();
            return Ok(ClientEvent::Response(head));
        }
        let (framing, must_close) = response_framing(
            head.version(),
            status,
            method == Method::Head,
            method == Method::Connect,
            &head.facts,
        );
        self.keep_alive &= head.keep_alive() && !must_close;
        self.receiving = Some(BodyDecoder::new(framing));
        Ok(ClientEvent::Response(head))
    }

    /// After a 101 or a CONNECT 2xx, the bytes past the response: they belong to the new protocol.
    pub fn take_upgraded(&mut self) -> Option<BytesMut> {
        self.upgraded.then(|| std::mem::take(&mut self.buf))
    }
}
