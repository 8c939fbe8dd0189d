//! Writing heads: status and request lines, fields, and the cached `Date` value.

use crate::error::Error;
use crate::head::{Method, is_field_name, is_field_value};
use bytes::{BufMut, BytesMut};
use std::time::SystemTime;

/// A response to send: status, fields, and what the caller knows of the body's length.
///
/// The connection adds the framing fields (Content-Length or Transfer-Encoding), `Date`
/// when a [`DateCache`] is given, and `Connection` when keep-alive needs saying. Fields
/// the caller passes are checked: a CR, LF or NUL in a value (header injection) is refused.
///
/// ```
/// use http_proto::Response;
/// let hello = Response::new(200).headers(&[(b"content-type", b"text/plain")]).body_len(13);
/// assert_eq!(hello.status, 200);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Response<'a> {
    /// Status code, 100 to 999.
    pub status: u16,
    /// Reason phrase; `None` writes the standard one for the status.
    pub reason: Option<&'a [u8]>,
    /// Fields, written in order. Must not include Content-Length or Transfer-Encoding.
    pub headers: &'a [(&'a [u8], &'a [u8])],
    /// `Some(n)`: the body is exactly n bytes. `None`: unknown, so chunked for HTTP/1.1
    /// clients and close-delimited for HTTP/1.0.
    pub body_len: Option<u64>,
    /// The `Date` value to send.
    pub date: Option<&'a DateCache>,
}

impl<'a> Response<'a> {
    /// A response with this status, no fields, an empty body and no Date.
    #[must_use]
    pub fn new(status: u16) -> Self {
        Self {
            status,
            reason: None,
            headers: &[],
            body_len: Some(0),
            date: None,
        }
    }

    /// Sets the fields.
    #[must_use]
    pub fn headers(mut self, headers: &'a [(&'a [u8], &'a [u8])]) -> Self {
        self.headers = headers;
        self
    }

    /// Sets a body of known length.
    #[must_use]
    pub fn body_len(mut self, len: u64) -> Self {
        self.body_len = Some(len);
        self
    }

    /// Declares a body of unknown length (streamed).
    #[must_use]
    pub fn streamed(mut self) -> Self {
        self.body_len = None;
        self
    }

    /// Sets the reason phrase.
    #[must_use]
    pub fn reason(mut self, reason: &'a [u8]) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Adds `Date` from the cache.
    #[must_use]
    pub fn date(mut self, date: &'a DateCache) -> Self {
        self.date = Some(date);
        self
    }
}

/// A request to send (client role). See [`Response`] for what the connection adds.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// Method token.
    pub method: &'a [u8],
    /// Request-target, e.g. `/index.html?x=1`.
    pub target: &'a [u8],
    /// Fields in order; HTTP/1.1 requires `Host` among them.
    pub headers: &'a [(&'a [u8], &'a [u8])],
    /// `Some(n)`: exactly n body bytes; `None`: chunked.
    pub body_len: Option<u64>,
}

impl<'a> Request<'a> {
    /// A bodiless request.
    #[must_use]
    pub fn new(method: &'a [u8], target: &'a [u8], headers: &'a [(&'a [u8], &'a [u8])]) -> Self {
        Self {
            method,
            target,
            headers,
            body_len: Some(0),
        }
    }

    /// Sets a body of known length.
    #[must_use]
    pub fn body_len(mut self, len: u64) -> Self {
        self.body_len = Some(len);
        self
    }

    /// Declares a chunked body.
    #[must_use]
    pub fn streamed(mut self) -> Self {
        self.body_len = None;
        self
    }

    pub(crate) fn method_kind(&self) -> Method {
        Method::from_bytes(self.method)
    }
}

/// The current time as an IMF-fixdate (RFC 9110 §5.6.7), formatted once and reused.
///
/// The driver calls [`update`](Self::update) about once a second; formatting a date per
/// response is measurable at 100k responses per second.
#[derive(Clone, PartialEq, Eq)]
pub struct DateCache {
    value: [u8; 29],
    second: u64,
}

impl DateCache {
    /// A cache holding `now`.
    #[must_use]
    pub fn new(now: SystemTime) -> Self {
        let mut cache = Self {
            value: [b' '; 29],
            second: u64::MAX,
        };
        cache.update(now);
        cache
    }

    /// Re-formats if `now` is in a different second than the cached value.
    pub fn update(&mut self, now: SystemTime) {
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second {
            self.second = second;
            let text = httpdate::fmt_http_date(now);
            let n = text.len().min(29);
            self.value[..n].copy_from_slice(&text.as_bytes()[..n]);
        }
    }

    /// The formatted value, e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.value
    }
}

impl std::fmt::Debug for DateCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.value))
    }
}

