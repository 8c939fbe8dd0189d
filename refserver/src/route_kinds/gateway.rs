//! What the CGI and FastCGI gateways share: a program's CGI response (RFC 3875 §6),
//! parsed as it arrives with cgi-env's `ResponseParser` and streamed into the
//! [`ResponseSink`] with back-pressure; the local redirect (§6.2.2) re-dispatched
//! inside the server; and the request's environment, built by cgi-env.

use crate::dispatch;
use crate::exchange::{Exchange, ExchangeError, Redirect, Request, Started};
use crate::response::ResponseSink;
use crate::route_kinds::reply::Reply;
use crate::server::GatewayCounters;
use crate::server::Server;
use crate::transport::ConnInfo;
use bytes::Bytes;
use cgi_env::{
    CgiRequest, Environment, ResponseEvent, ResponseKind, ResponseParser, ScriptResolution,
};
use http_proto::RequestHead;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;

/// Where [`GatewayOutput::pump`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pumped {
    /// Feed more of the program's output (or its end).
    NeedData,
    /// The client's output is full: poll again once it has room.
    Full,
    /// The response is complete.
    Ended,
    /// The program asked for a local redirect to this path (nothing was sent).
    LocalRedirect(Bytes),
}

/// A program's response on its way to the client.
pub(crate) struct GatewayOutput {
    parser: ResponseParser,
    /// Body bytes the program's `Content-Length` still allows, when it gave one.
    remaining: Option<u64>,
    /// An `nph-` script's output so far, kept until the parser has seen its status line:
    /// it goes out as it is (RFC 3875 §5).
    nph_raw: Option<Vec<u8>>,
    /// The `nph-` head is out: output passes through unparsed; what waits, and the end.
    passing: Option<(Vec<u8>, bool)>,
    /// Fields the server adds to the program's head (a sticky upstream's cookie).
    extra_fields: Vec<(&'static [u8], String)>,
}

impl GatewayOutput {
    /// For a program whose output is a CGI response; `nph` for an `nph-` script's.
    pub(crate) fn new(nph: bool) -> Self {
        Self {
            parser: ResponseParser::new(cgi_env::Limits::default()),
            remaining: None,
            nph_raw: nph.then(Vec::new),
            passing: None,
            extra_fields: Vec::new(),
        }
    }

    /// Adds a field to the head the program's head becomes.
    pub(crate) fn add_field(&mut self, name: &'static [u8], value: String) {
        self.extra_fields.push((name, value));
    }

    /// More of the program's output.
    pub(crate) fn feed(&mut self, data: &[u8]) {
        if let Some((waiting, _)) = &mut self.passing {
            waiting.extend_from_slice(data);
            return;
        }
        if let Some(raw) = &mut self.nph_raw {
            raw.extend_from_slice(data);
        }
        self.parser.feed(data);
    }

    /// The program's output ended.
    pub(crate) fn feed_eof(&mut self) {
        match &mut self.passing {
            Some((_, ended)) => *ended = true,
            None => self.parser.feed_eof(),
        }
    }

    /// Whether the head has been parsed (and so sent, or turned into a redirect).
    pub(crate) fn head_done(&self) -> bool {
        self.parser.head_done()
    }

