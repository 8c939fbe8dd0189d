//! Cookie codec: read a request's `Cookie:` header, write a response's `Set-Cookie:` value.
//!
//! Reading follows the server side of RFC 6265 §4.2 (`cookie-pair *( ";" SP cookie-pair )`)
//! leniently where it is safe: optional whitespace around pairs and around `=`, empty pieces,
//! and malformed pairs are skipped one by one instead of failing the whole header, because
//! browsers send whatever other applications on the same host set (RFC 6265 §5.4).
//!
//! Writing is strict: a name must be a `token` and a value `cookie-octet`s (RFC 6265 §4.1.1),
//! so CR, LF, `;`, `,`, whitespace and quotes can never reach the header, and the
//! `__Secure-`/`__Host-` prefixes and `SameSite=None` rules of RFC 6265bis are checked
//! before anything is written.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::Error;

/// The pairs of one request `Cookie:` header value, read lazily and without allocation.
///
/// Pairs that are not `token=cookie-value` are skipped. A value wrapped in double quotes
/// is handed back without them. Names are case-sensitive (RFC 6265 §5.4 compares them
/// exactly). When a request has several `Cookie` headers (HTTP/2 splits them), make one
/// `CookieHeader` per header.
///
/// ```
/// use session_core::visitor::CookieHeader;
///
/// let cookies = CookieHeader::parse(b"theme=dark;  id = \"abc\" ; junk; =x; lang=en");
/// assert_eq!(cookies.get("id"), Some("abc"));
/// assert_eq!(cookies.get("junk"), None);
/// let names: Vec<&str> = cookies.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["theme", "id", "lang"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CookieHeader<'a> {
    value: &'a [u8],
}

impl<'a> CookieHeader<'a> {
    /// Wraps a `Cookie:` header value (the bytes after the colon). Never fails: the work is
    /// done by [`iter`](Self::iter), which skips what it cannot read.
    #[must_use]
    pub const fn parse(value: &'a [u8]) -> Self {
        Self { value }
    }

    /// Every well-formed `(name, value)` pair, in header order.
    #[must_use]
    pub fn iter(&self) -> CookiePairs<'a> {
        CookiePairs { rest: self.value }
    }

    /// The value of the first pair named `name`, if any.
    ///
    /// A header may carry the same name twice (a cookie set for a narrower path, or one
    /// planted by a sibling subdomain). Browsers list the longer path first (RFC 6265
    /// §5.4 step 2), so the first one is usually right; a caller that must be sure tries
    /// each from [`get_all`](Self::get_all) against its store.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.get_all(name).next()
    }

    /// The values of every pair named `name`, in header order.
    ///
    /// ```
    /// use session_core::visitor::CookieHeader;
    ///
    /// let cookies = CookieHeader::parse(b"id=new; id=old");
    /// assert_eq!(cookies.get_all("id").collect::<Vec<_>>(), ["new", "old"]);
    /// ```
    pub fn get_all<'n>(&self, name: &'n str) -> impl Iterator<Item = &'a str> + 'n
    where
        'a: 'n,
    {
        // Compare names first and check the grammar only of matches: most pairs are skipped
        // without a look at their value.
        RawPairs { rest: self.value }
            .filter(move |(pair_name, _)| *pair_name == name.as_bytes())
            .filter_map(|(pair_name, value)| checked(pair_name, value))
            .map(|(_, value)| value)
    }
}

impl<'a> IntoIterator for CookieHeader<'a> {
    type Item = (&'a str, &'a str);
    type IntoIter = CookiePairs<'a>;

    fn into_iter(self) -> CookiePairs<'a> {
        self.iter()
    }
}

/// Iterator over the well-formed pairs of a `Cookie:` header; made by [`CookieHeader::iter`].
#[derive(Debug, Clone)]
pub struct CookiePairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for CookiePairs<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let mut raw = RawPairs { rest: self.rest };
        let found = raw.find_map(|(name, value)| checked(name, value));
        self.rest = raw.rest;
        found
    }
}

/// The `name=value` pieces of a header, trimmed and unquoted but not yet checked.
struct RawPairs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for RawPairs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while !self.rest.is_empty() {
            let (piece, rest) = match self.rest.iter().position(|&b| b == b';') {
                Some(at) => (&self.rest[..at], &self.rest[at + 1..]),
                None => (self.rest, &[][..]),
            };
            self.rest = rest;
            if let Some(pair) = split_pair(piece) {
                return Some(pair);
            }
        }
        None
    }
}

