//! The request path in normal form: percent-decoded once (RFC 3986 §2.1), dot-segments
//! removed (RFC 3986 §5.2.4) and repeated slashes merged, so that one resource has one
//! spelling before a server matches routes or maps it onto files.
//!
//! ```
//! use http_proto::{ErrorKind, semantics::normalize_path};
//! assert_eq!(&normalize_path(b"/%63gi-bin/./x")?[..], b"/cgi-bin/x");
//! assert_eq!(normalize_path(b"/a/../../etc").unwrap_err().kind(), ErrorKind::PathAboveRoot);
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
    if !path.starts_with(b"/") {
        return Ok(Cow::Borrowed(path));
    }
    let plain = !path.contains(&b'%')
        && !path.windows(2).any(|w| w == b"//" || w == b"/.")
        && !path.contains(&0);
    if plain {
        return Ok(Cow::Borrowed(path));
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
