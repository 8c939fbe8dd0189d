//! The `multipart/byteranges` body of a 206 that sends several ranges (RFC 9110 §14.6,
//! with the multipart syntax of RFC 2046 §5.1.1).
//!
//! The body is laid out here, the bytes of each range come from the caller: a server
//! streams `part_head`, the range's bytes, the next `part_head`, ..., then `closing`,
//! and knows the exact `Content-Length` up front from [`MultipartByteranges::body_len`].
//!
//! ```
//! use http_proto::semantics::{ByteRange, MultipartByteranges};
//! let data = b"0123456789";
//! let body = MultipartByteranges::new("SEP", b"text/plain", 10).unwrap();
//! let ranges = [ByteRange { start: 0, end: 1 }, ByteRange { start: 8, end: 9 }];
//! let mut out = Vec::new();
//! for r in &ranges {
//!     out.extend_from_slice(&body.part_head(r));
//!     out.extend_from_slice(&data[r.start as usize..=r.end as usize]);
//! }
//! out.extend_from_slice(&body.closing());
//! assert_eq!(out, b"\r\n--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
//! \r\n--SEP\r\nContent-Type: text/plain\r\nContent-Range: bytes 8-9/10\r\n\r\n89\r\n--SEP--\r\n");
//! assert_eq!(body.body_len(&ranges), Some(out.len() as u64));
//! assert_eq!(body.content_type(), "multipart/byteranges; boundary=SEP");
//! ```

use super::range::ByteRange;
use crate::head::is_field_value;

/// The framing of one `multipart/byteranges` body: its boundary, the type of the
/// representation every part carries, and the representation's complete length.
#[derive(Debug, Clone, Copy)]
pub struct MultipartByteranges<'a> {
    boundary: &'a str,
    content_type: &'a [u8],
    complete_len: u64,
}

impl<'a> MultipartByteranges<'a> {
    /// The framing for parts of a `complete_len`-byte representation of type
    /// `content_type`, separated by `boundary`.
    ///
    /// `None` when the boundary is not 1 to 70 letters, digits and `'()+_,-./:=?`
    /// (RFC 2046 §5.1.1's `bchars` without the space, so it needs no quoting), or the type
    /// is not a valid field value. The caller picks a boundary that does not occur in
    /// the data (a random one: RFC 9110 §14.6 leaves the choice to the server).
    #[must_use]
    pub fn new(boundary: &'a str, content_type: &'a [u8], complete_len: u64) -> Option<Self> {
        let bchar = |b: u8| b.is_ascii_alphanumeric() || b"'()+_,-./:=?".contains(&b);
        let valid = (1..=70).contains(&boundary.len()) && boundary.bytes().all(bchar);
        (valid && is_field_value(content_type)).then_some(Self {
            boundary,
            content_type,
            complete_len,
        })
    }

    /// The response's `Content-Type` value.
    #[must_use]
    pub fn content_type(&self) -> String {
        format!("multipart/byteranges; boundary={}", self.boundary)
    }