/// Splits one piece at its first `=`, trims whitespace and strips a pair of quotes; `None`
/// when there is no `=`.
fn split_pair(piece: &[u8]) -> Option<(&[u8], &[u8])> {
    let equals = piece.iter().position(|&b| b == b'=')?;
    let name = trim_ows(&piece[..equals]);
    let mut value = trim_ows(&piece[equals + 1..]);
    // RFC 6265 §4.1.1: cookie-value = *cookie-octet / ( DQUOTE *cookie-octet DQUOTE )
    if let [b'"', inner @ .., b'"'] = value {
        value = inner;
    }
    Some((name, value))
}

/// The pair as text if the name is a token and the value cookie-octets, else `None`.
fn checked<'a>(name: &'a [u8], value: &'a [u8]) -> Option<(&'a str, &'a str)> {
    if check_name(name).is_err() || check_value(value).is_err() {
        return None;
    }
    // Both checks admit ASCII only, so these conversions cannot fail.
    Some((
        std::str::from_utf8(name).ok()?,
        std::str::from_utf8(value).ok()?,
    ))
}

/// Strips optional whitespace (SP / HTAB, RFC 9110 §5.6.3) from both ends.
fn trim_ows(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

/// RFC 9110 §5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// RFC 6265 §4.1.1 `cookie-octet`: `%x21 / %x23-2B / %x2D-3A / %x3C-5B / %x5D-7E`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

fn check_name(name: &[u8]) -> Result<(), Error> {
    if name.is_empty() {
        return Err(Error::EmptyCookieName);
    }
    match name.iter().position(|&b| !is_tchar(b)) {
        Some(at) => Err(Error::InvalidCookieName { at }),
        None => Ok(()),
    }
}

fn check_value(value: &[u8]) -> Result<(), Error> {
    match value.iter().position(|&b| !is_cookie_octet(b)) {
        Some(at) => Err(Error::InvalidCookieValue { at }),
        None => Ok(()),
    }
}

/// RFC 6265 §4.1.1 `path-value`: any CHAR except CTLs or `;`.
fn check_path(path: &str) -> Result<(), Error> {
    match path
        .bytes()
        .position(|b| b == b';' || b.is_ascii_control() || !b.is_ascii())
    {
        Some(at) => Err(Error::InvalidPath { at }),
        None => Ok(()),
    }
}

/// RFC 6265 §4.1.2.3 / RFC 1034 §3.5: letters, digits, `-` and `.`, at most 253 bytes
/// after an optional leading dot (which user agents ignore).
fn check_domain(domain: &str) -> Result<(), Error> {
    let host = domain.strip_prefix('.').unwrap_or(domain);
    if host.is_empty() || host.len() > 253 {
        return Err(Error::InvalidDomain { at: domain.len() });
    }
    match domain
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'))
    {
        Some(at) => Err(Error::InvalidDomain { at }),
        None => Ok(()),
    }
}

/// Whether `name` starts with `prefix`, ASCII case-insensitively (RFC 6265bis §4.1.3 checks
/// prefixes case-insensitively, so `__HOST-` gets the same rules as `__Host-`).
fn has_prefix(name: &str, prefix: &str) -> bool {
    name.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The `SameSite` attribute (RFC 6265bis §4.1.2.7): when the browser sends the cookie on
/// requests started by another site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SameSite {
    /// Only on requests from the same site.
    Strict,
    /// Same-site requests and top-level navigations from other sites (the safe default
    /// for a login session: a link from elsewhere still arrives logged in).
    Lax,
    /// On every request, including cross-site ones; requires `Secure`.
    None,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            Self::Strict => "Strict",
            Self::Lax => "Lax",
            Self::None => "None",
        }
    }
}

