//! The request meta-variables (RFC 3875 §4.1) and the de-facto extras real programs need.

use std::net::{IpAddr, SocketAddr};

use bytes::{Bytes, BytesMut};
use http_proto::semantics::host_without_port;
use http_proto::{Framing, RequestHead};

use crate::{Error, ScriptResolution};

/// What the server knows about one request and itself: the input of
/// [`Environment::build`].
///
/// The request's own facts come from the parsed [`RequestHead`], as http-proto read them:
/// start from [`CgiRequest::from_head`] (or [`CgiRequest::default`]) and set what the
/// server knows (addresses, names, TLS, authentication). Nothing here splits the target
/// again. Header fields are passed to `build` separately, as any iterator of name-value
/// pairs (`head.headers().iter()`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgiRequest<'a> {
    /// The request method, exactly as received (`REQUEST_METHOD`).
    pub method: &'a [u8],
    /// The request target as received (`REQUEST_URI`, de facto), in whatever form it
    /// came: `/a?b`, or `http://host/a?b` for an absolute-form target.
    pub request_target: &'a [u8],
    /// The query as http-proto split it off the target ([`RequestHead::query`]): after
    /// the first `?`, still percent-encoded, never with a `#` fragment. `None` when the
    /// target has no `?` (`QUERY_STRING`, which is then `""`).
    pub query: Option<&'a [u8]>,
    /// The request's effective authority ([`RequestHead::authority`]): an absolute-form
    /// target's authority, else the `Host` field. `SERVER_NAME` is its host when
    /// [`server_name`](Self::server_name) is empty.
    pub authority: Option<&'a [u8]>,
    /// The protocol version as received, e.g. `HTTP/1.1` (`SERVER_PROTOCOL`).
    pub protocol: &'a [u8],
    /// Length of the request body after transfer-codings were removed, `None` when the
    /// request has no body (`CONTENT_LENGTH`). A chunked body must be read whole (or its
    /// length otherwise known) before the script starts.
    pub content_length: Option<u64>,
    /// The client's address and port (`REMOTE_ADDR`, `REMOTE_PORT`).
    pub remote_addr: SocketAddr,
    /// The local address and port the request arrived on (`SERVER_ADDR`, `SERVER_PORT`).
    pub server_addr: SocketAddr,
    /// The configured server name (`SERVER_NAME`); empty means "use the host of
    /// [`authority`](Self::authority)".
    pub server_name: &'a [u8],
    /// Name and version of the server (`SERVER_SOFTWARE`).
    pub server_software: &'a [u8],
    /// The connection is TLS (`HTTPS=on`, `REQUEST_SCHEME=https`).
    pub https: bool,
    /// The authentication scheme the server checked, e.g. `Basic` (`AUTH_TYPE`).
    pub auth_type: Option<&'a [u8]>,
    /// The user the server authenticated (`REMOTE_USER`).
    pub remote_user: Option<&'a [u8]>,
    /// The client's host name if the server looked it up (`REMOTE_HOST`).
    pub remote_host: Option<&'a [u8]>,
    /// The RFC 1413 identity if the server asked for one (`REMOTE_IDENT`).
    pub remote_ident: Option<&'a [u8]>,
    /// `REDIRECT_STATUS`; `Some(200)` by default, `None` leaves it out.
    pub redirect_status: Option<u16>,
    /// Pass `Authorization` and `Proxy-Authorization` as `HTTP_*` (default `false`).
    pub pass_authorization: bool,
}

impl Default for CgiRequest<'_> {
    fn default() -> Self {
        let unspecified = SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0);
        Self {
            method: b"GET",
            request_target: b"/",
            query: None,
            authority: None,
            protocol: b"HTTP/1.1",
            content_length: None,
            remote_addr: unspecified,
            server_addr: unspecified,
            server_name: b"",
            server_software: concat!("cgi-env/", env!("CARGO_PKG_VERSION")).as_bytes(),
            https: false,
            auth_type: None,
            remote_user: None,
            remote_host: None,
            remote_ident: None,
            redirect_status: Some(200),
            pass_authorization: false,
        }
    }
}

