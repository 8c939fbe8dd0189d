//! Request heads: the request-line (RFC 9112 §3) and an incremental parser.

use super::Version;
use super::fields::{
    FieldFacts, FieldsMut, Headers, SectionEnd, Span, line_end, parse_fields, unfold, valid_host,
};
use super::scan::{target_len, token_len};
use crate::error::{Error, ErrorKind};
use crate::framing::{Framing, request_framing};
use crate::limits::Limits;
use crate::semantics::split_host_port;
use bytes::{Bytes, BytesMut};

/// A request method (RFC 9110 §9). Methods are case-sensitive: `get` is an extension method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// GET
    Get,
    /// HEAD
    Head,
    /// POST
    Post,
    /// PUT
    Put,
    /// DELETE
    Delete,
    /// CONNECT
    Connect,
    /// OPTIONS
    Options,
    /// TRACE
    Trace,
    /// PATCH (RFC 5789)
    Patch,
    /// Any other token; read it with [`RequestHead::method_bytes`].
    Other,
}

impl Method {
    /// Classifies a method token.
    #[must_use]
    pub fn from_bytes(token: &[u8]) -> Self {
        if token == b"GET" {
            return Self::Get;
        }
        match token {
            b"GET" => Self::Get,
            b"HEAD" => Self::Head,
            b"POST" => Self::Post,
            b"PUT" => Self::Put,
            b"DELETE" => Self::Delete,
            b"CONNECT" => Self::Connect,
            b"OPTIONS" => Self::Options,
            b"TRACE" => Self::Trace,
            b"PATCH" => Self::Patch,
            _ => Self::Other,
        }
    }
}

/// The four forms of request-target (RFC 9112 §3.2), each checked when the head is parsed.
///
/// [`RequestHead::path`], [`RequestHead::query`] and [`RequestHead::authority`] read the
/// parts of every form, so a server never splits a target itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetForm {
    /// `/path?query`, the usual form (RFC 9112 §3.2.1).
    Origin,
    /// `http://host/path?query` (RFC 9112 §3.2.2), sent to proxies and accepted by servers.
    /// Only the `http` and `https` schemes (any case) are accepted, with a non-empty host,
    /// no userinfo, and an authority that is `uri-host [ ":" port ]` (RFC 9110 §4.2).
    Absolute,
    /// `host:port`, CONNECT only (RFC 9112 §3.2.3).
    Authority,
    /// `*`, OPTIONS only (RFC 9112 §3.2.4).
    Asterisk,
}

/// A parsed request head. Every slice is a view into the bytes the head arrived in.
#[derive(Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub(crate) headers: Headers,
    method: Method,
    method_span: Span,
    target: Span,
    form: TargetForm,
    version: Version,
    framing: Framing,
    pub(crate) facts: FieldFacts,
}

impl RequestHead {
    /// Parses one complete request head at the start of `buf`, without copying.
    ///
    /// Returns the head and its length in bytes, or `Ok(None)` when `buf` holds only part of
    /// a head. For input that arrives in pieces, [`RequestParser`] resumes where it stopped.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_proto::{Limits, Method, RequestHead};
    ///
    /// let buf = Bytes::from_static(b"GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\nrest");
    /// let (head, len) = RequestHead::parse(&buf, &Limits::default())?.expect("complete");
    /// assert_eq!(head.method(), Method::Get);
    /// assert_eq!(head.path(), b"/a");
    /// assert_eq!(head.query(), Some(&b"b=1"[..]));
    /// assert_eq!(head.headers().get("host"), Some(&b"example.com"[..]));
    /// assert_eq!(&buf[len..], b"rest");
    /// # Ok::<(), http_proto::Error>(())
    /// ```
    pub fn parse(buf: &Bytes, limits: &Limits) -> Result<Option<(Self, usize)>, Error> {
        // A parser that is not kept: its stage and folds are locals, and the fields go
        // straight into the head.
        let mut stage = LineStage::Start;
        let mut head = Self::empty();
        let mut folds = Vec::new();
        let Some(accepted) = super::within_head_limit(buf, limits, |window| {
            advance_stages(&mut stage, head.fields_mut(&mut folds), window, limits)
        })?
        else {
            return Ok(None);
        };
        let len = accepted.len;
        head.complete(accepted, buf.slice(..len), &folds);
        Ok(Some((head, len)))
    }