/// A `Set-Cookie:` response header value, built and checked before it is written.
///
/// [`SetCookie::new`] starts from the OWASP defaults: `Secure`, `HttpOnly`, `SameSite=Lax`,
/// `Path=/`, no `Domain` (host-only) and no `Max-Age`/`Expires` (a non-persistent cookie that
/// the browser drops when it closes). Each setter overrides one attribute; nothing is checked
/// until [`encode`](Self::encode), which refuses anything that could inject a header or that a
/// browser would reject.
///
/// ```
/// use std::time::Duration;
/// use session_core::visitor::{SameSite, SetCookie};
///
/// let header = SetCookie::new("__Host-id", "00112233445566778899aabbccddeeff")
///     .same_site(Some(SameSite::Strict))
///     .max_age(Some(Duration::from_secs(3600)))
///     .encode()?;
/// assert_eq!(
///     header,
///     "__Host-id=00112233445566778899aabbccddeeff; Max-Age=3600; Path=/; Secure; HttpOnly; SameSite=Strict"
/// );
/// # Ok::<(), session_core::visitor::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a SetCookie does nothing until it is encoded"]
pub struct SetCookie<'a> {
    name: &'a str,
    value: &'a str,
    secure: bool,
    http_only: bool,
    same_site: Option<SameSite>,
    path: Option<&'a str>,
    domain: Option<&'a str>,
    max_age: Option<Duration>,
    expires: Option<SystemTime>,
}

impl<'a> SetCookie<'a> {
    /// A cookie `name=value` with the secure defaults listed on [`SetCookie`].
    pub const fn new(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            secure: true,
            http_only: true,
            same_site: Some(SameSite::Lax),
            path: Some("/"),
            domain: None,
            max_age: None,
            expires: None,
        }
    }

    /// A cookie that tells the browser to delete `name` now: empty value, `Max-Age=0`, and
    /// `Expires` at the Unix epoch for user agents without `Max-Age`.
    ///
    /// A browser deletes only the cookie with the same name, `Path` and `Domain`, so set those
    /// as they were when the cookie was made (the defaults match [`SetCookie::new`]'s).
    ///
    /// ```
    /// use session_core::visitor::SetCookie;
    ///
    /// assert_eq!(
    ///     SetCookie::removal("id").encode()?,
    ///     "id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax"
    /// );
    /// # Ok::<(), session_core::visitor::Error>(())
    /// ```
    pub const fn removal(name: &'a str) -> Self {
        let mut cookie = Self::new(name, "");
        cookie.max_age = Some(Duration::ZERO);
        cookie.expires = Some(UNIX_EPOCH);
        cookie
    }

    /// Sets or clears `Secure` (send only over HTTPS). On by default.
    pub const fn secure(mut self, on: bool) -> Self {
        self.secure = on;
        self
    }

    /// Sets or clears `HttpOnly` (hidden from page scripts). On by default.
    pub const fn http_only(mut self, on: bool) -> Self {
        self.http_only = on;
        self
    }

    /// Sets or omits `SameSite`. `Lax` by default; `None` requires `Secure`.
    pub const fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        self.same_site = same_site;
        self
    }

    /// Sets or omits `Path`. `/` by default.
    pub const fn path(mut self, path: Option<&'a str>) -> Self {
        self.path = path;
        self
    }

    /// Sets or omits `Domain`. Omitted by default, which keeps the cookie host-only: setting
    /// it widens the cookie to every subdomain.
    pub const fn domain(mut self, domain: Option<&'a str>) -> Self {
        self.domain = domain;
        self
    }

    /// Sets or omits `Max-Age`, in whole seconds (fractions are dropped). Omitted by default.
    pub const fn max_age(mut self, max_age: Option<Duration>) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets or omits `Expires`, written as an IMF-fixdate (RFC 9110 §5.6.7); times before
    /// 1970 are written as the epoch and times after 9999 as the end of 9999. Omitted by
    /// default. The caller passes the time: this crate never reads a clock.
    pub const fn expires(mut self, expires: Option<SystemTime>) -> Self {
        self.expires = expires;
        self
    }

    /// Checks every rule and returns the header value.
    ///
    /// # Errors
    /// - [`Error::EmptyCookieName`], [`Error::InvalidCookieName`]: the name is not a token.
    /// - [`Error::InvalidCookieValue`]: the value has a byte outside `cookie-octet` (CR, LF,
    ///   `;`, `,`, whitespace, `"`, `\`, controls, non-ASCII).
    /// - [`Error::InvalidPath`], [`Error::InvalidDomain`]: an attribute could break the header.
    /// - [`Error::SameSiteNoneWithoutSecure`], [`Error::SecurePrefixWithoutSecure`],
    ///   [`Error::HostPrefixViolation`]: a browser would drop the cookie.
    pub fn encode(&self) -> Result<String, Error> {
        let mut out = String::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }

    /// Like [`encode`](Self::encode), but appends to `out`. On error `out` is left unchanged.
    ///
    /// # Errors
    /// As [`encode`](Self::encode).
    pub fn encode_into(&self, out: &mut String) -> Result<(), Error> {
        self.check()?;
        out.reserve(self.name.len() + self.value.len() + 96);
        out.push_str(self.name);
        out.push('=');
        out.push_str(self.value);
        if let Some(expires) = self.expires {
            out.push_str("; Expires=");
            write_imf_fixdate(out, expires);
        }
        if let Some(max_age) = self.max_age {
            // Writing to a String cannot fail.
            let _ = write!(out, "; Max-Age={}", max_age.as_secs());
        }
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        if let Some(path) = self.path {
            out.push_str("; Path=");
            out.push_str(path);
        }
        if self.secure {
            out.push_str("; Secure");
        }
        if self.http_only {
            out.push_str("; HttpOnly");
        }
        if let Some(same_site) = self.same_site {
            out.push_str("; SameSite=");
            out.push_str(same_site.as_str());
        }
        Ok(())
    }

    fn check(&self) -> Result<(), Error> {
        check_name(self.name.as_bytes())?;
        check_value(self.value.as_bytes())?;
        if let Some(path) = self.path {
            check_path(path)?;
        }
        if let Some(domain) = self.domain {
            check_domain(domain)?;
        }
        if has_prefix(self.name, "__Host-")
            && (!self.secure || self.domain.is_some() || self.path != Some("/"))
        {
            return Err(Error::HostPrefixViolation);
        }
        if has_prefix(self.name, "__Secure-") && !self.secure {
            return Err(Error::SecurePrefixWithoutSecure);
        }
        if self.same_site == Some(SameSite::None) && !self.secure {
            return Err(Error::SameSiteNoneWithoutSecure);
        }
        Ok(())
    }
}

