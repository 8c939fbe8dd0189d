//! Shared test support: split-anywhere equivalence, and drivers that run each parser or
//! connection over a sequence of input pieces and record what it said in a form that does
//! not depend on how the input was cut (data pieces coalesced, `NeedData` dropped).
#![allow(dead_code, unreachable_pub)]

use bytes::BytesMut;
use http_proto::{
    BodyDecoder, BodyEvent, ClientConn, ClientEvent, ErrorKind, Framing, Headers, Limits, Method,
    Request, RequestHead, RequestParser, Response, ResponseHead, ResponseParser, ServerConn,
    ServerEvent, TargetForm, Version,
};
use std::fmt;

/// Inputs up to this long are also checked at every pair of cut points.
pub const PAIR_LIMIT: usize = 300;

/// Runs `run` on `input` fed whole, split at every point, one byte at a time, and (for
/// inputs up to [`PAIR_LIMIT`] bytes) split at every pair of points; asserts every outcome
/// equals the whole-input one and returns it.
pub fn assert_split_anywhere<T, F>(input: &[u8], run: F) -> T
where
    T: PartialEq + fmt::Debug,
    F: Fn(&[&[u8]]) -> T,
{
    let whole = run(&[input]);
    for i in 0..=input.len() {
        let (a, b) = input.split_at(i);
        assert_eq!(run(&[a, b]), whole, "split at {i} of {:?}", B::from(input));
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run(&bytes), whole, "byte at a time: {:?}", B::from(input));
    if input.len() <= PAIR_LIMIT {
        for i in 0..=input.len() {
            for j in i..=input.len() {
                let parts = [&input[..i], &input[i..j], &input[j..]];
                assert_eq!(
                    run(&parts),
                    whole,
                    "split at {i} and {j} of {:?}",
                    B::from(input)
                );
            }
        }
    }
    whole
}

/// Cuts `input` at the given points (reduced modulo the length and sorted), for proptest
/// strategies that pick arbitrary chunkings of large inputs.
pub fn cut<'a>(input: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut points: Vec<usize> = cuts.iter().map(|&c| c % (input.len() + 1)).collect();
    points.sort_unstable();
    let mut out = Vec::with_capacity(points.len() + 1);
    let mut start = 0;
    for p in points {
        out.push(&input[start..p]);
        start = p;
    }
    out.push(&input[start..]);
    out
}

/// Test text with llhttp's conventions: every `\n` is CRLF, while the two-character escapes
/// `\\n`, `\\r`, `\\t` and `\\0` stand for a bare LF, a bare CR, a tab and NUL.
pub fn crlf(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\\' => match bytes.next() {
                Some(b'n') => out.push(b'\n'),
                Some(b'r') => out.push(b'\r'),
                Some(b't') => out.push(b'\t'),
                Some(b'0') => out.push(0),
                Some(b'\\') => out.push(b'\\'),
                other => panic!("unknown escape \\{other:?}"),
            },
            _ => out.push(b),
        }
    }
    out
}

/// Bytes that print as an escaped string.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct B(pub Vec<u8>);

impl fmt::Debug for B {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", self.0.escape_ascii())
    }
}

impl From<&[u8]> for B {
    fn from(b: &[u8]) -> Self {
        Self(b.to_vec())
    }
}

impl From<&str> for B {
    fn from(s: &str) -> Self {
        Self(s.as_bytes().to_vec())
    }
}

/// Every field of a header section, in order.
pub fn fields(headers: &Headers) -> Vec<(B, B)> {
    headers
        .iter()
        .map(|(n, v)| (B::from(n), B::from(v)))
        .collect()
}

/// What a request head says, detached from its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReqSummary {
    pub method: B,
    pub target: B,
    pub version: Version,
    pub form: TargetForm,
    /// `path()`, `query()` and `authority()`: the target's parts as the head reads them.
    pub path: B,
    pub query: Option<B>,
    pub authority: Option<B>,
    pub framing: Framing,
    pub keep_alive: bool,
    pub expects_continue: bool,
    pub wants_upgrade: bool,
    pub headers: Vec<(B, B)>,
}