/// The standard reason phrase for a status code (RFC 9110 §15), or `""`.
#[must_use]
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}

/// What the head writers say when they refuse a caller's status or fields, each reason
/// naming the verb the caller called (the writers are shared by three verbs).
#[derive(Debug)]
pub(crate) struct Refusals {
    status: &'static str,
    reason_phrase: &'static str,
    framing_field: &'static str,
    field: &'static str,
}

/// The [`Refusals`] of one verb, built at compile time.
macro_rules! refusals {
    ($verb:literal) => {
        Refusals {
            status: concat!($verb, ": status code outside 100..=999"),
            reason_phrase: concat!($verb, ": reason phrase holds CR, LF or another control byte"),
            framing_field: concat!(
                $verb,
                ": Content-Length and Transfer-Encoding are written by the connection (set body_len)"
            ),
            field: concat!(
                $verb,
                ": a field name that is not a token, or a value with CR, LF or NUL (header injection)"
            ),
        }
    };
}

/// Refusals of [`ServerConn::send_response`](crate::ServerConn::send_response).
pub(crate) static SEND_RESPONSE: Refusals = refusals!("send_response");
/// Refusals of [`ServerConn::send_informational`](crate::ServerConn::send_informational).
pub(crate) static SEND_INFORMATIONAL: Refusals = refusals!("send_informational");
/// Refusals of [`ClientConn::send_request`](crate::ClientConn::send_request).
pub(crate) static SEND_REQUEST: Refusals = refusals!("send_request");

/// `HTTP/1.1 200 OK\r\n`. We always speak our highest version (RFC 9110 §6.2).
pub(crate) fn write_status_line(
    status: u16,
    reason: Option<&[u8]>,
    out: &mut BytesMut,
    refusals: &'static Refusals,
) -> Result<(), Error> {
    if !(100..=999).contains(&status) {
        return Err(Error::local(refusals.status));
    }
    let reason = reason.unwrap_or(reason_phrase(status).as_bytes());
    if !is_field_value(reason) {
        return Err(Error::local(refusals.reason_phrase));
    }
    out.reserve(13 + reason.len() + 2);
    out.put_slice(b"HTTP/1.1 ");
    put_decimal(u64::from(status), out);
    out.put_u8(b' ');
    out.put_slice(reason);
    out.put_slice(b"\r\n");
    Ok(())
}

/// One `name: value\r\n` line, refusing names that are not tokens and values that would
/// inject a line break.
pub(crate) fn write_field(
    name: &[u8],
    value: &[u8],
    out: &mut BytesMut,
    refusals: &'static Refusals,
) -> Result<(), Error> {
    if !is_field_name(name) || !is_field_value(value) {
        return Err(Error::local(refusals.field));
    }
    out.reserve(name.len() + value.len() + 4);
    out.put_slice(name);
    out.put_slice(b": ");
    out.put_slice(value);
    out.put_slice(b"\r\n");
    Ok(())
}

/// Writes the caller's fields, refusing framing fields (the connection owns framing) and
/// reporting whether one of them is `Connection: close`.
pub(crate) fn write_fields(
    headers: &[(&[u8], &[u8])],
    out: &mut BytesMut,
    refusals: &'static Refusals,
) -> Result<bool, Error> {
    let mut close = false;
    for &(name, value) in headers {
        if name.eq_ignore_ascii_case(b"content-length")
            || name.eq_ignore_ascii_case(b"transfer-encoding")
        {
            return Err(Error::local(refusals.framing_field));
        }
        if name.eq_ignore_ascii_case(b"connection") {
            close |= crate::head::list_elements(value).any(|t| t.eq_ignore_ascii_case(b"close"));
        }
        write_field(name, value, out, refusals)?;
    }
    Ok(close)
}

pub(crate) fn put_decimal(mut n: u64, out: &mut BytesMut) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_cache_formats_imf_fixdate() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777);
        assert_eq!(
            DateCache::new(t).as_bytes(),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn fields_refuse_injection_and_framing() {
        let mut out = BytesMut::new();
        let r = &SEND_RESPONSE;
        let injected = write_field(b"x", b"a\r\nSet-Cookie: evil", &mut out, r).unwrap_err();
        assert!(
            injected
                .reason()
                .is_some_and(|r| r.contains("header injection"))
        );
        assert!(write_field(b"x y", b"a", &mut out, r).is_err());
        let framing = write_fields(&[(b"Content-Length", b"5")], &mut out, r).unwrap_err();
        assert!(
            framing
                .reason()
                .is_some_and(|r| r.starts_with("send_response: "))
        );
        assert_eq!(
            write_fields(&[(b"Connection", b"Close")], &mut out, r),
            Ok(true)
        );
    }
}