impl<'a> CgiRequest<'a> {
    /// The request's own facts as http-proto parsed them: method, target (for
    /// `REQUEST_URI`), query, effective authority, version, and `content_length` for a
    /// Content-Length body. The server's facts (addresses, names, TLS, authentication)
    /// keep their defaults: set them with struct update syntax.
    ///
    /// A chunked body has no length yet: `content_length` is `None` until the gateway
    /// has read the body and sets it.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use cgi_env::CgiRequest;
    ///
    /// let raw = Bytes::from_static(b"GET http://example.org/cgi-bin/a?x=1#top HTTP/1.1\r\nHost: other\r\n\r\n");
    /// let (head, _) = http_proto::RequestHead::parse(&raw, &http_proto::Limits::default())?.unwrap();
    /// let request = CgiRequest { https: false, ..CgiRequest::from_head(&head) };
    /// assert_eq!(request.query, Some(&b"x=1"[..]));
    /// assert_eq!(request.authority, Some(&b"example.org"[..]));
    /// assert_eq!(request.protocol, b"HTTP/1.1");
    /// # Ok::<(), http_proto::Error>(())
    /// ```
    #[must_use]
    pub fn from_head(head: &'a RequestHead) -> Self {
        Self {
            method: head.method_bytes(),
            request_target: head.target(),
            query: head.query(),
            authority: head.authority(),
            protocol: head.version().as_str().as_bytes(),
            content_length: match head.framing() {
                Framing::Length(n) => Some(n),
                _ => None,
            },
            ..Self::default()
        }
    }
}

/// Maps a request field name to its `HTTP_*` meta-variable name (RFC 3875 §4.1.18):
/// upper-case, `-` becomes `_`, prefixed with `HTTP_`.
///
/// This is the bare mapping; [`Environment::build`] also decides which fields are
/// mapped at all.
///
/// ```
/// assert_eq!(cgi_env::http_variable_name(b"User-Agent"), b"HTTP_USER_AGENT");
/// ```
#[must_use]
pub fn http_variable_name(header: &[u8]) -> Vec<u8> {
    let mut name = Vec::with_capacity(5 + header.len());
    name.extend_from_slice(b"HTTP_");
    name.extend(header.iter().map(|&b| variable_byte(b)));
    name
}

/// One byte of the §4.1.18 name mapping: `-` becomes `_`, letters are upper-cased.
fn variable_byte(b: u8) -> u8 {
    if b == b'-' {
        b'_'
    } else {
        b.to_ascii_uppercase()
    }
}

/// Whether a request field becomes an `HTTP_*` variable (see [`Environment`]).
fn is_passed_header(name: &[u8], pass_authorization: bool) -> bool {
    if name.is_empty() || !name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-') {
        return false;
    }
    let excluded: &[&[u8]] = &[b"content-length", b"content-type", b"proxy"];
    if excluded.iter().any(|e| name.eq_ignore_ascii_case(e)) {
        return false;
    }
    let credentials: &[&[u8]] = &[b"authorization", b"proxy-authorization"];
    pass_authorization || !credentials.iter().any(|e| name.eq_ignore_ascii_case(e))
}

