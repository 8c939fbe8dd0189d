//! Message heads: start-lines and header fields (RFC 9112 §3-§5).

mod fields;
mod request;
mod response;
pub(crate) mod scan;

pub(crate) use fields::{FieldFacts, FieldSection, SectionEnd, list_elements, parse_fields};
pub use fields::{Headers, is_connection_field, is_field_name, is_field_value};
pub use request::{Method, RequestHead, RequestParser, TargetForm};
pub use response::{ResponseHead, ResponseParser};

use crate::error::{Error, ErrorKind};
use crate::limits::Limits;

/// Runs `advance` over at most `max_head_len` bytes: a head not complete within them is 431.
#[inline]
pub(crate) fn within_head_limit<T>(
    buf: &[u8],
    limits: &Limits,
    advance: impl FnOnce(&[u8]) -> Result<Option<T>, Error>,
) -> Result<Option<T>, Error> {
    // Spans are u32: no limit lets a head reach 4 GiB.
    let head_limit = limits.max_head_len.min(u32::MAX as usize - 1);
    match advance(&buf[..buf.len().min(head_limit)])? {
        None if buf.len() > head_limit => Err(Error::new(ErrorKind::HeadTooLarge, head_limit)),
        done => Ok(done),
    }
}

/// An HTTP version this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// Parses the exact `HTTP-version` token of RFC 9112 §2.3.
    ///
    /// ```
    /// use http_proto::Version;
    /// assert_eq!(Version::parse(b"HTTP/1.1"), Some(Version::Http11));
    /// assert_eq!(Version::parse(b"HTTP/2.0"), None);
    /// ```
    #[must_use]
    pub fn parse(token: &[u8]) -> Option<Self> {
        match token {
            b"HTTP/1.0" => Some(Self::Http10),
            b"HTTP/1.1" => Some(Self::Http11),
            _ => None,
        }
    }

    /// The wire form, `HTTP/1.x`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http10 => "HTTP/1.0",
            Self::Http11 => "HTTP/1.1",
        }
    }

    /// Reads the 8-byte version token at `at`: a version we speak, 505 for another well-formed
    /// `HTTP/DIGIT.DIGIT`, 400 otherwise. `Ok(None)` when the bytes so far are a valid prefix.
    #[inline]
    pub(crate) fn read(buf: &[u8], at: usize) -> Result<Option<Self>, Error> {
        // The two versions we speak, compared as one word each.
        match buf.get(at..at + 8) {
            Some(b"HTTP/1.1") => return Ok(Some(Self::Http11)),
            Some(b"HTTP/1.0") => return Ok(Some(Self::Http10)),
            _ => {}
        }
        let have = &buf[at.min(buf.len())..];
        let token = &have[..have.len().min(8)];
        let shape_ok = token.iter().enumerate().all(|(i, &b)| match i {
            0..=4 => b == b"HTTP/"[i],
            5 | 7 => b.is_ascii_digit(),
            _ => b == b'.',
        });
        if !shape_ok {
            return Err(Error::new(ErrorKind::InvalidVersion, at));
        }
        if token.len() < 8 {
            return Ok(None);
        }
        Self::parse(token)
            .map(Some)
            .ok_or(Error::new(ErrorKind::UnsupportedVersion, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_tokens() {
        assert_eq!(Version::read(b"HTTP/1.1", 0), Ok(Some(Version::Http11)));
        assert_eq!(Version::read(b"HTTP/1.0", 0), Ok(Some(Version::Http10)));
        assert_eq!(Version::read(b"HTTP/1", 0), Ok(None));
        assert_eq!(Version::read(b"HTTP/2.0", 0).unwrap_err().status(), 505);
        assert_eq!(Version::read(b"HTTP/1.2", 0).unwrap_err().status(), 505);
        assert_eq!(Version::read(b"HTTP/0.9", 0).unwrap_err().status(), 505);
        assert_eq!(Version::read(b"HTTP/1.x", 0).unwrap_err().status(), 400);
        assert_eq!(Version::read(b"http/1.1", 0).unwrap_err().status(), 400);
        assert_eq!(Version::read(b"HTTP/11", 0).unwrap_err().status(), 400);
    }
}
