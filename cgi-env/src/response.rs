//! The CGI response parser (RFC 3875 §6), Sans-IO and incremental.

use bytes::{Bytes, BytesMut};

use crate::{Error, Limits};

/// The four response types of RFC 3875 §6.2, plus NPH output (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseKind {
    /// A document: send the status, fields and body to the client (§6.2.1).
    Document,
    /// `Location` is a local path: the server must process a new request for it (a GET
    /// of that path and query) and send that response instead (§6.2.2). No body.
    LocalRedirect,
    /// `Location` names a resource for the client to fetch; no document (§6.2.3).
    ClientRedirect,
    /// A client redirect that carries a document as well (§6.2.4).
    ClientRedirectWithDocument,
    /// Non-parsed header output: the script wrote an HTTP status line itself (§5).
    /// The server passes the head and body through unchanged.
    Nph,
}

/// The parsed header section of a CGI response: what the gateway turns into an HTTP
/// response head.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CgiResponse {
    /// The response type, which says what the server does next.
    pub kind: ResponseKind,
    /// The status code (see [`ResponseParser`] for defaults).
    pub status: u16,
    /// The reason phrase: the script's, else the standard one for `status` (empty for
    /// codes without one).
    pub reason: Bytes,
    /// The header fields in order, `Status` removed, names and values as received
    /// (values trimmed). Views into the parser's input, no copies.
    pub headers: Vec<(Bytes, Bytes)>,
    /// For [`ResponseKind::Nph`], the HTTP version of the script's status line.
    pub nph_version: Option<Bytes>,
}

impl CgiResponse {
    /// The first field named `name` (case-insensitive).
    #[must_use]
    pub fn header(&self, name: &[u8]) -> Option<&Bytes> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// The script's fields the HTTP connection may pass on, in order: all but the framing
    /// and hop-by-hop fields the connection owns, as http-proto names them
    /// ([`http_proto::is_connection_field`]: Content-Length, Transfer-Encoding, Trailer,
    /// Connection, Keep-Alive, Proxy-Connection, TE, Upgrade; RFC 9110 §7.6.1). A script
    /// sends no trailers, so a `Trailer` field would announce some that never come.
    #[must_use]
    pub fn http_fields(&self) -> Vec<(&[u8], &[u8])> {
        self.headers
            .iter()
            .filter(|(n, _)| !http_proto::is_connection_field(n))
            .map(|(n, v)| (&n[..], &v[..]))
            .collect()
    }

    /// The body length the script announced with a valid `Content-Length` (digits only).
    #[must_use]
    pub fn content_length(&self) -> Option<u64> {
        let value = self.header(b"content-length")?;
        if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(value).ok()?.parse().ok()
    }

    /// This response as an [`http_proto::Response`] head over `fields` (from
    /// [`http_fields`](Self::http_fields)): status, reason, and the announced body length
    /// (unknown, so chunked or close-delimited, when the script gave none).
    ///
    /// ```
    /// let mut p = cgi_env::ResponseParser::default();
    /// p.feed(b"Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    /// let Ok(cgi_env::ResponseEvent::Head(cgi)) = p.poll_event() else { panic!() };
    /// let fields = cgi.http_fields();
    /// let head = cgi.http_response(&fields);
    /// assert_eq!((head.status, head.body_len, head.headers.len()), (200, Some(2), 1));
    /// ```
    #[must_use]
    pub fn http_response<'a>(
        &'a self,
        fields: &'a [(&'a [u8], &'a [u8])],
    ) -> http_proto::Response<'a> {
        let head = http_proto::Response::new(self.status)
            .headers(fields)
            .reason(&self.reason);
        match self.content_length() {
            Some(len) => head.body_len(len),
            None => head.streamed(),
        }
    }

    /// The `Location` value, if any: the path to re-dispatch for a
    /// [`ResponseKind::LocalRedirect`], the redirect target otherwise.
    #[must_use]
    pub fn location(&self) -> Option<&Bytes> {
        self.header(b"location")
    }

    /// The `Content-Type` value, if any.
    #[must_use]
    pub fn content_type(&self) -> Option<&Bytes> {
        self.header(b"content-type")
    }
}