/// An ordered list of meta-variables: `(name, value)` byte pairs, names unique.
///
/// [`Environment::build`] turns a [`CgiRequest`] (what the server knows about the request
/// and itself), a [`ScriptResolution`] and the request's header fields into an ordered
/// list of `(name, value)` byte pairs. The CGI gateway passes them to the child's
/// environment; the FastCGI gateway sends them as `FCGI_PARAMS` name-value pairs.
///
/// RFC 3875 §4.1 treats a variable that is unset and one whose value is empty alike
/// ("NULL"). This builder is exact about which it produces, variable by variable:
///
/// | variable | rule |
/// |---|---|
/// | `GATEWAY_INTERFACE` | always `CGI/1.1` (§4.1.4) |
/// | `SERVER_SOFTWARE` | always (§4.1.17) |
/// | `SERVER_NAME` | always (§4.1.14): [`CgiRequest::server_name`], else the host of [`CgiRequest::authority`] (an absolute-form target's, else `Host`'s) without its port, else the server's address |
/// | `SERVER_PROTOCOL` | always, as received (§4.1.16) |
/// | `SERVER_PORT` | always (§4.1.15), from [`CgiRequest::server_addr`] |
/// | `SERVER_ADDR` | always (de facto: Apache, nginx) |
/// | `REQUEST_METHOD` | always, case preserved (§4.1.12) |
/// | `REQUEST_URI` | always, the request target as received (de facto) |
/// | `SCRIPT_NAME` | always, possibly empty (§4.1.13) |
/// | `SCRIPT_FILENAME` | always (de facto; php-fpm needs it) |
/// | `PATH_INFO` | only when not empty (§4.1.5) |
/// | `PATH_TRANSLATED` | only when `PATH_INFO` is set: §4.1.6 says it MUST be NULL otherwise |
/// | `QUERY_STRING` | always (§4.1.7 MUST): [`CgiRequest::query`] as http-proto split it, still URL-encoded, never a `#` fragment; `""` when the target has no `?` |
/// | `DOCUMENT_ROOT` | always (de facto) |
/// | `REMOTE_ADDR` | always (§4.1.8); an IPv4-mapped IPv6 address is shown as IPv4 |
/// | `REMOTE_PORT` | always (de facto) |
/// | `REMOTE_HOST` | always (§4.1.9 SHOULD): the host name when known, else `REMOTE_ADDR`, as the RFC allows |
/// | `REMOTE_IDENT` | only when an ident lookup produced one (§4.1.10 MAY) |
/// | `AUTH_TYPE` | only when the server authenticated the request (§4.1.1) |
/// | `REMOTE_USER` | only when the server authenticated the request (§4.1.11) |
/// | `CONTENT_TYPE` | only when the request has a `Content-Type` field (§4.1.3) |
/// | `CONTENT_LENGTH` | only when the request has a body (§4.1.2): its length after transfer-codings are removed |
/// | `HTTPS` | `on` only over TLS (de facto, Apache/nginx) |
/// | `REQUEST_SCHEME` | always, `http` or `https` (de facto, Apache 2.4/nginx) |
/// | `REDIRECT_STATUS` | when [`CgiRequest::redirect_status`] is set, by default `200` (php-cgi's `cgi.force_redirect` refuses to run without it) |
/// | `HTTP_*` | one per distinct request field name, see below (§4.1.18) |
///
/// `HTTP_*` rules (§4.1.18): the name is upper-cased, `-` becomes `_`, `HTTP_` goes in
/// front. Fields with the same name are joined into one value with `, ` (RFC 9110
/// §5.3), except `Cookie`, joined with `; ` so the value keeps its meaning (RFC 6265
/// §5.4). Left out:
///
/// - `Authorization` and `Proxy-Authorization` (credentials, §4.1.18 SHOULD remove),
///   unless [`CgiRequest::pass_authorization`] is set (Apache's `CGIPassAuth On`);
/// - `Content-Length` and `Content-Type` (already in `CONTENT_*`);
/// - `Proxy`: `HTTP_PROXY` is the variable HTTP client libraries read for their proxy,
///   so a client could redirect a script's outgoing requests (the "httpoxy" hole,
///   CVE-2016-5385 and relatives);
/// - any field whose name holds anything but ASCII letters, digits and `-`: `X_Real_IP`
///   would otherwise map to the same variable as `X-Real-IP` and could spoof it (Apache
///   2.4 and nginx's default `underscores_in_headers off` drop them likewise).
///
/// Build one per request with [`build`](Self::build), add the gateway's own variables
/// (`PATH`, `GIT_PROJECT_ROOT`, ...) with [`set`](Self::set), then hand
/// [`iter`](Self::iter) to the child process or the FastCGI params encoder.
///
/// ```
/// use cgi_env::{CgiRequest, Environment, ScriptResolution};
///
/// let request = CgiRequest {
///     method: b"POST",
///     request_target: b"/cgi-bin/form.cgi/extra?lang=en",
///     query: Some(b"lang=en"),
///     authority: Some(b"example.com:8080"),
///     content_length: Some(11),
///     ..CgiRequest::default()
/// };
/// let script = ScriptResolution::new(
///     b"/cgi-bin/form.cgi".to_vec(),
///     b"/extra".to_vec(),
///     "/usr/lib/cgi-bin/form.cgi".into(),
///     "/var/www".into(),
/// );
/// let headers: [(&[u8], &[u8]); 3] = [
///     (b"Host", b"example.com"),
///     (b"Content-Type", b"application/x-www-form-urlencoded"),
///     (b"Proxy", b"http://evil.example/"),
/// ];
/// let env = Environment::build(&request, &script, headers).unwrap();
/// assert_eq!(env.get(b"QUERY_STRING"), Some(&b"lang=en"[..]));
/// assert_eq!(env.get(b"PATH_TRANSLATED"), Some(&b"/var/www/extra"[..]));
/// assert_eq!(env.get(b"CONTENT_LENGTH"), Some(&b"11"[..]));
/// assert_eq!(env.get(b"SERVER_NAME"), Some(&b"example.com"[..]));
/// assert_eq!(env.get(b"HTTP_PROXY"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Environment {
    vars: Vec<(Bytes, Bytes)>,
}

