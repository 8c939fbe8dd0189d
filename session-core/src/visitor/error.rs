//! The one error type of the visitor-session module.

use std::fmt;

/// Why a visitor-session operation was refused.
///
/// Every variant names the fault; cookie variants carry the byte offset of the
/// first offending byte so a caller can log *where* its own input went wrong.
///
/// ```
/// use session_core::visitor::{Error, SetCookie};
///
/// let err = SetCookie::new("id", "a;b").encode().unwrap_err();
/// assert_eq!(err, Error::InvalidCookieValue { at: 1 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The operating system's random generator failed; no session id was made.
    RandomUnavailable,
    /// A session id was not exactly 32 lowercase hexadecimal digits.
    MalformedSessionId,
    /// A cookie name is empty.
    EmptyCookieName,
    /// A cookie name byte at offset `at` is not a `tchar` (RFC 6265 §4.1.1, RFC 9110 §5.6.2).
    InvalidCookieName {
        /// Byte offset of the first byte that is not allowed.
        at: usize,
    },
    /// A cookie value byte at offset `at` is not a `cookie-octet` (RFC 6265 §4.1.1):
    /// this refuses CR, LF, `;`, `,`, space, `"`, `\` and every control byte.
    InvalidCookieValue {
        /// Byte offset of the first byte that is not allowed.
        at: usize,
    },
    /// The `Path` attribute has a control byte or `;` at offset `at` (RFC 6265 §4.1.1 `path-value`).
    InvalidPath {
        /// Byte offset of the first byte that is not allowed.
        at: usize,
    },
    /// The `Domain` attribute is empty, too long, or has a byte other than a
    /// letter, digit, `-` or `.` at offset `at` (RFC 6265 §4.1.2.3, RFC 1034 §3.5).
    InvalidDomain {
        /// Byte offset of the first byte that is not allowed (the length when too long or empty).
        at: usize,
    },
    /// `SameSite=None` without `Secure`: browsers reject such a cookie (RFC 6265bis §5.6.7).
    SameSiteNoneWithoutSecure,
    /// A `__Secure-` cookie without `Secure` (RFC 6265bis §4.1.3.1).
    SecurePrefixWithoutSecure,
    /// A `__Host-` cookie without `Secure`, with a `Domain`, or with a `Path` other
    /// than `/` (RFC 6265bis §4.1.3.2).
    HostPrefixViolation,
    /// The store is at its capacity and its policy is to refuse new sessions.
    StoreFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// No live session has that id (never issued, removed, rotated away or expired).
    UnknownSession,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RandomUnavailable => f.write_str("the OS random generator failed"),
            Self::MalformedSessionId => f.write_str("malformed session id"),
            Self::EmptyCookieName => f.write_str("empty cookie name"),
            Self::InvalidCookieName { at } => write!(f, "invalid cookie name byte at {at}"),
            Self::InvalidCookieValue { at } => write!(f, "invalid cookie value byte at {at}"),
            Self::InvalidPath { at } => write!(f, "invalid cookie Path byte at {at}"),
            Self::InvalidDomain { at } => write!(f, "invalid cookie Domain at {at}"),
            Self::SameSiteNoneWithoutSecure => f.write_str("SameSite=None requires Secure"),
            Self::SecurePrefixWithoutSecure => f.write_str("__Secure- cookie requires Secure"),
            Self::HostPrefixViolation => {
                f.write_str("__Host- cookie requires Secure, Path=/ and no Domain")
            }
            Self::StoreFull { capacity } => {
                write!(f, "session store is full ({capacity} sessions)")
            }
            Self::UnknownSession => f.write_str("unknown or expired session"),
        }
    }
}

impl std::error::Error for Error {}