    /// What goes before `range`'s bytes: the delimiter and the part's fields. The first
    /// part's leading CRLF is an empty preamble's line end, so every part starts alike.
    #[must_use]
    pub fn part_head(&self, range: &ByteRange) -> Vec<u8> {
        let content_range = range.content_range(self.complete_len);
        let mut out = Vec::with_capacity(
            self.boundary.len() + self.content_type.len() + content_range.len() + 48,
        );
        out.extend_from_slice(b"\r\n--");
        out.extend_from_slice(self.boundary.as_bytes());
        out.extend_from_slice(b"\r\nContent-Type: ");
        out.extend_from_slice(self.content_type);
        out.extend_from_slice(b"\r\nContent-Range: ");
        out.extend_from_slice(content_range.as_bytes());
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    /// What ends the body: the close delimiter.
    #[must_use]
    pub fn closing(&self) -> Vec<u8> {
        format!("\r\n--{}--\r\n", self.boundary).into_bytes()
    }

    /// The whole body's length for these parts (its `Content-Length`); `None` if it
    /// would not fit a `u64`.
    #[must_use]
    pub fn body_len(&self, ranges: &[ByteRange]) -> Option<u64> {
        ranges
            .iter()
            .try_fold(self.closing().len() as u64, |sum, r| {
                sum.checked_add(self.part_head(r).len() as u64)?
                    .checked_add(r.len())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_of<'d>(data: &'d [u8], r: &ByteRange) -> &'d [u8] {
        let (s, e) = (
            usize::try_from(r.start).unwrap(),
            usize::try_from(r.end).unwrap(),
        );
        &data[s..=e]
    }

    /// Splits a body on its delimiters and returns each part's fields and bytes.
    fn parse(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
        let delimiter = format!("\r\n--{boundary}");
        let close = format!("{delimiter}--\r\n");
        let body = body
            .strip_suffix(close.as_bytes())
            .expect("close delimiter");
        let mut parts = Vec::new();
        let mut rest = body;
        while !rest.is_empty() {
            rest = rest.strip_prefix(delimiter.as_bytes()).expect("delimiter");
            let end = rest
                .windows(delimiter.len())
                .position(|w| w == delimiter.as_bytes())
                .unwrap_or(rest.len());
            let part = &rest[..end];
            let split = part.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
            let fields = String::from_utf8(part[2..split].to_vec()).unwrap();
            parts.push((fields, part[split + 4..].to_vec()));
            rest = &rest[end..];
        }
        parts
    }

    #[test]
    fn boundaries_and_types_are_checked() {
        assert!(MultipartByteranges::new("", b"text/plain", 1).is_none());
        assert!(MultipartByteranges::new(&"a".repeat(71), b"text/plain", 1).is_none());
        assert!(MultipartByteranges::new(&"a".repeat(70), b"text/plain", 1).is_some());
        assert!(MultipartByteranges::new("a b", b"text/plain", 1).is_none());
        assert!(MultipartByteranges::new("a\"b", b"text/plain", 1).is_none());
        assert!(MultipartByteranges::new("ab", b"text/plain\r\nX: y", 1).is_none());
    }

    proptest::proptest! {
        /// Any data and ranges: the body parses back into one part per range with that
        /// range's bytes and fields, and is exactly `body_len` long.
        #[test]
        fn bodies_parse_back_into_their_parts(
            data in proptest::collection::vec(proptest::num::u8::ANY, 1..300),
            picks in proptest::collection::vec((proptest::num::usize::ANY, proptest::num::usize::ANY), 1..8),
        ) {
            let boundary = "3d6b6a416f9b5";
            let len = data.len();
            let ranges: Vec<ByteRange> = picks.iter().map(|&(a, b)| {
                let (a, b) = (a % len, b % len);
                ByteRange { start: a.min(b) as u64, end: a.max(b) as u64 }
            }).collect();
            let framing = MultipartByteranges::new(boundary, b"application/octet-stream", len as u64).unwrap();
            let mut body = Vec::new();
            for r in &ranges {
                body.extend_from_slice(&framing.part_head(r));
                body.extend_from_slice(bytes_of(&data, r));
            }
            body.extend_from_slice(&framing.closing());
            proptest::prop_assert_eq!(framing.body_len(&ranges), Some(body.len() as u64));
            // The boundary is not in the data when the data cannot spell it.
            if !data.windows(boundary.len()).any(|w| w == boundary.as_bytes()) {
                let parts = parse(&body, boundary);
                proptest::prop_assert_eq!(parts.len(), ranges.len());
                for ((fields, bytes), r) in parts.iter().zip(&ranges) {
                    proptest::prop_assert_eq!(fields, &format!(
                        "Content-Type: application/octet-stream\r\nContent-Range: bytes {}-{}/{len}",
                        r.start, r.end
                    ));
                    proptest::prop_assert_eq!(&bytes[..], bytes_of(&data, r));
                }
            }
        }
    }
}