impl Environment {
    /// Builds the meta-variables for one request; see [`Environment`] for the rule of
    /// each variable. `headers` are the request's fields in the order received.
    ///
    /// # Errors
    ///
    /// [`Error::NulInVariable`] if a value (method, target, a header value, ...) holds a
    /// NUL byte: no environment can carry it, so the request must be refused (400).
    pub fn build<I, N, V>(
        request: &CgiRequest<'_>,
        script: &ScriptResolution,
        headers: I,
    ) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        let headers: Vec<(N, V)> = headers.into_iter().collect();

        // Every value (and every HTTP_* name) is written once into one buffer, then
        // handed out as slices of it: three allocations per environment, not sixty.
        let mut arena = Arena::with_capacity(
            512 + request.request_target.len() * 2
                + request.query.map_or(0, <[u8]>::len)
                + request.authority.map_or(0, <[u8]>::len)
                + headers
                    .iter()
                    .map(|(n, v)| n.as_ref().len() + v.as_ref().len() + 8)
                    .sum::<usize>(),
        );

        let content_type = headers
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(b"content-type"))
            .map(|(_, v)| v.as_ref());
        let host = request
            .authority
            .map(host_without_port)
            .filter(|h| !h.is_empty());

        arena.push(b"GATEWAY_INTERFACE", b"CGI/1.1");
        arena.push(b"SERVER_SOFTWARE", request.server_software);
        if !request.server_name.is_empty() {
            arena.push(b"SERVER_NAME", request.server_name);
        } else if let Some(host) = host {
            arena.push(b"SERVER_NAME", host);
        } else {
            arena.push_ip(b"SERVER_NAME", request.server_addr.ip());
        }
        arena.push(b"SERVER_PROTOCOL", request.protocol);
        arena.push_decimal(b"SERVER_PORT", request.server_addr.port().into());
        arena.push_ip(b"SERVER_ADDR", request.server_addr.ip());
        arena.push(b"REQUEST_METHOD", request.method);
        arena.push(b"REQUEST_URI", request.request_target);
        arena.push(b"SCRIPT_NAME", &script.script_name);
        arena.push(b"SCRIPT_FILENAME", path_bytes(&script.script_filename));
        if !script.path_info.is_empty() {
            arena.push(b"PATH_INFO", &script.path_info);
            if let Some(translated) = &script.path_translated {
                arena.push(b"PATH_TRANSLATED", path_bytes(translated));
            }
        }
        arena.push(b"QUERY_STRING", request.query.unwrap_or_default());
        arena.push(b"DOCUMENT_ROOT", path_bytes(&script.document_root));
        arena.push_ip(b"REMOTE_ADDR", request.remote_addr.ip());
        arena.push_decimal(b"REMOTE_PORT", request.remote_addr.port().into());
        match request.remote_host.filter(|h| !h.is_empty()) {
            Some(host) => arena.push(b"REMOTE_HOST", host),
            None => arena.push_ip(b"REMOTE_HOST", request.remote_addr.ip()),
        }
        if let Some(ident) = request.remote_ident {
            arena.push(b"REMOTE_IDENT", ident);
        }
        if let Some(auth_type) = request.auth_type {
            arena.push(b"AUTH_TYPE", auth_type);
        }
        if let Some(user) = request.remote_user {
            arena.push(b"REMOTE_USER", user);
        }
        if let Some(content_type) = content_type {
            arena.push(b"CONTENT_TYPE", content_type);
        }
        if let Some(length) = request.content_length {
            arena.push_decimal(b"CONTENT_LENGTH", length);
        }
        if request.https {
            arena.push(b"HTTPS", b"on");
        }
        arena.push(
            b"REQUEST_SCHEME",
            if request.https { b"https" } else { b"http" },
        );
        if let Some(status) = request.redirect_status {
            arena.push_decimal(b"REDIRECT_STATUS", status.into());
        }

        // HTTP_*: group fields by name (ASCII case-insensitive: the passed names hold
        // only letters, digits and `-`, so equal names map to equal variables and
        // different names to different ones), in order of first appearance.
        let mut done_inline = [false; 32];
        let mut done_heap = Vec::new();
        let done: &mut [bool] = match done_inline.get_mut(..headers.len()) {
            Some(done) => done,
            None => {
                done_heap.resize(headers.len(), false);
                &mut done_heap
            }
        };
        for (i, (name, value)) in headers.iter().enumerate() {
            let name = name.as_ref();
            if done[i] || !is_passed_header(name, request.pass_authorization) {
                continue;
            }
            let var_start = arena.buf.len();
            arena.buf.extend_from_slice(b"HTTP_");
            arena.buf.extend_from_slice(name);
            if let Some(mapped) = arena.buf.get_mut(var_start + 5..) {
                mapped.iter_mut().for_each(|b| *b = variable_byte(*b));
            }
            let value_start = arena.buf.len();
            arena.buf.extend_from_slice(value.as_ref());
            let separator: &[u8] = if name.eq_ignore_ascii_case(b"cookie") {
                b"; "
            } else {
                b", "
            };
            for (j, (other, more)) in headers.iter().enumerate().skip(i + 1) {
                if !done[j] && other.as_ref().eq_ignore_ascii_case(name) {
                    done[j] = true;
                    arena.buf.extend_from_slice(separator);
                    arena.buf.extend_from_slice(more.as_ref());
                }
            }
            arena.entries.push((
                Name::Arena(var_start..value_start),
                value_start..arena.buf.len(),
            ));
        }
        arena.finish()
    }

    /// Sets `name` to `value`: replaces the value in place if the name exists, appends
    /// otherwise. Use it for the gateway's own variables (`PATH`, `GIT_PROJECT_ROOT`,
    /// `GIT_HTTP_EXPORT_ALL`, ...).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVariableName`] for an empty name or one with `=` or NUL;
    /// [`Error::NulInVariable`] for a value with NUL.
    pub fn set(&mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Result<(), Error> {
        let (name, value) = (name.into(), value.into());
        if name.is_empty() || name.iter().any(|&b| b == b'=' || b == 0) {
            return Err(Error::InvalidVariableName {
                name: name.to_vec(),
            });
        }
        check_value(&name, &value)?;
        match self.vars.iter_mut().find(|(n, _)| *n == name) {
            Some((_, old)) => *old = value,
            None => self.vars.push((name, value)),
        }
        Ok(())
    }

    /// Removes `name`, returning its value.
    pub fn remove(&mut self, name: &[u8]) -> Option<Bytes> {
        let index = self.vars.iter().position(|(n, _)| n == name)?;
        Some(self.vars.remove(index).1)
    }

    /// The value of `name`, if set.
    #[must_use]
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The variables in order: the RFC 3875 and de-facto variables in the order of the
    /// table on [`Environment`], then `HTTP_*` in the order their fields first appeared, then what
    /// [`set`](Self::set) appended.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.vars.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// The pairs as a slice.
    #[must_use]
    pub fn as_slice(&self) -> &[(Bytes, Bytes)] {
        &self.vars
    }

    /// The pairs, by value.
    #[must_use]
    pub fn into_vec(self) -> Vec<(Bytes, Bytes)> {
        self.vars
    }

    /// Number of variables.
    #[must_use]
    pub fn len(&self) -> usize {
        self.vars.len()
    }

    /// No variables at all (only a default-constructed `Environment`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }
}