    /// The method.
    #[must_use]
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method token as received.
    #[must_use]
    pub fn method_bytes(&self) -> &[u8] {
        self.method_span.of(&self.headers.buf)
    }

    /// The request-target as received.
    #[must_use]
    pub fn target(&self) -> &[u8] {
        self.target.of(&self.headers.buf)
    }

    /// The request-target as a zero-copy [`Bytes`].
    #[must_use]
    pub fn target_bytes(&self) -> Bytes {
        self.headers
            .buf
            .slice(self.target.start as usize..self.target.end as usize)
    }

    /// Which form the request-target has.
    #[must_use]
    pub fn target_form(&self) -> TargetForm {
        self.form
    }

    /// The path part of the target, without the query: `/a/b` of `/a/b?c`, and of
    /// `http://h/a/b?c`. Empty for authority-form; `*` for asterisk-form.
    #[must_use]
    pub fn path(&self) -> &[u8] {
        let target = self.target_without_fragment();
        let without_query = &target[..memchr::memchr(b'?', target).unwrap_or(target.len())];
        match self.form {
            TargetForm::Origin | TargetForm::Asterisk => without_query,
            TargetForm::Authority => &[],
            // RFC 9110 §4.2.3: an empty path is the same as `/`.
            TargetForm::Absolute => match absolute_parts(without_query).2 {
                [] => b"/",
                path => path,
            },
        }
    }

    /// The query string after `?`, if the target has one (without any `#` fragment).
    /// Still percent-encoded: this is `QUERY_STRING` for a CGI script.
    #[must_use]
    pub fn query(&self) -> Option<&[u8]> {
        let target = self.target_without_fragment();
        memchr::memchr(b'?', target).map(|i| &target[i + 1..])
    }

    /// The authority the request is for, `uri-host [ ":" port ]` as received: what a server
    /// matches its virtual hosts against (with
    /// [`semantics::host_without_port`](crate::semantics::host_without_port)).
    ///
    /// RFC 9112 §3.2.2: with an absolute-form target the target's authority replaces
    /// `Host` (which a server MUST ignore then, even when they differ); RFC 9112 §3.3: an
    /// authority-form target (CONNECT) is the authority; otherwise it is the `Host` field.
    /// `None` when there is none to use: no `Host` (an HTTP/1.0 request) or an empty one.
    /// A `Host` value and an absolute-form authority were both checked at parse time.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_proto::{Limits, RequestHead};
    ///
    /// let parse = |raw: &'static [u8]| {
    ///     RequestHead::parse(&Bytes::from_static(raw), &Limits::default()).map(|h| h.expect("complete").0)
    /// };
    /// let head = parse(b"GET http://a.example:8080/x HTTP/1.1\r\nHost: b.example\r\n\r\n")?;
    /// assert_eq!(head.authority(), Some(&b"a.example:8080"[..]));
    /// let head = parse(b"GET /x HTTP/1.1\r\nHost: b.example\r\n\r\n")?;
    /// assert_eq!(head.authority(), Some(&b"b.example"[..]));
    /// let head = parse(b"GET /x HTTP/1.0\r\n\r\n")?;
    /// assert_eq!(head.authority(), None);
    /// # Ok::<(), http_proto::Error>(())
    /// ```
    #[must_use]
    pub fn authority(&self) -> Option<&[u8]> {
        match self.form {
            TargetForm::Origin | TargetForm::Asterisk => {
                self.headers.get("host").filter(|host| !host.is_empty())
            }
            TargetForm::Authority => Some(self.target()),
            TargetForm::Absolute => Some(absolute_parts(self.target()).1),
        }
    }