/// What [`ResponseParser::poll_event`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResponseEvent {
    /// The header section is complete. Comes exactly once, first.
    Head(CgiResponse),
    /// The next piece of the body. Never empty. Not produced for a
    /// [`ResponseKind::LocalRedirect`], whose body is discarded.
    Body(Bytes),
    /// The script's output ended (after [`ResponseParser::feed_eof`]). Comes once, last.
    End,
    /// Nothing more until more bytes or the end of output are fed.
    NeedData,
}

#[derive(Debug)]
enum State {
    Head(HeadScan),
    Body { discard: bool },
    Done,
    Failed(Error),
}

/// Progress through the header section; all ranges index the parser's buffer, which
/// is not consumed until the head is complete.
#[derive(Debug, Default)]
struct HeadScan {
    /// Where the next unscanned line starts.
    line_start: usize,
    fields: Vec<Field>,
    /// Header lines seen, `Status` included, the NPH status line not.
    lines: usize,
    nph: Option<NphLine>,
    status: Option<(u16, std::ops::Range<usize>)>,
    location: Option<(std::ops::Range<usize>, usize)>,
    content_type: bool,
}

#[derive(Debug)]
struct Field {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
}

#[derive(Debug)]
struct NphLine {
    version: std::ops::Range<usize>,
    status: u16,
    reason: std::ops::Range<usize>,
}

/// An incremental CGI response parser: bytes in, [`ResponseEvent`]s out.
///
/// A script (or a FastCGI responder, whose `FCGI_STDOUT` carries the same format)
/// writes a header section, a blank line and a body. Feed its output to a
/// [`ResponseParser`] in whatever pieces it arrives; [`ResponseParser::poll_event`]
/// hands back one [`ResponseEvent::Head`], then the body as [`ResponseEvent::Body`]
/// views of the input, then [`ResponseEvent::End`] after [`ResponseParser::feed_eof`].
///
/// # What is accepted
///
/// - Lines end in CRLF or a bare LF: RFC 3875 §6 writes the grammar with `NL`, "either
///   a carriage-return followed by a line-feed or a single line-feed", so scripts that
///   `print "Content-Type: text/html\n\n"` are correct. A CR anywhere else is refused.
/// - Field names are RFC 9110 tokens, matched case-insensitively; values have their
///   leading and trailing spaces and tabs removed and must not hold control bytes
///   other than tab (so no header can be smuggled in with a stray CR or NUL).
/// - `Status`, `Location` and `Content-Type` may each appear once (§6.3).
///   `Status: 3DIGIT [SP reason]`, code 200 to 599; `Status` is consumed (it is not an
///   HTTP field), `Location` and `Content-Type` stay in [`CgiResponse::headers`].
/// - A first line starting `HTTP/` is an NPH status line (§5: the script talks HTTP
///   itself); its fields are validated the same way and passed through as they are.
///
/// # How the response type is decided (§6.2)
///
/// | fields | [`ResponseKind`] | status |
/// |---|---|---|
/// | `Location: /path` (one `/`), no `Status` or `Status: 200` | `LocalRedirect` | 200 (the server re-dispatches; body discarded) |
/// | `Location` of any other form, no `Content-Type` | `ClientRedirect` | `Status`, else 302 (a `Status: 200` becomes 302, as in Apache) |
/// | `Location` of any other form, `Content-Type` | `ClientRedirectWithDocument` | `Status`, else 302 |
/// | `Content-Type`, no `Location` | `Document` | `Status`, else 200 |
/// | neither, but `Status` | `Document` | as given (see below) |
/// | none of the three | [`Error::MissingContentType`] | |
///
/// RFC 3875's `document-response` grammar (§6.2.1) always has a `Content-Type`, yet
/// §6.3.1 only requires one "if an entity body is returned", and real programs rely on
/// that: git-http-backend answers a missing repository with `Status: 404 Not Found`,
/// three caching fields and no body. Apache and nginx (through fcgiwrap) pass such
/// responses on, and so does this parser. Output with no `Status`, `Content-Type` or
/// `Location` at all is still refused: that is a script printing garbage (or a stray
/// debug line) rather than a response.
///
/// A `Location` starting with `//` is a network-path reference to another host, never
/// a local redirect. A local path with a non-200 `Status` is sent to the client as a
/// redirect with that relative `Location` (RFC 9110 §10.2.2 allows relative ones).
///
/// # Limits
///
/// The whole header section, blank line included, must fit in
/// [`Limits::max_header_bytes`] and hold at most [`Limits::max_headers`] lines. The
/// parser buffers only the header section; body bytes are handed out as soon as they
/// are polled. Every error and its offset are the same however the input is split.
///
/// One per script run. The driver loop is: [`feed`](Self::feed) what the script wrote,
/// call [`poll_event`](Self::poll_event) until it says [`ResponseEvent::NeedData`], and
/// call [`feed_eof`](Self::feed_eof) when the script's output closes, then poll until
/// [`ResponseEvent::End`].
///
/// ```
/// use cgi_env::{Limits, ResponseEvent, ResponseKind, ResponseParser};
///
/// let mut parser = ResponseParser::new(Limits::default());
/// parser.feed(b"Status: 404 Not Found\nContent-Type: text/plain\n\nno such page");
/// parser.feed_eof();
/// let ResponseEvent::Head(head) = parser.poll_event().unwrap() else { panic!() };
/// assert_eq!((head.kind, head.status), (ResponseKind::Document, 404));
/// assert_eq!(head.reason, "Not Found");
/// assert_eq!(head.content_type().unwrap(), "text/plain");
/// assert_eq!(parser.poll_event(), Ok(ResponseEvent::Body("no such page".into())));
/// assert_eq!(parser.poll_event(), Ok(ResponseEvent::End));
/// ```
#[derive(Debug)]
pub struct ResponseParser {
    limits: Limits,
    buf: BytesMut,
    state: State,
    eof: bool,
}