impl ReqSummary {
    pub fn of(head: &RequestHead) -> Self {
        assert_eq!(head.method(), Method::from_bytes(head.method_bytes()));
        Self {
            method: B::from(head.method_bytes()),
            target: B::from(head.target()),
            version: head.version(),
            form: head.target_form(),
            path: B::from(head.path()),
            query: head.query().map(B::from),
            authority: head.authority().map(B::from),
            framing: head.framing(),
            keep_alive: head.keep_alive(),
            expects_continue: head.expects_continue(),
            wants_upgrade: head.wants_upgrade(),
            headers: fields(head.headers()),
        }
    }
}

/// What a response head says, detached from its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RespSummary {
    pub version: Version,
    pub status: u16,
    pub reason: B,
    pub keep_alive: bool,
    pub headers: Vec<(B, B)>,
}

impl RespSummary {
    pub fn of(head: &ResponseHead) -> Self {
        Self {
            version: head.version(),
            status: head.status(),
            reason: B::from(head.reason()),
            keep_alive: head.keep_alive(),
            headers: fields(head.headers()),
        }
    }
}

/// One thing a parser or connection said, in a split-independent form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ev {
    Request(ReqSummary),
    Response(RespSummary),
    Informational(RespSummary),
    /// Body bytes; consecutive pieces are merged.
    Data(B),
    /// End of a body, with its trailer fields (empty when there were none).
    End(Vec<(B, B)>),
    Paused,
    Closed,
    Error(ErrorKind),
    /// Bytes left in the buffer when the input ran out (not yet turned into events).
    Rest(B),
    /// The bytes a scripted connection wrote.
    Sent(B),
    /// The bytes an upgraded connection handed back.
    Upgraded(B),
    /// Whether the connection must close after its output.
    MustClose(bool),
}

/// Appends an event, merging body pieces and repeated `Paused`/`Closed`.
pub fn push(events: &mut Vec<Ev>, ev: Ev) {
    match (events.last_mut(), ev) {
        (Some(Ev::Data(prev)), Ev::Data(more)) => prev.0.extend_from_slice(&more.0),
        (Some(Ev::Paused), Ev::Paused) | (Some(Ev::Closed), Ev::Closed) => {}
        (_, ev) => events.push(ev),
    }
}

fn end_event(trailers: Option<Box<Headers>>) -> Ev {
    Ev::End(trailers.map(|t| fields(&t)).unwrap_or_default())
}

/// Parses request heads back to back with [`RequestParser`], reading each body with
/// [`BodyDecoder`] before the next head. Stops at the first error.
pub fn run_requests(parts: &[&[u8]], limits: &Limits) -> Vec<Ev> {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let mut parser = RequestParser::new();
    let mut body: Option<BodyDecoder> = None;
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            if let Some(decoder) = &mut body {
                match decoder.decode(&mut buf, limits) {
                    Ok(BodyEvent::Data(d)) => push(&mut events, Ev::Data(B::from(&d[..]))),
                    Ok(BodyEvent::End(t)) => {
                        push(&mut events, end_event(t));
                        body = None;
                    }
                    Ok(BodyEvent::NeedData) => break,
                    Err(e) => {
                        events.push(Ev::Error(e.kind()));
                        return events;
                    }
                }
            } else {
                match parser.parse(&mut buf, limits) {
                    Ok(Some(head)) => {
                        body = Some(BodyDecoder::new(head.framing()));
                        events.push(Ev::Request(ReqSummary::of(&head)));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        events.push(Ev::Error(e.kind()));
                        return events;
                    }
                }
            }
        }
    }
    if !buf.is_empty() {
        events.push(Ev::Rest(B::from(&buf[..])));
    }
    events
}

/// Parses one request head; the bytes after it are returned untouched.
pub fn run_request_head(
    parts: &[&[u8]],
    limits: &Limits,
) -> Result<Option<(ReqSummary, B)>, ErrorKind> {
    let mut buf = BytesMut::new();
    let mut parser = RequestParser::new();
    let mut head = None;
    for part in parts {
        buf.extend_from_slice(part);
        if head.is_none() {
            head = parser.parse(&mut buf, limits).map_err(|e| e.kind())?;
        }
    }
    Ok(head.map(|h| (ReqSummary::of(&h), B::from(&buf[..]))))
}

