//! Field lines (RFC 9112 §5), shared by heads and chunked trailers, and the [`Headers`] view.

use super::scan::{TOKEN, field_value_len, reg_name_len, token_len};
use crate::error::{Error, ErrorKind};
use crate::limits::Limits;
use bytes::Bytes;
use smallvec::SmallVec;

/// A byte range of a message's buffer; `u32` keeps a field entry at 16 bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) end: u32,
}

impl Span {
    #[inline]
    #[allow(clippy::cast_possible_truncation)] // heads are capped far below 4 GiB (see `Limits` clamp)
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Self {
            start: start as u32,
            end: end as u32,
        }
    }

    #[inline]
    pub(crate) fn of<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub(crate) name: Span,
    pub(crate) value: Span,
}

/// Inline capacity: a browser request carries 10 to 20 fields.
pub(crate) type FieldVec = SmallVec<[Field; 20]>;

/// The header (or trailer) fields of a parsed message: zero-copy views into its bytes.
///
/// Names keep the case they arrived in; look-ups ignore case (RFC 9110 §5.1).
/// Values have surrounding whitespace removed (RFC 9112 §5).
#[derive(Clone, Default)]
pub struct Headers {
    pub(crate) buf: Bytes,
    pub(crate) fields: FieldVec,
}

impl Headers {
    /// Number of field lines.
    #[must_use]
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether there are no fields.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Every field as `(name, value)`, in the order received.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.fields
            .iter()
            .map(|f| (f.name.of(&self.buf), f.value.of(&self.buf)))
    }

    /// The value of the first field named `name` (any case).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The values of every field named `name` (any case), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// The value of the first field named `name` as a zero-copy [`Bytes`].
    #[must_use]
    pub fn get_bytes(&self, name: &str) -> Option<Bytes> {
        self.fields
            .iter()
            .find(|f| f.name.of(&self.buf).eq_ignore_ascii_case(name.as_bytes()))
            .map(|f| self.buf.slice(f.value.start as usize..f.value.end as usize))
    }

    /// Whether any field named `name` lists `token` among its comma-separated elements (any case),
    /// as `Connection: keep-alive, Upgrade` lists `upgrade`.
    #[must_use]
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.get_all(name)
            .any(|v| list_elements(v).any(|e| e.eq_ignore_ascii_case(token.as_bytes())))
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

impl PartialEq for Headers {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// The elements of a comma-separated list value, trimmed, empty ones skipped (RFC 9110 §5.6.1).
pub(crate) fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

/// Trims OWS, and the CR and LF of obs-fold: a value holds those only when folding is
/// enabled, and they then stand for spaces (RFC 9112 §5.2).
pub(crate) fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t' | b'\r' | b'\n', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t' | b'\r' | b'\n'] = v {
        v = rest;
    }
    v
}

/// Trims whitespace and obs-fold line breaks (CR and LF, the only ones a folded value can
/// hold) from both ends of `buf[start..end]`.
fn trim_folded(buf: &[u8], mut start: usize, mut end: usize) -> (usize, usize) {
    let blank = |b: u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    while start < end && blank(buf[start]) {
        start += 1;
    }
    while end > start && blank(buf[end - 1]) {
        end -= 1;
    }
    (start, end)
}

/// What the framing and connection rules need, gathered while the fields are parsed so
/// nothing is scanned twice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FieldFacts {
    pub(crate) content_length: Option<u64>,
    pub(crate) transfer_encoding: bool,
    pub(crate) chunked_count: u8,
    pub(crate) chunked_last: bool,
    pub(crate) other_coding: bool,
    pub(crate) host_count: u8,
    pub(crate) conn_close: bool,
    pub(crate) conn_keep_alive: bool,
    pub(crate) conn_upgrade: bool,
    pub(crate) upgrade: bool,
    pub(crate) expect_continue: bool,
}

/// How a line ended.
enum Eol {
    /// Line content ends at `end`; the next line starts at `next`.
    Found {
        end: usize,
        next: usize,
    },
    Partial,
}

/// Finds the end of the line whose content scan stopped at `at` (a CR or LF is expected there).
#[inline]
pub(crate) fn line_end(
    buf: &[u8],
    at: usize,
    limits: &Limits,
) -> Result<Option<(usize, usize)>, Error> {
    match eol(buf, at, limits)? {
        Eol::Found { end, next } => Ok(Some((end, next))),
        Eol::Partial => Ok(None),
    }
}