/// Seconds from the epoch to 9999-12-31T23:59:59Z, the last time an IMF-fixdate can spell.
const LAST_FOUR_DIGIT_YEAR: u64 = 253_402_300_799;

/// Appends `time` as `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7), clamped to the
/// range an IMF-fixdate can spell (httpdate refuses times before 1970 or after 9999).
fn write_imf_fixdate(out: &mut String, time: SystemTime) {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
        .min(LAST_FOUR_DIGIT_YEAR);
    out.push_str(&httpdate::fmt_http_date(
        UNIX_EPOCH + Duration::from_secs(seconds),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(header: &str) -> Vec<(&str, &str)> {
        CookieHeader::parse(header.as_bytes()).iter().collect()
    }

    // RFC 6265 §4.2 / §5.4: reading a Cookie header, one row per rule.
    #[test]
    fn cookie_header_table() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("a=1", &[("a", "1")]),
            ("a=1; b=2", &[("a", "1"), ("b", "2")]),
            ("a=1;b=2", &[("a", "1"), ("b", "2")]), // no SP after ';'
            ("  a = 1 ;\tb=2\t", &[("a", "1"), ("b", "2")]), // OWS anywhere
            ("a=", &[("a", "")]),                   // empty value is allowed
            ("a=\"\"", &[("a", "")]),               // quoted empty value
            ("a=\"x y\"", &[]),                     // space inside quotes is not a cookie-octet
            ("a=\"xy\"", &[("a", "xy")]),           // quotes stripped
            ("a=\"xy", &[]),                        // unbalanced quote
            ("a=x\"y", &[]),                        // quote inside value
            ("=1; b=2", &[("b", "2")]),             // empty name skipped
            ("novalue; b=2", &[("b", "2")]),        // no '=' skipped
            ("a b=1; c=3", &[("c", "3")]),          // space in name
            ("a=1,b=2; c=3", &[("c", "3")]),        // ',' is not a cookie-octet
            ("a=x=y", &[("a", "x=y")]),             // '=' in value is fine
            (";;; ;a=1;;", &[("a", "1")]),          // empty pieces
            ("a=\u{e9}; b=2", &[("b", "2")]),       // non-ASCII value
            ("a=1\r\nX: y; b=2", &[("b", "2")]),    // CR/LF never pass
            ("A=1; a=2", &[("A", "1"), ("a", "2")]), // names are case-sensitive
            ("a=b\\c", &[]),                        // backslash
        ];
        for (header, expected) in table {
            assert_eq!(pairs(header), *expected, "{header:?}");
        }
    }

    #[test]
    fn get_finds_first_and_get_all_finds_every() {
        let cookies = CookieHeader::parse(b"x=1; id=first; y=2; id=second");
        assert_eq!(cookies.get("id"), Some("first"));
        assert_eq!(cookies.get("ID"), None);
        assert_eq!(cookies.get("zzz"), None);
        assert_eq!(
            cookies.get_all("id").collect::<Vec<_>>(),
            ["first", "second"]
        );
        assert_eq!(cookies.into_iter().count(), 4);
    }

    #[test]
    fn non_utf8_bytes_are_skipped() {
        let cookies = CookieHeader::parse(b"a=\xff\xfe; b=\x80; c=ok");
        assert_eq!(cookies.iter().collect::<Vec<_>>(), [("c", "ok")]);
    }

    #[test]
    fn defaults_are_secure() {
        assert_eq!(
            SetCookie::new("id", "v").encode().unwrap(),
            "id=v; Path=/; Secure; HttpOnly; SameSite=Lax"
        );
    }

    #[test]
    fn every_attribute_in_order() {
        let header = SetCookie::new("id", "v")
            .domain(Some("example.com"))
            .path(Some("/app"))
            .max_age(Some(Duration::from_millis(90_500)))
            .expires(Some(UNIX_EPOCH + Duration::from_secs(784_111_777)))
            .same_site(Some(SameSite::None))
            .encode()
            .unwrap();
        assert_eq!(
            header,
            "id=v; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=90; Domain=example.com; \
             Path=/app; Secure; HttpOnly; SameSite=None"
        );
    }

    #[test]
    fn attributes_can_be_omitted() {
        let header = SetCookie::new("id", "v")
            .secure(false)
            .http_only(false)
            .same_site(None)
            .path(None)
            .encode()
            .unwrap();
        assert_eq!(header, "id=v");
    }

    #[test]
    fn injection_is_refused() {
        let cases: &[(SetCookie<'_>, Error)] = &[
            (SetCookie::new("", "v"), Error::EmptyCookieName),
            (
                SetCookie::new("a b", "v"),
                Error::InvalidCookieName { at: 1 },
            ),
            (
                SetCookie::new("a=b", "v"),
                Error::InvalidCookieName { at: 1 },
            ),
            (
                SetCookie::new("a;", "v"),
                Error::InvalidCookieName { at: 1 },
            ),
            (
                SetCookie::new("a\r\n", "v"),
                Error::InvalidCookieName { at: 1 },
            ),
            (
                SetCookie::new("id", "v\r\nX: y"),
                Error::InvalidCookieValue { at: 1 },
            ),
            (
                SetCookie::new("id", "v\n"),
                Error::InvalidCookieValue { at: 1 },
            ),
            (
                SetCookie::new("id", "v; Domain=evil"),
                Error::InvalidCookieValue { at: 1 },
            ),
            (
                SetCookie::new("id", "a,b"),
                Error::InvalidCookieValue { at: 1 },
            ),
            (
                SetCookie::new("id", "\"q\""),
                Error::InvalidCookieValue { at: 0 },
            ),
            (
                SetCookie::new("id", "a\\b"),
                Error::InvalidCookieValue { at: 1 },
            ),
            (
                SetCookie::new("id", "é"),
                Error::InvalidCookieValue { at: 0 },
            ),
            (
                SetCookie::new("id", "v").path(Some("/a;b")),
                Error::InvalidPath { at: 2 },
            ),
            (
                SetCookie::new("id", "v").path(Some("/\r\n")),
                Error::InvalidPath { at: 1 },
            ),
            (
                SetCookie::new("id", "v").path(Some("/é")),
                Error::InvalidPath { at: 1 },
            ),
            (
                SetCookie::new("id", "v").domain(Some("a.com; x")),
                Error::InvalidDomain { at: 5 },
            ),
            (
                SetCookie::new("id", "v").domain(Some("a\r\n")),
                Error::InvalidDomain { at: 1 },
            ),
            (
                SetCookie::new("id", "v").domain(Some("")),
                Error::InvalidDomain { at: 0 },
            ),
            (
                SetCookie::new("id", "v").domain(Some(".")),
                Error::InvalidDomain { at: 1 },
            ),
        ];
        for (cookie, expected) in cases {
            let mut out = String::from("kept");
            assert_eq!(cookie.encode_into(&mut out), Err(*expected), "{cookie:?}");
            assert_eq!(out, "kept", "nothing written on error");
        }
    }

    #[test]
    fn long_domain_is_refused() {
        let long = "a".repeat(254);
        assert_eq!(
            SetCookie::new("id", "v").domain(Some(&long)).encode(),
            Err(Error::InvalidDomain { at: 254 })
        );
        let fits = "a".repeat(253);
        assert!(
            SetCookie::new("id", "v")
                .domain(Some(&fits))
                .encode()
                .is_ok()
        );
        let dotted = format!(".{fits}");
        assert!(
            SetCookie::new("id", "v")
                .domain(Some(&dotted))
                .encode()
                .is_ok()
        );
    }

    #[test]
    fn same_site_none_needs_secure() {
        let cookie = SetCookie::new("id", "v").same_site(Some(SameSite::None));
        assert!(cookie.encode().is_ok());
        assert_eq!(
            cookie.secure(false).encode(),
            Err(Error::SameSiteNoneWithoutSecure)
        );
        assert!(
            SetCookie::new("id", "v")
                .secure(false)
                .same_site(Some(SameSite::Strict))
                .encode()
                .is_ok()
        );
    }

    #[test]
    fn host_prefix_rules() {
        let ok = SetCookie::new("__Host-id", "v");
        assert!(ok.encode().is_ok());
        for bad in [
            ok.secure(false),
            ok.path(None),
            ok.path(Some("/app")),
            ok.domain(Some("example.com")),
            SetCookie::new("__HOST-id", "v").domain(Some("example.com")),
            SetCookie::new("__host-id", "v").secure(false),
        ] {
            assert_eq!(bad.encode(), Err(Error::HostPrefixViolation), "{bad:?}");
        }
    }

    #[test]
    fn secure_prefix_rules() {
        let ok = SetCookie::new("__Secure-id", "v").domain(Some("example.com"));
        assert!(ok.encode().is_ok());
        assert_eq!(
            ok.secure(false).encode(),
            Err(Error::SecurePrefixWithoutSecure)
        );
        assert_eq!(
            SetCookie::new("__secure-id", "v").secure(false).encode(),
            Err(Error::SecurePrefixWithoutSecure)
        );
    }

    #[test]
    fn removal_keeps_path_and_domain_settable() {
        let header = SetCookie::removal("id")
            .path(Some("/app"))
            .domain(Some("example.com"))
            .encode()
            .unwrap();
        assert!(header.starts_with("id=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;"));
        assert!(header.contains("; Domain=example.com; Path=/app;"));
    }

    #[test]
    fn imf_fixdate_known_values() {
        let table: &[(u64, &str)] = &[
            (0, "Thu, 01 Jan 1970 00:00:00 GMT"),
            (784_111_777, "Sun, 06 Nov 1994 08:49:37 GMT"),
            (951_782_400, "Tue, 29 Feb 2000 00:00:00 GMT"),
            (4_107_542_400, "Mon, 01 Mar 2100 00:00:00 GMT"),
            (LAST_FOUR_DIGIT_YEAR, "Fri, 31 Dec 9999 23:59:59 GMT"),
            (u64::MAX / 2, "Fri, 31 Dec 9999 23:59:59 GMT"),
        ];
        for &(seconds, expected) in table {
            let mut out = String::new();
            let time = UNIX_EPOCH
                .checked_add(Duration::from_secs(seconds))
                .unwrap_or(UNIX_EPOCH + Duration::from_secs(LAST_FOUR_DIGIT_YEAR + 1));
            write_imf_fixdate(&mut out, time);
            assert_eq!(out, expected, "{seconds}");
        }
        let mut out = String::new();
        write_imf_fixdate(&mut out, UNIX_EPOCH - Duration::from_secs(1));
        assert_eq!(out, "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