    /// Moves what has been parsed into `sink`, as far as it has room. `name` is the
    /// program, for log lines (formatted only when one is written). A malformed head is
    /// the program's fault (502); a body past the program's own `Content-Length` is
    /// dropped with a log line, never sent as a second response.
    pub(crate) fn pump(
        &mut self,
        sink: &mut ResponseSink<'_>,
        name: &dyn std::fmt::Display,
    ) -> Result<Pumped, ExchangeError> {
        let fault = |what: String| ExchangeError::new(502, format!("{name}: {what}"));
        loop {
            if sink.is_started() && !sink.has_room() {
                return Ok(Pumped::Full);
            }
            if let Some((waiting, ended)) = &mut self.passing {
                if !waiting.is_empty() {
                    sink.data(waiting)?;
                    waiting.clear();
                    continue;
                }
                if *ended {
                    sink.end(&[])?;
                    return Ok(Pumped::Ended);
                }
                return Ok(Pumped::NeedData);
            }
            let event = self.parser.poll_event().map_err(|e| {
                ExchangeError::new(e.status_code(), format!("{name}: bad response: {e}"))
            })?;
            match event {
                ResponseEvent::NeedData => return Ok(Pumped::NeedData),
                ResponseEvent::Head(cgi) => match (cgi.kind, self.nph_raw.take()) {
                    (ResponseKind::Nph, Some(raw)) => {
                        // Its own status line and head, passed through unparsed.
                        sink.raw(cgi.status)?;
                        sink.data(&raw)?;
                        self.passing = Some((Vec::new(), false));
                    }
                    (ResponseKind::Nph, None) => {
                        return Err(fault(
                            "wrote a status line, which only nph- scripts may".to_owned(),
                        ));
                    }
                    (_, Some(_)) => {
                        return Err(fault(
                            "an nph- script must start with a status line".to_owned(),
                        ));
                    }
                    (ResponseKind::LocalRedirect, None) => {
                        return Ok(Pumped::LocalRedirect(
                            cgi.location().cloned().unwrap_or_default(),
                        ));
                    }
                    (_, None) => {
                        self.remaining = cgi.content_length();
                        let mut fields = cgi.http_fields();
                        fields.extend(self.extra_fields.iter().map(|(n, v)| (*n, v.as_bytes())));
                        sink.head(&cgi.http_response(&fields))?;
                    }
                },
                ResponseEvent::Body(data) => {
                    let Some(remaining) = &mut self.remaining else {
                        sink.data(&data)?;
                        continue;
                    };
                    let take =
                        usize::try_from(*remaining).map_or(data.len(), |r| r.min(data.len()));
                    sink.data(&data[..take])?;
                    *remaining -= take as u64;
                    if take < data.len() {
                        tracing::warn!(
                            "{name}: wrote more than its Content-Length; {} bytes dropped",
                            data.len() - take
                        );
                        sink.end(&[])?;
                        return Ok(Pumped::Ended);
                    }
                }
                ResponseEvent::End => {
                    if let Some(missing) = self.remaining.filter(|&r| r > 0) {
                        // Ending now would look complete to nobody: the framing says more.
                        return Err(fault(format!(
                            "output ended {missing} bytes short of its Content-Length"
                        )));
                    }
                    sink.end(&[])?;
                    return Ok(Pumped::Ended);
                }
            }
        }
    }
}

/// RFC 3875 §6.2.2: answers with what a GET of `location` (a path) would get, as if the
/// client had asked for it, with `REDIRECT_*` telling a script the original. `depth` is
/// how many local redirects led to `head`.
pub(crate) fn local_redirect(
    server: &Arc<Server>,
    head: &RequestHead,
    conn: &ConnInfo,
    depth: u8,
    location: &[u8],
) -> Result<Started, String> {
    if depth >= Redirect::MAX_DEPTH {
        return Err(format!("more than {} local redirects", Redirect::MAX_DEPTH));
    }
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(location);
    raw.extend_from_slice(b" HTTP/1.1\r\n");
    let mut has_host = false;
    for (name, value) in head.headers().iter() {
        if [&b"content-length"[..], b"transfer-encoding", b"expect"]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
        {
            continue;
        }
        has_host |= name.eq_ignore_ascii_case(b"host");
        raw.extend_from_slice(name);
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value);
        raw.extend_from_slice(b"\r\n");
    }
    if !has_host {
        raw.extend_from_slice(b"host: ");
        raw.extend_from_slice(head.authority().unwrap_or(b"localhost"));
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"\r\n");
    let Ok(Some((redirected, _))) =
        RequestHead::parse(&Bytes::from(raw), &http_proto::Limits::default())
    else {
        return Err(format!(
            "local redirect to `{}`: not a request-target",
            String::from_utf8_lossy(location)
        ));
    };
    let redirect = Redirect {
        depth: depth + 1,
        url: Bytes::copy_from_slice(head.path()),
        query: head.query().map(Bytes::copy_from_slice),
    };
    let (mut started, _) =
        dispatch::dispatch_redirected(server, &redirected, conn, Some(&redirect));
    started.get().body_end();
    Ok(started)
}