#[inline]
fn eol(buf: &[u8], at: usize, limits: &Limits) -> Result<Eol, Error> {
    match buf.get(at) {
        None => Ok(Eol::Partial),
        Some(b'\r') => match buf.get(at + 1) {
            None => Ok(Eol::Partial),
            Some(b'\n') => Ok(Eol::Found {
                end: at,
                next: at + 2,
            }),
            Some(_) => Err(Error::new(ErrorKind::BareCr, at)),
        },
        Some(b'\n') if limits.allow_bare_lf => Ok(Eol::Found {
            end: at,
            next: at + 1,
        }),
        Some(b'\n') => Err(Error::new(ErrorKind::BareLf, at)),
        Some(_) => Err(Error::new(ErrorKind::InvalidHeaderValue, at)),
    }
}

/// Where a field section ended.
pub(crate) enum SectionEnd {
    /// The empty line was found; the section (with its empty line) ends at this offset.
    Complete(usize),
    /// More bytes are needed; parsing resumes at the returned offset (the start of the
    /// first line not yet accepted).
    Partial(usize),
}

/// A field section being parsed: what has been accepted so far.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldSection {
    pub(crate) fields: FieldVec,
    pub(crate) facts: FieldFacts,
    /// Line breaks of obs-fold (when folding is enabled), to be replaced with spaces.
    pub(crate) folds: Vec<Span>,
}

impl FieldSection {
    /// Turns the accepted section into [`Headers`] over `buf`, replacing obs-fold line breaks
    /// with spaces (the one case where the bytes are copied).
    pub(crate) fn into_headers(self, buf: Bytes) -> Headers {
        Headers {
            buf: unfold(buf, &self.folds),
            fields: self.fields,
        }
    }

    /// The section as [`parse_fields`] fills it.
    pub(crate) fn parts_mut(&mut self) -> FieldsMut<'_> {
        FieldsMut {
            fields: &mut self.fields,
            facts: &mut self.facts,
            folds: &mut self.folds,
        }
    }
}

/// Where [`parse_fields`] puts what it accepts: a [`FieldSection`], or the parts of a
/// head being built in place (the request parser's).
pub(crate) struct FieldsMut<'a> {
    pub(crate) fields: &'a mut FieldVec,
    pub(crate) facts: &'a mut FieldFacts,
    /// Line breaks of obs-fold (when folding is enabled), to be replaced with spaces.
    pub(crate) folds: &'a mut Vec<Span>,
}

/// `buf` with the obs-fold line breaks at `folds` replaced with spaces (copied only then).
pub(crate) fn unfold(buf: Bytes, folds: &[Span]) -> Bytes {
    if folds.is_empty() {
        return buf;
    }
    let mut owned = bytes::BytesMut::from(&buf[..]);
    for fold in folds {
        owned[fold.start as usize..fold.end as usize].fill(b' ');
    }
    owned.freeze()
}

/// Parses field lines from `pos` up to and including the empty line that ends the section.
///
/// Accepted lines are pushed to `section` and never looked at again: on `Partial` the caller
/// calls again with more bytes from the returned offset.
pub(crate) fn parse_fields(
    buf: &[u8],
    mut pos: usize,
    section: &mut FieldsMut<'_>,
    limits: &Limits,
) -> Result<SectionEnd, Error> {
    loop {
        let line_start = pos;
        let name_len = token_len(&buf[pos..]);
        let colon = pos + name_len;
        match buf.get(colon) {
            Some(b':') if name_len > 0 => {}
            None => return Ok(SectionEnd::Partial(line_start)),
            // No name at all: the empty line ending the section, or a line starting with
            // whitespace (obs-fold), or a byte no name may start with.
            Some(&b) if name_len == 0 => {
                return match b {
                    b'\r' | b'\n' => match eol(buf, pos, limits)? {
                        Eol::Found { next, .. } => Ok(SectionEnd::Complete(next)),
                        Eol::Partial => Ok(SectionEnd::Partial(pos)),
                    },
                    b' ' | b'\t' => Err(Error::new(ErrorKind::ObsFold, pos)),
                    _ => Err(Error::new(ErrorKind::InvalidHeaderName, pos)),
                };
            }
            // RFC 9112 §5.1 forbids whitespace before the colon; whitespace followed by
            // more name is a name with a space inside it.
            Some(b' ' | b'\t') => {
                let ws = buf[colon..]
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                return match buf.get(colon + ws) {
                    None => Ok(SectionEnd::Partial(line_start)),
                    Some(b':') => Err(Error::new(ErrorKind::WhitespaceBeforeColon, colon)),
                    Some(_) => Err(Error::new(ErrorKind::InvalidHeaderName, colon)),
                };
            }
            Some(_) => return Err(Error::new(ErrorKind::InvalidHeaderName, colon)),
        }
        let mut vstart = colon + 1;
        while let Some(b' ' | b'\t') = buf.get(vstart) {
            vstart += 1;
        }
        let scanned = vstart + field_value_len(&buf[vstart..]);
        let (vstart, vend, next) = match buf.get(scanned..scanned + 3) {
            // The usual line: CRLF, and the next line does not continue this one.
            Some(&[b'\r', b'\n', c]) if c != b' ' && c != b'\t' => {
                // Leading whitespace was skipped above: only the end needs trimming.
                let mut vend = scanned;
                while vend > vstart && matches!(buf[vend - 1], b' ' | b'\t') {
                    vend -= 1;
                }
                (vstart, vend, scanned + 2)
            }
            _ => {
                let folds_before = section.folds.len();
                let Some((vend, next)) = value_end(buf, scanned, section.folds, limits)? else {
                    // The line is scanned again on resume: forget its folds until it is accepted.
                    section.folds.truncate(folds_before);
                    return Ok(SectionEnd::Partial(line_start));
                };
                let (vstart, vend) = if section.folds.len() > folds_before {
                    // Folded line breaks become spaces: trim them like the whitespace they become.
                    trim_folded(buf, vstart, vend)
                } else {
                    let mut vend = vend;
                    while vend > vstart && matches!(buf[vend - 1], b' ' | b'\t') {
                        vend -= 1;
                    }
                    (vstart, vend)
                };
                (vstart, vend, next)
            }
        };
        if section.fields.len() >= limits.max_headers {
            return Err(Error::new(ErrorKind::TooManyHeaders, line_start));
        }
        note_field(&buf[pos..colon], &buf[vstart..vend], vstart, section.facts)?;
        section.fields.push(Field {
            name: Span::new(pos, colon),
            value: Span::new(vstart, vend),
        });
        pos = next;
    }
}

