//! The one error type of the crate.

use std::fmt;

/// Everything that can go wrong while building an environment, resolving a script or
/// parsing a CGI response.
///
/// Positions (`offset`) count bytes from the start of the script's output (response
/// errors) or of the URL path (resolution errors). The enum is `#[non_exhaustive]`: match
/// with a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ----- script resolution -----
    /// The URL path does not start with `/` (an asterisk- or authority-form target, or an
    /// empty path).
    NotAbsolutePath,
    /// A `%` not followed by two hex digits (RFC 3986 §2.1).
    BadPercentEncoding {
        /// Offset of the `%` in the URL path.
        offset: usize,
    },
    /// `%2F` (an encoded `/`) in the path: decoding it would change the path structure
    /// (RFC 3875 §4.1.5 allows refusing it; we always do).
    EncodedSlash {
        /// Offset of the `%` in the URL path.
        offset: usize,
    },
    /// A NUL byte, raw or as `%00`: no file name or environment value can carry one.
    NulInPath {
        /// Offset of the NUL or its `%` in the URL path.
        offset: usize,
    },
    /// `..` segments climb above the mapped root (or above the single program's prefix).
    EscapesRoot,
    /// The path has more segments than [`Limits::max_path_segments`](crate::Limits).
    TooManySegments {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The URL path is not under the resolver's URL prefix.
    PrefixMismatch,
    /// No file exists along the path (it ends in a directory or a missing name).
    ScriptNotFound,
    /// The first file along the path exists but is not executable while the resolver
    /// requires it (`ScriptResolver::require_executable`).
    NotExecutable,
    /// A symbolic link along the path leads outside the root and the resolver does not
    /// allow that.
    SymlinkOutsideRoot,
    /// The root directory (or single program) could not be read: the I/O error's kind.
    Io(std::io::ErrorKind),

    // ----- environment -----
    /// A meta-variable's value would contain a NUL byte, which no environment can hold.
    NulInVariable {
        /// The variable's name.
        name: Vec<u8>,
    },

    /// A variable name that is empty or holds `=` or NUL, which no environment can hold.
    InvalidVariableName {
        /// The rejected name.
        name: Vec<u8>,
    },

    // ----- CGI response -----
    /// The header section is longer than [`Limits::max_header_bytes`](crate::Limits).
    HeaderTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// More header lines than [`Limits::max_headers`](crate::Limits).
    TooManyHeaders {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// A header line without `:` or with a field name that is not an RFC 9110 token
    /// (this includes whitespace before the colon).
    InvalidFieldName {
        /// Offset of the line.
        offset: usize,
    },
    /// A field value holding a CR, NUL or other control byte: a header-injection attempt
    /// or a broken script. RFC 9110 §5.5.
    InvalidFieldValue {
        /// Offset of the line.
        offset: usize,
    },
    /// A line starting with space or tab (obsolete line folding, RFC 9112 §5.2).
    ObsFold {
        /// Offset of the line.
        offset: usize,
    },
    /// A second `Status`, `Location` or `Content-Type` field (RFC 3875 §6.3 allows one).
    DuplicateField {
        /// Offset of the second line.
        offset: usize,
    },
    /// A `Status:` value that is not `3DIGIT [SP reason-phrase]` with a code in 200..=599,
    /// or an NPH status line that is not `HTTP/x.y 3DIGIT [SP reason]` with a code in
    /// 100..=599.
    InvalidStatus {
        /// Offset of the line.
        offset: usize,
    },
    /// A `Location:` value that is empty.
    InvalidLocation {
        /// Offset of the line.
        offset: usize,
    },
    /// No `Content-Type`, no `Location` and no `Status`: not a CGI response (RFC 3875
    /// §6.2; see [`ResponseParser`](crate::ResponseParser) for the `Status`-only case).
    MissingContentType,
    /// The script's output ended before the blank line that closes the header section.
    UnexpectedEof {
        /// Total bytes received.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAbsolutePath => f.write_str("URL path does not start with '/'"),
            Self::BadPercentEncoding { offset } => {
                write!(f, "bad percent-encoding at byte {offset}")
            }
            Self::EncodedSlash { offset } => write!(f, "encoded '/' at byte {offset}"),
            Self::NulInPath { offset } => write!(f, "NUL in path at byte {offset}"),
            Self::EscapesRoot => f.write_str("'..' leaves the root"),
            Self::TooManySegments { limit } => write!(f, "more than {limit} path segments"),
            Self::PrefixMismatch => f.write_str("path is not under the mapped prefix"),
            Self::ScriptNotFound => f.write_str("no script file along the path"),
            Self::NotExecutable => f.write_str("script file is not executable"),
            Self::SymlinkOutsideRoot => f.write_str("symbolic link leads outside the root"),
            Self::Io(kind) => write!(f, "I/O error: {kind}"),
            Self::NulInVariable { name } => write!(
                f,
                "NUL byte in the value of {}",
                String::from_utf8_lossy(name)
            ),
            Self::InvalidVariableName { name } => write!(
                f,
                "invalid variable name {:?}",
                String::from_utf8_lossy(name)
            ),
            Self::HeaderTooLarge { limit } => {
                write!(f, "CGI header section larger than {limit} bytes")
            }
            Self::TooManyHeaders { limit } => write!(f, "more than {limit} CGI header fields"),
            Self::InvalidFieldName { offset } => write!(f, "invalid field name at byte {offset}"),
            Self::InvalidFieldValue { offset } => {
                write!(f, "invalid field value at byte {offset}")
            }
            Self::ObsFold { offset } => write!(f, "obsolete line folding at byte {offset}"),
            Self::DuplicateField { offset } => write!(f, "duplicate CGI field at byte {offset}"),
            Self::InvalidStatus { offset } => write!(f, "invalid status at byte {offset}"),
            Self::InvalidLocation { offset } => write!(f, "invalid Location at byte {offset}"),
            Self::MissingContentType => {
                f.write_str("CGI response has no Content-Type, Location or Status")
            }
            Self::UnexpectedEof { offset } => {
                write!(
                    f,
                    "script output ended inside the header section at byte {offset}"
                )
            }
        }
    }
}

impl std::error::Error for Error {}