    /// A fragment is not part of a request-target (RFC 9112 §3.2) and never reaches the
    /// server from a conforming client; if one arrives, path and query ignore it.
    fn target_without_fragment(&self) -> &[u8] {
        let target = self.target();
        &target[..memchr::memchr(b'#', target).unwrap_or(target.len())]
    }

    /// The HTTP version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// How the body is delimited (RFC 9112 §6.3), decided when the head was parsed.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Whether the client lets the connection stay open after this exchange (RFC 9112 §9.3):
    /// HTTP/1.1 unless `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`.
    #[must_use]
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.facts.conn_close,
            Version::Http10 => self.facts.conn_keep_alive && !self.facts.conn_close,
        }
    }

    /// Whether the client sent `Expect: 100-continue` and waits before sending its body
    /// (RFC 9110 §10.1.1; ignored for HTTP/1.0 and for requests without a body).
    #[must_use]
    pub fn expects_continue(&self) -> bool {
        self.facts.expect_continue && self.version == Version::Http11 && self.framing.has_body()
    }

    /// Whether the client asks to switch protocols (`Upgrade` listed in `Connection`,
    /// RFC 9110 §7.8) or to open a tunnel (CONNECT). §7.8: a server MUST ignore Upgrade
    /// in an HTTP/1.0 request.
    #[must_use]
    pub fn wants_upgrade(&self) -> bool {
        self.method == Method::Connect
            || (self.version == Version::Http11 && self.facts.upgrade && self.facts.conn_upgrade)
    }

    /// The whole head as received, including the final empty line.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.headers.buf
    }
}

impl std::fmt::Debug for RequestHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestHead")
            .field("method", &String::from_utf8_lossy(self.method_bytes()))
            .field("target", &String::from_utf8_lossy(self.target()))
            .field("version", &self.version)
            .field("headers", &self.headers)
            .field("framing", &self.framing)
            .finish()
    }
}

/// Where the request-line parse stopped, so the next call resumes there.
#[derive(Debug, Clone, Copy, Default)]
enum LineStage {
    #[default]
    Start,
    Method {
        start: usize,
    },
    Target {
        method: Span,
    },
    Version {
        method: Span,
        target: Span,
    },
    Fields {
        method: Span,
        kind: Method,
        target: Span,
        version: Version,
        form: TargetForm,
        resume: usize,
    },
}

/// An incremental request-head parser.
///
/// Feed it the growing buffer of bytes received; it remembers how far it got, so the bytes
/// of lines it has accepted are never scanned again. Reusable: after a head completes it is
/// ready for the next.
///
/// ```
/// use bytes::BytesMut;
/// use http_proto::{Limits, RequestParser};
///
/// let limits = Limits::default();
/// let mut parser = RequestParser::new();
/// let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\nHo"[..]);
/// assert!(parser.parse(&mut buf, &limits)?.is_none());
/// buf.extend_from_slice(b"st: a\r\n\r\n");
/// let head = parser.parse(&mut buf, &limits)?.expect("complete");
/// assert_eq!(head.headers().get("Host"), Some(&b"a"[..]));
/// assert!(buf.is_empty(), "the head's bytes were split off the buffer");
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct RequestParser {
    stage: LineStage,
    /// The head being parsed, built in place: its field table fills as lines are accepted,
    /// and the finished head is handed out as it is, a pointer and no copy. Boxed, so a
    /// connection waiting for its next request costs a pointer, not a 400-byte head;
    /// [`release`](Self::release) frees a box kept from a head that never started.
    head: Option<Box<RequestHead>>,
    /// Line breaks of obs-fold in the head being parsed (when folding is enabled).
    folds: Vec<Span>,
}