/// Finds where a field value ends, noting obs-fold line breaks when folding is allowed.
/// Returns the end of the value content and the start of the next line.
fn value_end(
    buf: &[u8],
    mut at: usize,
    folds: &mut Vec<Span>,
    limits: &Limits,
) -> Result<Option<(usize, usize)>, Error> {
    loop {
        at += field_value_len(&buf[at..]);
        let (end, next) = match eol(buf, at, limits)? {
            Eol::Found { end, next } => (end, next),
            Eol::Partial => return Ok(None),
        };
        match buf.get(next) {
            // Need the first byte of the next line to know whether this one continues.
            None => return Ok(None),
            Some(b' ' | b'\t') if limits.fold_obs_fold => {
                // RFC 9112 §5.2: obs-fold = OWS CRLF RWS, so the RWS becomes SP too.
                let rws = buf[next..]
                    .iter()
                    .take_while(|b| matches!(b, b' ' | b'\t'))
                    .count();
                folds.push(Span::new(end, next + rws));
                at = next + rws;
            }
            Some(b' ' | b'\t') => return Err(Error::new(ErrorKind::ObsFold, next)),
            Some(_) => return Ok(Some((end, next))),
        }
    }
}

/// Whether `name` is `lower` in any case. The first byte is compared on its own: most names
/// that share a length with a framing field differ there (`User-Agent`, `Sec-Fetch-Mode`).
#[inline]
fn is_name(name: &[u8], lower: &[u8]) -> bool {
    matches!((name.first(), lower.first()), (Some(&a), Some(&b)) if a | 0x20 == b)
        && name.eq_ignore_ascii_case(lower)
}