impl Default for ResponseParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl ResponseParser {
    /// A parser waiting for the first byte of a script's output.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            buf: BytesMut::new(),
            state: State::Head(HeadScan::default()),
            eof: false,
        }
    }

    /// Appends bytes the script wrote. Bytes fed after [`feed_eof`](Self::feed_eof) or
    /// after an error are ignored; so are body bytes of a local redirect.
    pub fn feed(&mut self, data: &[u8]) {
        if self.eof || matches!(self.state, State::Failed(_) | State::Done) {
            return;
        }
        if matches!(self.state, State::Body { discard: true }) {
            return;
        }
        self.buf.extend_from_slice(data);
    }

    /// Marks the end of the script's output.
    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    /// Whether the header section has been handed out already.
    #[must_use]
    pub fn head_done(&self) -> bool {
        matches!(self.state, State::Body { .. } | State::Done)
    }

    /// The next event. Call after each [`feed`](Self::feed) and after
    /// [`feed_eof`](Self::feed_eof) until it returns [`ResponseEvent::NeedData`] (or
    /// [`ResponseEvent::End`]); the answer changes only after one of those two calls.
    ///
    /// # Errors
    ///
    /// Any response error of [`Error`]; the parser then stays failed and returns the
    /// same error on every call. A gateway answers 502 Bad Gateway (or 500, as Apache
    /// does) when no head was produced.
    pub fn poll_event(&mut self) -> Result<ResponseEvent, Error> {
        match &mut self.state {
            State::Failed(error) => Err(error.clone()),
            State::Done => Ok(ResponseEvent::End),
            State::Body { discard } => {
                if *discard {
                    self.buf.clear();
                }
                if !self.buf.is_empty() {
                    Ok(ResponseEvent::Body(self.buf.split().freeze()))
                } else if self.eof {
                    self.state = State::Done;
                    Ok(ResponseEvent::End)
                } else {
                    Ok(ResponseEvent::NeedData)
                }
            }
            State::Head(_) => match self.scan_head() {
                Ok(Some(head)) => {
                    let discard = head.kind == ResponseKind::LocalRedirect;
                    self.state = State::Body { discard };
                    Ok(ResponseEvent::Head(head))
                }
                Ok(None) => Ok(ResponseEvent::NeedData),
                Err(error) => {
                    self.buf = BytesMut::new();
                    self.state = State::Failed(error.clone());
                    Err(error)
                }
            },
        }
    }

    /// Scans complete lines; returns the head once the blank line is seen.
    fn scan_head(&mut self) -> Result<Option<CgiResponse>, Error> {
        let State::Head(scan) = &mut self.state else {
            return Ok(None);
        };
        let limits = self.limits;
        loop {
            let start = scan.line_start;
            let Some(rel) = self
                .buf
                .get(start..)
                .and_then(|rest| memchr::memchr(b'\n', rest))
            else {
                break;
            };
            let newline = start + rel;
            let next = newline + 1;
            if next > limits.max_header_bytes {
                return Err(Error::HeaderTooLarge {
                    limit: limits.max_header_bytes,
                });
            }
            let end = if newline > start && self.buf.get(newline - 1) == Some(&b'\r') {
                newline - 1
            } else {
                newline
            };
            scan.line_start = next;
            if end == start {
                let head = self.buf.split_to(next).freeze();
                let scan = std::mem::take(scan);
                return finish_head(&head, scan).map(Some);
            }
            let line = self.buf.get(start..end).unwrap_or_default();
            if start == 0 && line.starts_with(b"HTTP/") {
                scan.nph = Some(parse_nph_line(line, start)?);
                continue;
            }
            scan.lines += 1;
            if scan.lines > limits.max_headers {
                return Err(Error::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            let field = parse_field(line, start)?;
            if scan.nph.is_none() {
                let name = self.buf.get(field.name.clone()).unwrap_or_default();
                let value = self.buf.get(field.value.clone()).unwrap_or_default();
                if name.eq_ignore_ascii_case(b"status") {
                    if scan.status.is_some() {
                        return Err(Error::DuplicateField { offset: start });
                    }
                    let (code, reason) = parse_status_value(value, field.value.start)
                        .ok_or(Error::InvalidStatus { offset: start })?;
                    scan.status = Some((code, reason));
                    continue; // Status is CGI-only: not an HTTP field.
                }
                if name.eq_ignore_ascii_case(b"location") {
                    if scan.location.is_some() {
                        return Err(Error::DuplicateField { offset: start });
                    }
                    if value.is_empty() {
                        return Err(Error::InvalidLocation { offset: start });
                    }
                    scan.location = Some((field.value.clone(), start));
                } else if name.eq_ignore_ascii_case(b"content-type") {
                    if scan.content_type {
                        return Err(Error::DuplicateField { offset: start });
                    }
                    scan.content_type = true;
                }
            }
            scan.fields.push(field);
        }
        if self.buf.len() > limits.max_header_bytes {
            // The line in progress already ends past the limit.
            return Err(Error::HeaderTooLarge {
                limit: limits.max_header_bytes,
            });
        }
        if self.eof {
            return Err(Error::UnexpectedEof {
                offset: self.buf.len(),
            });
        }
        Ok(None)
    }
}

/// Classifies the response (the table on `ResponseParser`) and slices the fields out of `head`.
fn finish_head(head: &Bytes, scan: HeadScan) -> Result<CgiResponse, Error> {
    let headers = scan
        .fields
        .iter()
        .map(|f| (head.slice(f.name.clone()), head.slice(f.value.clone())))
        .collect();
    if let Some(nph) = scan.nph {
        return Ok(CgiResponse {
            kind: ResponseKind::Nph,
            status: nph.status,
            reason: head.slice(nph.reason),
            headers,
            nph_version: Some(head.slice(nph.version)),
        });
    }
    let status = scan.status.as_ref().map(|(code, _)| *code);
    let (kind, status) = match (&scan.location, scan.content_type) {
        (Some((location, _)), content_type) => {
            let value = head.get(location.clone()).unwrap_or_default();
            let local = value.starts_with(b"/") && !value.starts_with(b"//");
            match (local, status, content_type) {
                (true, None | Some(200), _) => (ResponseKind::LocalRedirect, 200),
                (_, status, false) => (ResponseKind::ClientRedirect, redirect_status(status)),
                (_, status, true) => (
                    ResponseKind::ClientRedirectWithDocument,
                    redirect_status(status),
                ),
            }
        }
        (None, true) => (ResponseKind::Document, status.unwrap_or(200)),
        (None, false) => match status {
            Some(code) => (ResponseKind::Document, code),
            None => return Err(Error::MissingContentType),
        },
    };
    let reason = match &scan.status {
        Some((code, reason)) if *code == status && !reason.is_empty() => head.slice(reason.clone()),
        _ => Bytes::from_static(http_proto::reason_phrase(status).as_bytes()),
    };
    Ok(CgiResponse {
        kind,
        status,
        reason,
        headers,
        nph_version: None,
    })
}

fn redirect_status(status: Option<u16>) -> u16 {
    match status {
        None | Some(200) => 302,
        Some(code) => code,
    }
}

/// `name ":" OWS value OWS`, validated; `line` starts at buffer offset `start`.
fn parse_field(line: &[u8], start: usize) -> Result<Field, Error> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        return Err(Error::ObsFold { offset: start });
    }
    let colon = memchr::memchr(b':', line).ok_or(Error::InvalidFieldName { offset: start })?;
    let name = line.get(..colon).unwrap_or_default();
    if !http_proto::is_field_name(name) {
        return Err(Error::InvalidFieldName { offset: start });
    }
    let raw_value = line.get(colon + 1..).unwrap_or_default();
    if !http_proto::is_field_value(raw_value) {
        return Err(Error::InvalidFieldValue { offset: start });
    }
    let lead = raw_value
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let trail = raw_value[lead..]
        .iter()
        .rev()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let value_start = start + colon + 1 + lead;
    let value_end = start + line.len() - trail;
    Ok(Field {
        name: start..start + colon,
        value: value_start..value_end.max(value_start),
    })
}