/// Parses response heads back to back with [`ResponseParser`] (bodiless responses only).
pub fn run_response_heads(parts: &[&[u8]], limits: &Limits) -> Vec<Ev> {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let mut parser = ResponseParser::new();
    for part in parts {
        buf.extend_from_slice(part);
        loop {
            match parser.parse(&mut buf, limits) {
                Ok(Some(head)) => events.push(Ev::Response(RespSummary::of(&head))),
                Ok(None) => break,
                Err(e) => {
                    events.push(Ev::Error(e.kind()));
                    return events;
                }
            }
        }
    }
    if !buf.is_empty() {
        events.push(Ev::Rest(B::from(&buf[..])));
    }
    events
}

/// Decodes one body with [`BodyDecoder`]; with `eof`, the input ends with the connection.
pub fn run_body(parts: &[&[u8]], framing: Framing, limits: &Limits, eof: bool) -> Vec<Ev> {
    let mut events = Vec::new();
    let mut buf = BytesMut::new();
    let mut decoder = BodyDecoder::new(framing);
    let mut done = false;
    for part in parts {
        buf.extend_from_slice(part);
        while !done {
            match decoder.decode(&mut buf, limits) {
                Ok(BodyEvent::Data(d)) => push(&mut events, Ev::Data(B::from(&d[..]))),
                Ok(BodyEvent::End(t)) => {
                    events.push(end_event(t));
                    done = true;
                }
                Ok(BodyEvent::NeedData) => break,
                Err(e) => {
                    events.push(Ev::Error(e.kind()));
                    return events;
                }
            }
        }
    }
    if !done {
        // Bytes may still be waiting for the rest of a line.
        if !buf.is_empty() {
            match decoder.decode(&mut buf, limits) {
                Ok(BodyEvent::NeedData) => {}
                other => panic!("decoder left work undone: {other:?}"),
            }
        }
        if eof {
            match decoder.decode_eof() {
                Ok(BodyEvent::End(t)) => events.push(end_event(t)),
                Ok(other) => panic!("decode_eof gave {other:?}"),
                Err(e) => events.push(Ev::Error(e.kind())),
            }
        }
    }
    if !buf.is_empty() {
        events.push(Ev::Rest(B::from(&buf[..])));
    }
    assert_eq!(
        decoder.is_done(),
        done || events.iter().any(|e| matches!(e, Ev::End(_)))
    );
    events
}

/// A scripted server: answers every complete request with `200` and the body `ok`
/// (sending `100 Continue` first when the client waits for it), answers errors with their
/// status when it still can, and upgrades CONNECT and `Upgrade` requests.
pub fn run_server(parts: &[&[u8]], limits: &Limits, eof: bool) -> Vec<Ev> {
    let mut conn = ServerConn::new(limits.clone());
    let mut events = Vec::new();
    let mut out = BytesMut::new();
    let mut finished = false;
    let mut upgrade_pending = false;
    let feeds = parts.len() + usize::from(eof);
    for i in 0..feeds {
        match parts.get(i) {
            Some(part) => conn.feed(part),
            None => conn.feed_eof(),
        }
        while !finished {
            match conn.poll_event() {
                Ok(ServerEvent::Request(head)) => {
                    upgrade_pending = head.wants_upgrade();
                    events.push(Ev::Request(ReqSummary::of(&head)));
                    if conn.wants_continue() {
                        conn.send_continue(&mut out).expect("send_continue");
                    }
                }
                Ok(ServerEvent::Data(d)) => push(&mut events, Ev::Data(B::from(&d[..]))),
                Ok(ServerEvent::End(t)) => {
                    push(&mut events, end_event(t));
                    if upgrade_pending {
                        let status = if events.iter().rev().find_map(|e| match e {
                            Ev::Request(r) => Some(r.method == B::from("CONNECT")),
                            _ => None,
                        }) == Some(true)
                        {
                            200
                        } else {
                            101
                        };
                        conn.send_response(
                            &Response::new(status).headers(&[(b"upgrade", b"test")]),
                            &mut out,
                        )
                        .expect("upgrade response");
                        assert!(conn.is_upgraded());
                        finished = true;
                    } else {
                        conn.send_response(&Response::new(200).body_len(2), &mut out)
                            .expect("send_response");
                        conn.send_data(b"ok", &mut out).expect("send_data");
                        conn.send_end(&[], &mut out).expect("send_end");
                    }
                }
                Ok(ServerEvent::NeedData) => break,
                Ok(ServerEvent::Paused) => {
                    push(&mut events, Ev::Paused);
                    break;
                }
                Ok(ServerEvent::Closed) => {
                    push(&mut events, Ev::Closed);
                    break;
                }
                Err(e) => {
                    events.push(Ev::Error(e.kind()));
                    assert!(conn.poll_event().is_err(), "errors are sticky");
                    if conn.can_respond() {
                        conn.send_response(&Response::new(e.status()), &mut out)
                            .expect("error response");
                        conn.send_end(&[], &mut out).expect("error response end");
                    }
                    assert!(conn.must_close(), "an error closes the connection");
                    finished = true;
                }
            }
        }
    }
    if let Some(rest) = conn.take_upgraded() {
        events.push(Ev::Upgraded(B::from(&rest[..])));
    }
    events.push(Ev::Sent(B::from(&out[..])));
    events.push(Ev::MustClose(conn.must_close()));
    events
}

