//! The request path in normal form: percent-decoded once (RFC 3986 §2.1), dot-segments
//! removed (RFC 3986 §5.2.4) and repeated slashes merged, so that one resource has one
//! spelling before a server matches routes or maps it onto files.
//!
//! This is the crate's one decoding of a path: a router and a CGI script resolver that
//! both take their path from here agree on what it names. The only choice left to the
//! caller is what an encoded slash (`%2F`) means, [`EncodedSlash`]: a separator for
//! routing and static files, a refusal for scripts (RFC 3875 §4.1.5).
//!
//! ```
//! use http_proto::{ErrorKind, semantics::{EncodedSlash, normalize_path, normalize_path_with}};
//! assert_eq!(&normalize_path(b"/%63gi-bin/./x")?[..], b"/cgi-bin/x");
//! assert_eq!(normalize_path(b"/a/../../etc").unwrap_err().kind(), ErrorKind::PathAboveRoot);
//! let refused = normalize_path_with(b"/cgi-bin/a%2Fb", EncodedSlash::Refuse).unwrap_err();
//! assert_eq!((refused.kind(), refused.offset()), (ErrorKind::PathEncodedSlash, 10));
//! # Ok::<(), http_proto::Error>(())
//! ```

use crate::error::{Error, ErrorKind};
use std::borrow::Cow;

/// The path a server routes on: percent-decoded once (`%2F` included, so an encoded slash
/// separates segments like a plain one), `.` and `..` segments resolved (RFC 3986 §5.2.4),
/// and repeated slashes merged; a trailing slash is kept, also when the last segment was
/// `.` or `..`.
///
/// Refused, with status 400: a `..` above the root ([`ErrorKind::PathAboveRoot`]) and a
/// decoded NUL ([`ErrorKind::PathNul`]). A path that does not start with `/` (`*` for OPTIONS, empty for
/// CONNECT) names no resource path and is returned unchanged.
///
/// A path already in normal form is borrowed, so the common request pays one scan and
/// no allocation. The result is decoded bytes: decoding it again would be a second
/// decoding (`%252e` → `%2e` → `.`), which callers must not do. Invalid escapes (`%zz`,
/// a trailing `%`) stay as they are.
///
/// ```
/// use http_proto::semantics::normalize_path;
/// assert_eq!(&normalize_path(b"//a///b/.")?[..], b"/a/b/");
/// assert_eq!(&normalize_path(b"/a%2Fb")?[..], b"/a/b");
/// assert_eq!(&normalize_path(b"/%252e%252e/x")?[..], b"/%2e%2e/x");
/// # Ok::<(), http_proto::Error>(())
/// ```
pub fn normalize_path(path: &[u8]) -> Result<Cow<'_, [u8]>, Error> {
    normalize_path_with(path, EncodedSlash::Decode)
}

/// What an encoded slash (`%2F` or `%2f`) in a request path means to
/// [`normalize_path_with`].
///
/// Decoding `%2F` loses the difference between `/a%2Fb` (one segment `a/b`) and `/a/b`
/// (two segments). A router or a file server that only looks the decoded path up can
/// live with that ([`Decode`](Self::Decode), what [`normalize_path`] does); a gateway
/// that splits the path into `SCRIPT_NAME` and `PATH_INFO` cannot, and RFC 3875 §4.1.5
/// lets it refuse the request instead ([`Refuse`](Self::Refuse), like Apache's default
/// `AllowEncodedSlashes Off`, which answers 404; we answer 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum EncodedSlash {
    /// `%2F` is decoded to `/` and separates segments like a plain one.
    #[default]
    Decode,
    /// A path holding `%2F` is refused with [`ErrorKind::PathEncodedSlash`] (400), at the
    /// offset of its `%`. `%252F` is not an encoded slash: it decodes (once) to `%2F`.
    Refuse,
}