impl RequestParser {
    /// A parser waiting for the first byte of a head.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the parser has accepted part of a head and waits for the rest.
    #[must_use]
    pub fn is_mid_head(&self) -> bool {
        !matches!(self.stage, LineStage::Start)
    }

    /// Parses from the start of `buf`; when a head completes, splits its bytes off `buf`
    /// (zero-copy) and returns it, boxed as it was built. `Ok(None)`: call again once more
    /// bytes are appended.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Box<RequestHead>>, Error> {
        match self.advance(buf, limits)? {
            Some(accepted) => {
                let head = buf.split_to(accepted.len).freeze();
                Ok(Some(self.finish(accepted, head)))
            }
            None => Ok(None),
        }
    }

    /// Advances over `buf` (which must start with the same bytes as on the previous call).
    /// Returns what was accepted once the head is complete and valid.
    pub(crate) fn advance(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<Accepted>, Error> {
        super::within_head_limit(buf, limits, |window| self.advance_within(window, limits))
    }

    fn advance_within(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<Accepted>, Error> {
        // The stage lives in a local while the line is parsed (registers, not memory) and is
        // stored once on the way out.
        if buf.is_empty() {
            // Nothing to parse: do not allocate the field table of an idle connection.
            return Ok(None);
        }
        let mut stage = self.stage;
        let head = self
            .head
            .get_or_insert_with(|| Box::new(RequestHead::empty()));
        let section = head.fields_mut(&mut self.folds);
        let result = advance_stages(&mut stage, section, buf, limits);
        self.stage = stage;
        result
    }

    /// Completes the head from what `advance` accepted, over the head's bytes.
    pub(crate) fn finish(&mut self, accepted: Accepted, bytes: Bytes) -> Box<RequestHead> {
        // `advance` left the stage at Start when it accepted the head, and the head is
        // there: `advance` made it before it accepted anything.
        let mut head = self
            .head
            .take()
            .unwrap_or_else(|| Box::new(RequestHead::empty()));
        head.complete(accepted, bytes, &self.folds);
        self.folds.clear();
        head
    }

    /// Heap bytes the parser holds (the head being parsed, when allocated).
    #[must_use]
    pub fn heap_bytes(&self) -> usize {
        self.head.as_ref().map_or(0, |h| {
            std::mem::size_of::<RequestHead>()
                + if h.headers.fields.spilled() {
                    h.headers.fields.capacity() * std::mem::size_of_val(&h.headers.fields[0])
                } else {
                    0
                }
        }) + self.folds.capacity() * std::mem::size_of::<Span>()
    }

    /// Frees what the parser holds between heads (allocated again by the next head). Does
    /// nothing mid-head.
    pub fn release(&mut self) {
        if !self.is_mid_head() {
            self.head = None;
            self.folds = Vec::new();
        }
    }
}

impl RequestHead {
    /// A head with no fields yet, for a parser to fill in place: the fields as lines are
    /// accepted ([`fields_mut`](Self::fields_mut)), the rest when the head is
    /// ([`complete`](Self::complete)).
    fn empty() -> Self {
        Self {
            headers: Headers::default(),
            method: Method::Get,
            method_span: Span::default(),
            target: Span::default(),
            form: TargetForm::Origin,
            version: Version::Http11,
            framing: Framing::None,
            facts: FieldFacts::default(),
        }
    }

    /// Where [`parse_fields`] puts this head's fields, with the parser's obs-fold breaks.
    fn fields_mut<'a>(&'a mut self, folds: &'a mut Vec<Span>) -> FieldsMut<'a> {
        FieldsMut {
            fields: &mut self.headers.fields,
            facts: &mut self.facts,
            folds,
        }
    }

    /// Completes the head from what the request-line stages accepted, over the head's
    /// bytes, with the obs-fold breaks at `folds` replaced by spaces.
    fn complete(&mut self, accepted: Accepted, bytes: Bytes, folds: &[Span]) {
        self.headers.buf = unfold(bytes, folds);
        self.method = accepted.kind;
        self.method_span = accepted.method;
        self.target = accepted.target;
        self.form = accepted.form;
        self.version = accepted.version;
        self.framing = accepted.framing;
    }
}

/// The request-line stages, then the field section, from `stage` on.
#[inline]
fn advance_stages(
    stage: &mut LineStage,
    mut section: FieldsMut<'_>,
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<Accepted>, Error> {
    // Each stage falls through to the next: one pass over a head that arrived whole.
    if let LineStage::Start = *stage {
        // RFC 9112 §2.2: ignore a few empty lines before the request-line.
        let mut at = 0;
        let mut empty_lines = 0;
        loop {
            match &buf[at..] {
                [b'\r', b'\n', ..] => at += 2,
                [b'\n', ..] if limits.allow_bare_lf => at += 1,
                [b'\r'] => return Ok(None),
                _ => break,
            }
            empty_lines += 1;
            if empty_lines > limits.max_leading_empty_lines {
                return Err(Error::new(ErrorKind::InvalidRequestLine, at));
            }
        }
        if at == buf.len() {
            return Ok(None);
        }
        *stage = LineStage::Method { start: at };
    }
    if let LineStage::Method { start } = *stage {
        let len = token_len(&buf[start..]);
        match buf.get(start + len) {
            None => return Ok(None),
            Some(b' ') if len > 0 => {
                *stage = LineStage::Target {
                    method: Span::new(start, start + len),
                };
            }
            Some(_) => return Err(Error::new(ErrorKind::InvalidMethod, start + len)),
        }
    }
    if let LineStage::Target { method } = *stage {
        let start = method.end as usize + 1;
        let len = target_len(&buf[start..]);
        if len > limits.max_target_len {
            return Err(Error::new(ErrorKind::TargetTooLong, start));
        }
        match buf.get(start + len) {
            None => return Ok(None),
            Some(b' ') if len > 0 => {
                let target = Span::new(start, start + len);
                *stage = LineStage::Version { method, target };
            }
            // HTTP/0.9's simple request has no version at all.
            Some(b'\r' | b'\n') if len > 0 => {
                return Err(Error::new(ErrorKind::InvalidVersion, start + len));
            }
            Some(_) => return Err(Error::new(ErrorKind::InvalidTarget, start + len)),
        }
    }
    if let LineStage::Version { method, target } = *stage {
        let at = target.end as usize + 1;
        let Some(version) = Version::read(buf, at)? else {
            return Ok(None);
        };
        // Anything but the line end after the 8-byte token (`HTTP/1.10`,
        // `HTTP/1.1 `) is a malformed version.
        let Some((_, next)) = line_end(buf, at + 8, limits).map_err(|e| {
            if e.kind() == ErrorKind::InvalidHeaderValue {
                Error::new(ErrorKind::InvalidVersion, e.offset())
            } else {
                e
            }
        })?
        else {
            return Ok(None);
        };
        let kind = Method::from_bytes(method.of(buf));
        let form = classify_target(kind, target.of(buf), target.start as usize)?;
        *stage = LineStage::Fields {
            method,
            kind,
            target,
            version,
            form,
            resume: next,
        };
    }
    let LineStage::Fields {
        method,
        kind,
        target,
        version,
        form,
        resume,
    } = *stage
    else {
        // Not reached: every stage above either returned or set the next one.
        return Ok(None);
    };
    match parse_fields(buf, resume, &mut section, limits)? {
        SectionEnd::Complete(len) => {
            let framing = check_request(kind, version, section.facts, len)?;
            *stage = LineStage::Start;
            Ok(Some(Accepted {
                len,
                method,
                kind,
                target,
                version,
                form,
                framing,
            }))
        }
        SectionEnd::Partial(at) => {
            *stage = LineStage::Fields {
                method,
                kind,
                target,
                version,
                form,
                resume: at,
            };
            Ok(None)
        }
    }
}

/// A complete, valid request head's shape, before it is tied to its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) len: usize,
    method: Span,
    kind: Method,
    target: Span,
    version: Version,
    form: TargetForm,
    framing: Framing,
}

/// The whole-head rules: Host (RFC 9112 §3.2) and body framing (§6).
fn check_request(
    method: Method,
    version: Version,
    facts: &FieldFacts,
    len: usize,
) -> Result<Framing, Error> {
    if facts.host_count > 1 {
        return Err(Error::new(ErrorKind::DuplicateHost, len));
    }
    if facts.host_count == 0 && version == Version::Http11 {
        return Err(Error::new(ErrorKind::MissingHost, len));
    }
    let framing = request_framing(version, facts).map_err(|kind| Error::new(kind, len))?;
    // RFC 9110 §9.3.6: CONNECT has no content. Peers disagree on whether bytes after its head
    // are a body or the tunnel (llhttp: tunnel; RFC 9112 §6.3: body), so refuse rather than guess.
    if method == Method::Connect && framing != Framing::None {
        return Err(Error::new(ErrorKind::BodyNotAllowed, len));
    }
    Ok(framing)
}

/// RFC 9112 §3.2: which target form, and whether the method allows it.
fn classify_target(method: Method, target: &[u8], at: usize) -> Result<TargetForm, Error> {
    let invalid = Error::new(ErrorKind::InvalidTarget, at);
    if method == Method::Connect {
        // authority-form = uri-host ":" port, nothing else.
        let colon = target.iter().rposition(|&b| b == b':').ok_or(invalid)?;
        let (host, port) = (&target[..colon], &target[colon + 1..]);
        // No userinfo, no path, no second colon: the host is a uri-host like Host's.
        let ok = !host.is_empty()
            && !port.is_empty()
            && port.iter().all(u8::is_ascii_digit)
            && valid_host(target);
        return if ok {
            Ok(TargetForm::Authority)
        } else {
            Err(invalid)
        };
    }
    match target {
        [b'/', ..] => Ok(TargetForm::Origin),
        b"*" if method == Method::Options => Ok(TargetForm::Asterisk),
        [first, ..] if first.is_ascii_alphabetic() => {
            if valid_absolute_form(target) {
                Ok(TargetForm::Absolute)
            } else {
                Err(invalid)
            }
        }
        _ => Err(invalid),
    }
}

/// RFC 9110 §4.2.1/§4.2.2: `("http" / "https") "://" authority path-abempty [ "?" query ]`,
/// with the authority's rules: a non-empty host (§4.2.1: a recipient MUST reject an empty
/// one), no userinfo (§4.2.4: deprecated, and a phishing device), and `uri-host
/// [ ":" port ]` syntax (RFC 3986 §3.2). Another scheme names nothing an origin server
/// serves; it is refused as a target this server does not accept.
#[cold]
fn valid_absolute_form(target: &[u8]) -> bool {
    let (scheme, authority, _) = absolute_parts(target);
    let scheme_ok = scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https");
    // `absolute_parts` found no `://` when the scheme is the whole target.
    scheme_ok
        && scheme.len() < target.len()
        && !split_host_port(authority).0.is_empty()
        && !authority.contains(&b'@')
        && valid_host(authority)
}

/// An absolute-form target's scheme, authority and the rest (path, query, fragment).
/// The authority ends at the first `/`, `?` or `#` (RFC 3986 §3.2). Without `://` the
/// whole target is the scheme (refused by `valid_absolute_form`).
fn absolute_parts(target: &[u8]) -> (&[u8], &[u8], &[u8]) {
    let Some(colon) = memchr::memmem::find(target, b"://") else {
        return (target, &[], &[]);
    };
    let (scheme, rest) = (&target[..colon], &target[colon + 3..]);
    let end = memchr::memchr3(b'/', b'?', b'#', rest).unwrap_or(rest.len());
    (scheme, &rest[..end], &rest[end..])
}