/// Records the framing facts carried by one field.
/// `at` is where the value starts, for error offsets.
fn note_field(name: &[u8], value: &[u8], at: usize, facts: &mut FieldFacts) -> Result<(), Error> {
    match name.len() {
        4 if is_name(name, b"host") => {
            facts.host_count = facts.host_count.saturating_add(1);
            if !valid_host(value) {
                return Err(Error::new(ErrorKind::InvalidHost, at));
            }
        }
        6 if is_name(name, b"expect") => {
            facts.expect_continue |= value.eq_ignore_ascii_case(b"100-continue");
        }
        7 if is_name(name, b"upgrade") => facts.upgrade = true,
        10 if is_name(name, b"connection") => {
            for token in list_elements(value) {
                facts.conn_close |= token.eq_ignore_ascii_case(b"close");
                facts.conn_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                facts.conn_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
            }
        }
        14 if is_name(name, b"content-length") => {
            let n = parse_content_length(value)
                .ok_or(Error::new(ErrorKind::InvalidContentLength, at))?;
            match facts.content_length {
                Some(prev) if prev != n => {
                    return Err(Error::new(ErrorKind::ConflictingContentLength, at));
                }
                _ => facts.content_length = Some(n),
            }
        }
        17 if is_name(name, b"transfer-encoding") => {
            facts.transfer_encoding = true;
            for coding in list_elements(value) {
                let coding_name = &coding[..token_len(coding)];
                if coding_name.is_empty() {
                    return Err(Error::new(ErrorKind::InvalidTransferEncoding, at));
                }
                if coding_name.eq_ignore_ascii_case(b"chunked") {
                    if coding_name.len() != coding.len() {
                        // chunked takes no parameters (RFC 9112 §7.1).
                        return Err(Error::new(ErrorKind::InvalidTransferEncoding, at));
                    }
                    facts.chunked_count = facts.chunked_count.saturating_add(1);
                    facts.chunked_last = true;
                } else {
                    facts.other_coding = true;
                    facts.chunked_last = false;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// `1*DIGIT`, or a list of identical such values (RFC 9110 §8.6 lets us merge `5, 5`).
/// `+5`, `-1`, `0x5`, `1 0`, empty elements and overflow are all invalid.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    let mut result = None;
    for element in value.split(|&b| b == b',') {
        let digits = trim_ows(element);
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let n = digits.iter().try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })?;
        match result {
            Some(prev) if prev != n => return None,
            _ => result = Some(n),
        }
    }
    result
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2), checked by byte class: reg-name and IP-literal
/// characters, with an optional all-digit port. Empty is valid (RFC 9112 §3.2).
#[inline]
pub(crate) fn valid_host(v: &[u8]) -> bool {
    if v.first() == Some(&b'[') {
        return valid_ip_literal_host(v);
    }
    // reg-name or IPv4address, the common case: one pass, then an optional port.
    let host_len = reg_name_len(v);
    match v.get(host_len) {
        None => true,
        Some(b':') => v[host_len + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => false,
    }
}

/// [`valid_host`] for a value starting with `[`: an IP-literal, then an optional port.
#[cold]
fn valid_ip_literal_host(v: &[u8]) -> bool {
    let (host, port) = match v.iter().rposition(|&b| b == b':') {
        // An IPv6 literal holds colons: the port colon is the one after `]`.
        Some(i) if v.first() != Some(&b'[') || v[..i].ends_with(b"]") => {
            (&v[..i], Some(&v[i + 1..]))
        }
        _ => (v, None),
    };
    let host_ok = if let [b'[', inner @ .., b']'] = host {
        !inner.is_empty()
            && inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || matches!(b, b':' | b'.'))
    } else {
        reg_name_len(host) == host.len()
    };
    host_ok && port.is_none_or(|p| p.iter().all(u8::is_ascii_digit))
}

/// Whether `name` is a valid field name: a non-empty token (RFC 9110 §5.1, §5.6.2).
///
/// ```
/// assert!(http_proto::is_field_name(b"X-Request-Id"));
/// assert!(!http_proto::is_field_name(b"X Request"));
/// ```
#[must_use]
pub fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| TOKEN[b as usize])
}

/// Whether `value` is a valid field value (RFC 9110 §5.5): visible characters, obs-text,
/// SP and HTAB; no CR, LF, NUL, other controls or DEL, so it cannot inject a line.
///
/// ```
/// assert!(http_proto::is_field_value(b"text/html; charset=utf-8"));
/// assert!(!http_proto::is_field_value(b"a\r\nSet-Cookie: x"));
/// ```
#[must_use]
pub fn is_field_value(value: &[u8]) -> bool {
    field_value_len(value) == value.len()
}

/// Whether `name` is a field the connection owns, never one a route or application
/// may set: the framing fields (Content-Length, Transfer-Encoding) and the hop-by-hop
/// fields (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Upgrade; RFC 9110 §7.6.1).
///
/// ```
/// assert!(http_proto::is_connection_field(b"Transfer-Encoding"));
/// assert!(!http_proto::is_connection_field(b"Cache-Control"));
/// ```
#[must_use]
pub fn is_connection_field(name: &[u8]) -> bool {
    const OWNED: [&[u8]; 8] = [
        b"content-length",
        b"transfer-encoding",
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"upgrade",
    ];
    OWNED.iter().any(|o| name.eq_ignore_ascii_case(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_accepts_digits_and_identical_lists_only() {
        assert_eq!(parse_content_length(b"0"), Some(0));
        assert_eq!(parse_content_length(b"42"), Some(42));
        assert_eq!(parse_content_length(b"5, 5"), Some(5));
        assert_eq!(
            parse_content_length(b"18446744073709551615"),
            Some(u64::MAX)
        );
        for bad in [
            &b""[..],
            b"+5",
            b"-1",
            b"0x5",
            b"1 0",
            b"5, 6",
            b"5,,5",
            b"18446744073709551616",
            b" ",
        ] {
            assert_eq!(
                parse_content_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn host_values() {
        for ok in [
            &b""[..],
            b"example.com",
            b"example.com:8080",
            b"[::1]",
            b"[::1]:80",
            b"127.0.0.1:1",
        ] {
            assert!(valid_host(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [&b"exa mple"[..], b"a/b", b"a:b", b"[::1", b"a@b", b"[zz]"] {
            assert!(!valid_host(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