/// [`normalize_path`] with an explicit policy for encoded slashes: the same single
/// decoding, dot-segment removal and refusals, plus [`ErrorKind::PathEncodedSlash`] under
/// [`EncodedSlash::Refuse`]. A CGI or FastCGI gateway resolves scripts on
/// `normalize_path_with(head.path(), EncodedSlash::Refuse)`.
///
/// An encoded slash is looked for only when the path holds a `%`, so a plain path costs
/// the same one scan as with [`normalize_path`].
///
/// ```
/// use http_proto::semantics::{EncodedSlash, normalize_path_with};
/// assert_eq!(&normalize_path_with(b"/a%2Fb", EncodedSlash::Decode)?[..], b"/a/b");
/// assert!(normalize_path_with(b"/a%2fb", EncodedSlash::Refuse).is_err());
/// assert_eq!(&normalize_path_with(b"/a%252Fb", EncodedSlash::Refuse)?[..], b"/a%2Fb");
/// # Ok::<(), http_proto::Error>(())
/// ```
pub fn normalize_path_with(
    path: &[u8],
    encoded_slash: EncodedSlash,
) -> Result<Cow<'_, [u8]>, Error> {
    if !path.starts_with(b"/") {
        return Ok(Cow::Borrowed(path));
    }
    // One pass: nothing to decode or resolve unless a `%`, a NUL, `//` or `/.` occurs.
    let plain = memchr::memchr3_iter(b'%', 0, b'/', path)
        .all(|at| path[at] == b'/' && !matches!(path.get(at + 1), Some(b'/' | b'.')));
    if plain {
        return Ok(Cow::Borrowed(path));
    }
    let has_escape = path.contains(&b'%');
    if has_escape
        && encoded_slash == EncodedSlash::Refuse
        && let Some(at) = find_encoded_slash(path)
    {
        return Err(Error::new(ErrorKind::PathEncodedSlash, at));
    }
    let decoded = percent_decode(path);
    if decoded.contains(&0) {
        return Err(Error::new(ErrorKind::PathNul, 0));
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let mut trailing_slash = false;
    for segment in decoded.split(|&b| b == b'/').skip(1) {
        trailing_slash = true;
        match segment {
            b"" | b"." => {}
            b".." => {
                if segments.pop().is_none() {
                    return Err(Error::new(ErrorKind::PathAboveRoot, 0));
                }
            }
            s => {
                segments.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(decoded.len());
    for s in &segments {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    Ok(Cow::Owned(out))
}

/// `path` (decoded bytes) as it is written in a URI path: every byte but the unreserved
/// ones (RFC 3986 §2.3) and `/` percent-encoded, so any file name (spaces, `?`, `#`,
/// `%`, non-UTF-8 bytes) makes a link that [`normalize_path`] decodes back to it.
///
/// ```
/// use http_proto::semantics::percent_encode_path;
/// assert_eq!(percent_encode_path(b"/a b/100%?.txt"), "/a%20b/100%25%3F.txt");
/// ```
#[must_use]
pub fn percent_encode_path(path: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out
}

/// The offset of the first `%2F` or `%2f` in `path`.
fn find_encoded_slash(path: &[u8]) -> Option<usize> {
    memchr::memchr_iter(b'%', path)
        .find(|&i| matches!(path.get(i + 1..i + 3), Some([b'2', b'f' | b'F'])))
}

/// RFC 3986 §2.1: `%` and two hex digits become that byte; any other `%` stays.
fn percent_decode(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        if b == b'%'
            && let (Some(hi), Some(lo)) = (s.get(i + 1).and_then(hex), s.get(i + 2).and_then(hex))
        {
            out.push(hi << 4 | lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    out
}

fn hex(b: &u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        /// Encoding then decoding gives the bytes back, and the encoding is a valid
        /// path of visible ASCII.
        #[test]
        fn percent_encoding_round_trips(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let encoded = super::percent_encode_path(&bytes);
            proptest::prop_assert!(encoded.bytes().all(|b| b.is_ascii_graphic()));
            proptest::prop_assert_eq!(super::percent_decode(encoded.as_bytes()), bytes);
        }
    }

    use super::*;

    fn n(p: &[u8]) -> Result<String, ErrorKind> {
        normalize_path(p)
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .map_err(|e| e.kind())
    }

    #[test]
    fn paths_are_normalized_before_matching() {
        assert!(matches!(
            normalize_path(b"/plaintext"),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(normalize_path(b"/a/b.c/"), Ok(Cow::Borrowed(_))));
        assert_eq!(n(b"/%63gi-bin/x").unwrap(), "/cgi-bin/x");
        assert_eq!(n(b"//a///b").unwrap(), "/a/b");
        assert_eq!(n(b"/a/./b/../c").unwrap(), "/a/c");
        assert_eq!(n(b"/a/b/..").unwrap(), "/a/");
        assert_eq!(n(b"/a/.").unwrap(), "/a/");
        assert_eq!(n(b"/a%2Fb").unwrap(), "/a/b");
        assert_eq!(n(b"/%2e%2e%2fx").unwrap_err(), ErrorKind::PathAboveRoot);
        assert_eq!(n(b"/..").unwrap_err(), ErrorKind::PathAboveRoot);
        assert_eq!(n(b"/a/../..").unwrap_err(), ErrorKind::PathAboveRoot);
        assert_eq!(n(b"/a%00b").unwrap_err(), ErrorKind::PathNul);
        // Decoded once only: `%252e` stays `%2e`, a name, not a dot-segment.
        assert_eq!(n(b"/%252e%252e/x").unwrap(), "/%2e%2e/x");
        assert_eq!(n(b"/.hidden").unwrap(), "/.hidden");
        assert_eq!(n(b"*").unwrap(), "*");
    }

    #[test]
    fn remove_dot_segments_table() {
        // (raw path, normal form or refusal); RFC 3986 §5.2.4 plus the refusal rules.
        let table: &[(&[u8], Result<&str, ErrorKind>)] = &[
            (b"/", Ok("/")),
            (b"", Ok("")),
            (b"/.", Ok("/")),
            (b"/./", Ok("/")),
            (b"//", Ok("/")),
            (b"/a/b/c/./../../g", Ok("/a/g")),
            (b"/mid/content=5/../6", Ok("/mid/6")),
            (b"/a/..", Ok("/")),
            (b"/a/../", Ok("/")),
            (b"/a/..b", Ok("/a/..b")),
            (b"/a/b..", Ok("/a/b..")),
            (b"/a/.../b", Ok("/a/.../b")),
            (b"/%2E", Ok("/")),
            (b"/a/%2E%2E", Ok("/")),
            (b"/a/%2e%2E/", Ok("/")),
            (b"/a/%2e%2e/%2e%2e", Err(ErrorKind::PathAboveRoot)),
            (b"/../a", Err(ErrorKind::PathAboveRoot)),
            (b"/a/../../b/..", Err(ErrorKind::PathAboveRoot)),
            (b"/sub/..%2f..%2fsecret", Err(ErrorKind::PathAboveRoot)),
            (b"/%00", Err(ErrorKind::PathNul)),
            (b"/a\0", Err(ErrorKind::PathNul)),
            (b"/%zz/%4", Ok("/%zz/%4")),
            (b"/100%", Ok("/100%")),
            (b"/a%20b.txt", Ok("/a b.txt")),
            (b"/%41%42", Ok("/AB")),
            (b"/%2f%2F", Ok("/")),
            (b"/%25", Ok("/%")),
        ];
        for &(raw, want) in table {
            assert_eq!(
                n(raw).as_deref().map_err(|e| *e),
                want,
                "{}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn encoded_slash_policy_table() {
        // (raw path, under Decode, under Refuse)
        type Row = (
            &'static [u8],
            Result<&'static str, ErrorKind>,
            Result<&'static str, (ErrorKind, usize)>,
        );
        let table: &[Row] = &[
            (b"/a/b", Ok("/a/b"), Ok("/a/b")),
            (b"/a%20b", Ok("/a b"), Ok("/a b")),
            (b"/a%2Fb", Ok("/a/b"), Err((ErrorKind::PathEncodedSlash, 2))),
            (b"/a/%2f", Ok("/a/"), Err((ErrorKind::PathEncodedSlash, 3))),
            (
                b"/cgi-bin%2Fx.cgi",
                Ok("/cgi-bin/x.cgi"),
                Err((ErrorKind::PathEncodedSlash, 8)),
            ),
            // Decoded once: `%252F` is the three bytes `%2F`, not a separator.
            (b"/a%252Fb", Ok("/a%2Fb"), Ok("/a%2Fb")),
            (b"/a%2", Ok("/a%2"), Ok("/a%2")),
            (b"/a%2g", Ok("/a%2g"), Ok("/a%2g")),
            // The other refusals are the same under both policies.
            (
                b"/..%2F..",
                Err(ErrorKind::PathAboveRoot),
                Err((ErrorKind::PathEncodedSlash, 3)),
            ),
            (
                b"/%2e%2e",
                Err(ErrorKind::PathAboveRoot),
                Err((ErrorKind::PathAboveRoot, 0)),
            ),
            (
                b"/%00",
                Err(ErrorKind::PathNul),
                Err((ErrorKind::PathNul, 0)),
            ),
            (b"*", Ok("*"), Ok("*")),
        ];
        let run = |raw, policy| {
            normalize_path_with(raw, policy).map(|c| String::from_utf8_lossy(&c).into_owned())
        };
        for &(raw, decode, refuse) in table {
            let text = String::from_utf8_lossy(raw);
            assert_eq!(
                run(raw, EncodedSlash::Decode).map_err(|e| e.kind()),
                decode.map(String::from),
                "{text} (decode)"
            );
            assert_eq!(
                run(raw, EncodedSlash::Refuse).map_err(|e| (e.kind(), e.offset())),
                refuse.map(String::from),
                "{text} (refuse)"
            );
            assert_eq!(
                normalize_path(raw).ok(),
                normalize_path_with(raw, EncodedSlash::Decode).ok()
            );
        }
        assert_eq!(ErrorKind::PathEncodedSlash.status(), 400);
    }

    #[test]
    fn refusals_answer_400_and_say_why() {
        assert_eq!(ErrorKind::PathAboveRoot.status(), 400);
        assert_eq!(ErrorKind::PathNul.status(), 400);
        let nul = normalize_path(b"/%00").unwrap_err();
        assert_eq!(
            nul.to_string(),
            "path holds a NUL byte at byte 0 (answers 400)"
        );
    }
}
