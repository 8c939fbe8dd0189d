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
    /// http-proto refused the request's path when normalizing it for a script
    /// ([`ScriptResolver::resolve_request`](crate::ScriptResolver::resolve_request)):
    /// `..` above the root, a decoded NUL, or an encoded slash. Answers that kind's status (400).
    RefusedPath(http_proto::ErrorKind),
    /// The URL path (or a configured prefix) does not start with `/` (an asterisk- or
    /// authority-form target, or an empty path).
    NotAbsolutePath,
    /// A NUL byte in the path: no file name or environment value can carry one.
    /// (http-proto refuses a decoded `%00` before the path gets here.)
    NulInPath {
        /// Offset of the NUL in the URL path.
        offset: usize,
    },
    /// The path has an empty (`//`), `.` or `..` segment, which http-proto's
    /// normalization never leaves: it was not taken from
    /// [`normalize_path_with`](http_proto::semantics::normalize_path_with), so the
    /// resolver refuses it rather than guess (in a configured prefix: a `.` or `..`).
    /// Percent-decoding, `..` above the root and `%2F` are refused by http-proto, as
    /// [`http_proto::ErrorKind::PathAboveRoot`], `PathNul` and `PathEncodedSlash`.
    NotNormalized {
        /// Offset of the segment in the URL path.
        offset: usize,
    },
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
            Self::RefusedPath(kind) => write!(
                f,
                "request path refused: {}",
                http_proto::Error::from(*kind)
            ),
            Self::NulInPath { offset } => write!(f, "NUL in path at byte {offset}"),
            Self::NotNormalized { offset } => write!(
                f,
                "empty, '.' or '..' segment at byte {offset}: the path was not normalized"
            ),
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

impl Error {
    /// The HTTP status a gateway answers with when this error ends the request.
    ///
    /// Path errors are the client's (400; 414 for too many segments), a missing script
    /// is 404, a script the server may not run is 403, and anything wrong with what the
    /// script wrote is 502 Bad Gateway: the script, not the client, is at fault (Apache
    /// says 500 there; RFC 9110 §15.6.3 fits a broken upstream better). A path that was
    /// not normalized ([`Error::NotNormalized`]) is the gateway's bug: 500.
    ///
    /// ```
    /// assert_eq!(cgi_env::Error::NulInPath { offset: 1 }.status_code(), 400);
    /// assert_eq!(cgi_env::Error::MissingContentType.status_code(), 502);
    /// ```
    #[must_use]
    pub fn status_code(&self) -> u16 {
        match self {
            Self::RefusedPath(kind) => kind.status(),
            Self::NotAbsolutePath | Self::NulInPath { .. } | Self::NulInVariable { .. } => 400,
            Self::TooManySegments { .. } => 414,
            Self::PrefixMismatch
            | Self::ScriptNotFound
            | Self::Io(std::io::ErrorKind::NotFound) => 404,
            Self::NotExecutable
            | Self::SymlinkOutsideRoot
            | Self::Io(std::io::ErrorKind::PermissionDenied) => 403,
            Self::Io(_) | Self::InvalidVariableName { .. } | Self::NotNormalized { .. } => 500,
            Self::HeaderTooLarge { .. }
            | Self::TooManyHeaders { .. }
            | Self::InvalidFieldName { .. }
            | Self::InvalidFieldValue { .. }
            | Self::ObsFold { .. }
            | Self::DuplicateField { .. }
            | Self::InvalidStatus { .. }
            | Self::InvalidLocation { .. }
            | Self::MissingContentType
            | Self::UnexpectedEof { .. } => 502,
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::Error;

    #[test]
    fn status_codes() {
        let table = [
            (Error::NotAbsolutePath, 400),
            (Error::NulInPath { offset: 1 }, 400),
            (Error::NotNormalized { offset: 1 }, 500),
            (
                Error::NulInVariable {
                    name: b"X".to_vec(),
                },
                400,
            ),
            (Error::TooManySegments { limit: 1 }, 414),
            (Error::PrefixMismatch, 404),
            (Error::ScriptNotFound, 404),
            (Error::NotExecutable, 403),
            (Error::SymlinkOutsideRoot, 403),
            (Error::Io(std::io::ErrorKind::PermissionDenied), 403),
            (Error::Io(std::io::ErrorKind::NotFound), 404),
            (Error::Io(std::io::ErrorKind::Other), 500),
            (Error::InvalidVariableName { name: Vec::new() }, 500),
            (Error::HeaderTooLarge { limit: 1 }, 502),
            (Error::TooManyHeaders { limit: 1 }, 502),
            (Error::InvalidFieldName { offset: 0 }, 502),
            (Error::InvalidFieldValue { offset: 0 }, 502),
            (Error::ObsFold { offset: 0 }, 502),
            (Error::DuplicateField { offset: 0 }, 502),
            (Error::InvalidStatus { offset: 0 }, 502),
            (Error::InvalidLocation { offset: 0 }, 502),
            (Error::MissingContentType, 502),
            (Error::UnexpectedEof { offset: 0 }, 502),
        ];
        for (error, status) in table {
            assert_eq!(error.status_code(), status, "{error:?}");
            assert!(!error.to_string().is_empty());
        }
    }
}