/// A scripted client: sends one bodiless request per method (with `Host`), then reads
/// what the server sent. With `eof`, the server closes after the input.
pub fn run_client(methods: &[&str], parts: &[&[u8]], limits: &Limits, eof: bool) -> Vec<Ev> {
    let mut conn = ClientConn::new(limits.clone());
    let mut sent = BytesMut::new();
    for method in methods {
        // `GET+upgrade` sends a GET that asks to switch protocols (a 101 may answer only that).
        let (method, upgrade) = match method.strip_suffix("+upgrade") {
            Some(m) => (m, true),
            None => (*method, false),
        };
        let target: &[u8] = if method == "CONNECT" {
            b"example.com:443"
        } else {
            b"/"
        };
        let plain: &[(&[u8], &[u8])] = &[(b"host", b"example.com")];
        let asking: &[(&[u8], &[u8])] = &[
            (b"host", b"example.com"),
            (b"connection", b"upgrade"),
            (b"upgrade", b"h2c"),
        ];
        let fields = if upgrade { asking } else { plain };
        conn.send_request(&Request::new(method.as_bytes(), target, fields), &mut sent)
            .expect("send_request");
        conn.send_end(&mut sent).expect("send_end");
    }
    let mut events = Vec::new();
    let mut finished = false;
    let feeds = parts.len() + usize::from(eof);
    for i in 0..feeds {
        match parts.get(i) {
            Some(part) => conn.feed(part),
            None => conn.feed_eof(),
        }
        while !finished {
            match conn.poll_event() {
                Ok(ClientEvent::Informational(h)) => {
                    events.push(Ev::Informational(RespSummary::of(&h)));
                }
                Ok(ClientEvent::Response(h)) => events.push(Ev::Response(RespSummary::of(&h))),
                Ok(ClientEvent::Data(d)) => push(&mut events, Ev::Data(B::from(&d[..]))),
                Ok(ClientEvent::End(t)) => push(&mut events, end_event(t)),
                Ok(ClientEvent::NeedData) => break,
                Ok(ClientEvent::Closed) => {
                    push(&mut events, Ev::Closed);
                    break;
                }
                Err(e) => {
                    events.push(Ev::Error(e.kind()));
                    assert!(conn.poll_event().is_err(), "errors are sticky");
                    finished = true;
                }
            }
        }
    }
    if let Some(rest) = conn.take_upgraded() {
        events.push(Ev::Upgraded(B::from(&rest[..])));
    }
    events
}

/// `Limits::default()` with bare LF accepted.
pub fn lenient_lf() -> Limits {
    let mut limits = Limits::default();
    limits.allow_bare_lf = true;
    limits
}

/// `Limits::default()` with obs-fold replaced by spaces.
pub fn folding() -> Limits {
    let mut limits = Limits::default();
    limits.fold_obs_fold = true;
    limits
}
