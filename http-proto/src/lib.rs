//! Sans-IO HTTP/1.x.
//!
//! Placeholder: only the version token exists yet (issue 4 builds the rest).
#![forbid(unsafe_code)]

/// An HTTP version this crate speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// HTTP/1.0
    Http10,
    /// HTTP/1.1
    Http11,
}

impl Version {
    /// Parses the exact `HTTP-version` token of RFC 9112 §2.3.
    #[must_use]
    pub fn parse(token: &[u8]) -> Option<Self> {
        match token {
            b"HTTP/1.0" => Some(Self::Http10),
            b"HTTP/1.1" => Some(Self::Http11),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    #[test]
    fn parses_only_exact_version_tokens() {
        assert_eq!(Version::parse(b"HTTP/1.1"), Some(Version::Http11));
        assert_eq!(Version::parse(b"HTTP/1.0"), Some(Version::Http10));
        assert_eq!(Version::parse(b"http/1.1"), None);
        assert_eq!(Version::parse(b"HTTP/1.10"), None);
    }
}