/// The RFC 3875 environment of a request for `script` (cgi-env's), with the route's
/// `extra` variables and, for a redirected request, `REDIRECT_URL` and
/// `REDIRECT_QUERY_STRING` (what it first was, as Apache names them). Errors carry the
/// status to answer with.
pub(crate) fn environment(
    request: &Request<'_>,
    script: &ScriptResolution,
    extra: &[(Bytes, Bytes)],
) -> Result<Environment, ExchangeError> {
    let head = request.head;
    let unspecified = std::net::SocketAddr::from(([0, 0, 0, 0], 0));
    let cgi_request = CgiRequest {
        remote_addr: request.peer.unwrap_or(unspecified),
        server_addr: request.local.unwrap_or(unspecified),
        server_software: concat!("refserver/", env!("CARGO_PKG_VERSION")).as_bytes(),
        https: request.tls.is_some(),
        ..CgiRequest::from_head(head)
    };
    let mut env = Environment::build(&cgi_request, script, head.headers().iter())
        .map_err(|e| ExchangeError::new(e.status_code(), e.to_string()))?;
    let redirected = request.redirect.into_iter().flat_map(|r| {
        let url = (Bytes::from_static(b"REDIRECT_URL"), r.url.clone());
        let query = r
            .query
            .clone()
            .map(|q| (Bytes::from_static(b"REDIRECT_QUERY_STRING"), q));
        std::iter::once(url).chain(query)
    });
    for (k, v) in extra.iter().cloned().chain(redirected) {
        env.set(k, v)
            .map_err(|e| ExchangeError::new(500, format!("env: {e}")))?;
    }
    Ok(env)
}

/// The route's extra variables, checked at start-up: `route N: KIND: env ...` on error.
pub(crate) fn extra_env(
    env: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<(Bytes, Bytes)>, String> {
    env.iter()
        .map(|(name, value)| {
            if name.is_empty() || name.contains(['=', '\0']) || value.contains('\0') {
                return Err(format!("env `{name}`: not a variable name and value"));
            }
            Ok((Bytes::from(name.clone()), Bytes::from(value.clone())))
        })
        .collect()
}

/// A request body of unknown length (chunked), written to a temporary file first so the
/// program gets `CONTENT_LENGTH`, most scripts and PHP need it (`unknown_length =
/// "spool"`). Blocking writes, like static file reads: a local temporary file.
#[derive(Debug)]
pub(crate) struct Spool {
    file: std::fs::File,
    len: u64,
}

impl Spool {
    pub(crate) fn new() -> Result<Self, ExchangeError> {
        let file = tempfile::tempfile()
            .map_err(|e| ExchangeError::new(500, format!("spool file: {e}")))?;
        Ok(Self { file, len: 0 })
    }

    /// Appends a piece of the body.
    pub(crate) fn write(&mut self, data: &[u8]) -> Result<(), ExchangeError> {
        use std::io::Write;
        self.file
            .write_all(data)
            .map_err(|e| ExchangeError::new(500, format!("spool file: {e}")))?;
        self.len += data.len() as u64;
        Ok(())
    }

    /// The body is complete: `CONTENT_LENGTH` goes into `env`, and the file, rewound,
    /// is what the program reads.
    pub(crate) fn finish(mut self, env: &mut Environment) -> Result<std::fs::File, ExchangeError> {
        use std::io::Seek;
        let fail = |e: String| ExchangeError::new(500, format!("spool file: {e}"));
        self.file.rewind().map_err(|e| fail(e.to_string()))?;
        env.set("CONTENT_LENGTH", self.len.to_string())
            .map_err(|e| fail(e.to_string()))?;
        Ok(self.file)
    }
}

/// A request a gateway (`kind`) turns down before starting anything: counted as one of
/// its errors, logged with the request-target, answered with `status`.
pub(crate) fn refuse(
    request: &Request<'_>,
    counters: &GatewayCounters,
    kind: &str,
    status: u16,
    message: &str,
) -> Box<dyn Exchange> {
    counters.errors.fetch_add(1, Relaxed);
    tracing::warn!(
        "{kind} {}: {message}",
        String::from_utf8_lossy(request.head.target())
    );
    Reply::error(status).into_exchange()
}

/// A program's name in log lines, `KIND NAME`, formatted only when a line is written
/// (output is pumped many times a request).
pub(crate) struct LogName<'a>(pub(crate) &'static str, pub(crate) &'a str);

impl std::fmt::Display for LogName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.0, self.1)
    }
}