/// `Status: 3DIGIT [SP reason-phrase]` (RFC 3875 §6.3.3); returns the code and the
/// reason's range (the value starts at buffer offset `base`).
fn parse_status_value(value: &[u8], base: usize) -> Option<(u16, std::ops::Range<usize>)> {
    let code = parse_code(value.get(..3)?)?;
    if !(200..=599).contains(&code) {
        return None;
    }
    match value.get(3) {
        None => Some((code, base + 3..base + 3)),
        Some(b' ' | b'\t') => Some((code, base + 4..base + value.len())),
        Some(_) => None,
    }
}

/// `HTTP/1*DIGIT.1*DIGIT SP 3DIGIT [SP reason]` (RFC 9112 §4, digits relaxed).
fn parse_nph_line(line: &[u8], start: usize) -> Result<NphLine, Error> {
    let invalid = Error::InvalidStatus { offset: start };
    let space = memchr::memchr(b' ', line).ok_or_else(|| invalid.clone())?;
    let version = line.get(..space).unwrap_or_default();
    let digits = version.get(5..).unwrap_or_default();
    let dot = memchr::memchr(b'.', digits).ok_or_else(|| invalid.clone())?;
    let (major, minor) = (&digits[..dot], &digits[dot + 1..]);
    if major.is_empty() || minor.is_empty() || !major.iter().chain(minor).all(u8::is_ascii_digit) {
        return Err(invalid);
    }
    let rest = line.get(space + 1..).unwrap_or_default();
    let code = rest
        .get(..3)
        .and_then(parse_code)
        .filter(|c| (100..=599).contains(c))
        .ok_or_else(|| invalid.clone())?;
    let reason_start = match rest.get(3) {
        None => space + 4,
        Some(b' ') => space + 5,
        Some(_) => return Err(invalid),
    };
    let reason = line.get(reason_start..).unwrap_or_default();
    if !http_proto::is_field_value(reason) {
        return Err(invalid);
    }
    Ok(NphLine {
        version: start..start + space,
        status: code,
        reason: start + reason_start..start + line.len().max(reason_start),
    })
}

fn parse_code(digits: &[u8]) -> Option<u16> {
    let [a, b, c] = *digits else { return None };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
}