fn check_value(name: &[u8], value: &[u8]) -> Result<(), Error> {
    if memchr::memchr(0, value).is_some() {
        return Err(Error::NulInVariable {
            name: name.to_vec(),
        });
    }
    Ok(())
}

#[cfg(unix)]
fn path_bytes(path: &std::path::Path) -> &[u8] {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes()
}

#[cfg(not(unix))]
fn path_bytes(path: &std::path::Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// `n` in decimal, written into the end of `digits`.
fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        // n % 10 < 10: the cast keeps the value.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

/// A variable's name: a constant, or a range of the arena (`HTTP_*`).
enum Name {
    Static(&'static [u8]),
    Arena(std::ops::Range<usize>),
}

/// The one buffer [`Environment::build`] writes every value into.
struct Arena {
    buf: BytesMut,
    entries: Vec<(Name, std::ops::Range<usize>)>,
}

impl Arena {
    fn with_capacity(bytes: usize) -> Self {
        Self {
            buf: BytesMut::with_capacity(bytes),
            entries: Vec::with_capacity(48),
        }
    }

    fn push(&mut self, name: &'static [u8], value: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(value);
        self.entries
            .push((Name::Static(name), start..self.buf.len()));
    }

    /// An address as `Display` writes its canonical form (an IPv4-mapped IPv6 address as
    /// IPv4), without the formatting machinery for IPv4: three of these a request.
    fn push_ip(&mut self, name: &'static [u8], ip: std::net::IpAddr) {
        match ip.to_canonical() {
            std::net::IpAddr::V4(v4) => {
                // At most "255.255.255.255": written on the stack, copied once.
                let mut text = [0u8; 15];
                let mut len = 0;
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        text[len] = b'.';
                        len += 1;
                    }
                    if octet >= 100 {
                        text[len] = b'0' + octet / 100;
                        len += 1;
                    }
                    if octet >= 10 {
                        text[len] = b'0' + octet / 10 % 10;
                        len += 1;
                    }
                    text[len] = b'0' + octet % 10;
                    len += 1;
                }
                self.push(name, &text[..len]);
            }
            v6 => self.push_display(name, v6),
        }
    }

    fn push_decimal(&mut self, name: &'static [u8], n: u64) {
        self.push(name, decimal(n, &mut [0; 20]));
    }

    fn push_display(&mut self, name: &'static [u8], value: impl std::fmt::Display) {
        use std::fmt::Write;
        let start = self.buf.len();
        // Writing to a BytesMut cannot fail.
        let _ = write!(self.buf, "{value}");
        self.entries
            .push((Name::Static(name), start..self.buf.len()));
    }

    /// Checks for NULs and slices the frozen buffer into the variables.
    fn finish(self) -> Result<Environment, Error> {
        // Names never hold a NUL, so one scan of the whole buffer clears every value.
        if let Some(nul) = memchr::memchr(0, &self.buf) {
            let name = self
                .entries
                .iter()
                .find(|(_, value)| value.contains(&nul))
                .map(|(name, _)| match name {
                    Name::Static(name) => name.to_vec(),
                    Name::Arena(range) => self.buf.get(range.clone()).unwrap_or_default().to_vec(),
                })
                .unwrap_or_default();
            return Err(Error::NulInVariable { name });
        }
        let buf = self.buf.freeze();
        let vars = self
            .entries
            .into_iter()
            .map(|(name, value)| {
                let name = match name {
                    Name::Static(name) => Bytes::from_static(name),
                    Name::Arena(range) => buf.slice(range),
                };
                (name, buf.slice(value))
            })
            .collect();
        Ok(Environment { vars })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_map_to_http_variables() {
        assert_eq!(http_variable_name(b"User-Agent"), b"HTTP_USER_AGENT");
        assert_eq!(
            http_variable_name(b"x-forwarded-for"),
            b"HTTP_X_FORWARDED_FOR"
        );
    }
}
