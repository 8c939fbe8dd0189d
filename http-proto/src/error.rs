//! The crate's one error type: what went wrong, where, and the status it answers with.

use std::fmt;

/// What was wrong with a message.
///
/// Each kind maps to the status code a server answers with ([`ErrorKind::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The method is not a token (RFC 9110 §9.1).
    InvalidMethod,
    /// The request-target has a byte outside what RFC 9112 §3.2 allows, or the wrong form
    /// for its method (authority-form outside CONNECT, `*` outside OPTIONS).
    InvalidTarget,
    /// The request-target is longer than [`Limits::max_target_len`](crate::Limits). Answers 414.
    TargetTooLong,
    /// The HTTP-version is not `HTTP/DIGIT.DIGIT`.
    InvalidVersion,
    /// A well-formed version other than HTTP/1.0 and HTTP/1.1. Answers 505.
    UnsupportedVersion,
    /// The status line of a response is malformed (RFC 9112 §4).
    InvalidStatusLine,
    /// The start-line is not `method SP target SP version` with single spaces.
    InvalidRequestLine,
    /// A field name has a byte that is not a token character, or is empty.
    InvalidHeaderName,
    /// Whitespace between a field name and its colon (RFC 9112 §5.1: MUST reject).
    WhitespaceBeforeColon,
    /// A field value holds NUL, a control character or DEL.
    InvalidHeaderValue,
    /// A CR not followed by LF (RFC 9112 §2.2).
    BareCr,
    /// A line ended by LF alone while [`Limits::allow_bare_lf`](crate::Limits) is off.
    BareLf,
    /// A field line starts with whitespace (obs-fold, RFC 9112 §5.2) while folding is not enabled.
    ObsFold,
    /// More header fields than [`Limits::max_headers`](crate::Limits). Answers 431.
    TooManyHeaders,
    /// The head is longer than [`Limits::max_head_len`](crate::Limits). Answers 431.
    HeadTooLarge,
    /// An HTTP/1.1 request without a Host field (RFC 9112 §3.2: MUST answer 400).
    MissingHost,
    /// More than one Host field line.
    DuplicateHost,
    /// A Host value that is not a valid `uri-host [ ":" port ]`.
    InvalidHost,
    /// A Content-Length value that is not a list of identical decimal numbers, or overflows.
    InvalidContentLength,
    /// Content-Length fields that disagree.
    ConflictingContentLength,
    /// Transfer-Encoding whose last coding is not chunked, in a request (RFC 9112 §6.3 ¶6).
    ChunkedNotLast,
    /// Transfer-Encoding that lists chunked more than once.
    ChunkedRepeated,
    /// Transfer-Encoding with a coding this crate does not decode. Answers 501.
    UnsupportedTransferCoding,
    /// A Transfer-Encoding value that is not a list of codings (an empty or malformed coding,
    /// parameters on chunked). Answers 400: a syntax error, not an unknown coding.
    InvalidTransferEncoding,
    /// Both Transfer-Encoding and Content-Length in a request: rejected (see crate docs).
    ContentLengthWithTransferEncoding,
    /// Transfer-Encoding in an HTTP/1.0 message (RFC 9112 §6.1).
    TransferEncodingInHttp10,
    /// A chunk-size line that is not hex, or overflows 64 bits.
    InvalidChunkSize,
    /// A chunk extension that is malformed or longer than the limit.
    InvalidChunkExtension,
    /// Chunk data not followed by CRLF.
    InvalidChunkTerminator,
    /// The body is larger than [`Limits::max_body_len`](crate::Limits). Answers 413.
    BodyTooLarge,
    /// A body announced on a request that cannot have one (CONNECT, RFC 9110 §9.3.6).
    BodyNotAllowed,
    /// A request path whose `..` segments climb above the root
    /// ([`semantics::normalize_path`](crate::semantics::normalize_path)).
    PathAboveRoot,
    /// A request path that decodes to a NUL byte.
    PathNul,
    /// A request path holding an encoded slash (`%2F`) where the caller's policy refuses
    /// one ([`semantics::EncodedSlash::Refuse`](crate::semantics::EncodedSlash::Refuse),
    /// the policy for CGI scripts, RFC 3875 §4.1.5).
    PathEncodedSlash,
    /// The peer closed the connection in the middle of a message.
    IncompleteMessage,
    /// The caller broke the protocol: sent an event the connection state does not allow.
    LocalProtocolError,
}

impl ErrorKind {
    /// The status code a server answers this error with.
    #[must_use]
    pub fn status(self) -> u16 {
        match self {
            Self::TargetTooLong => 414,
            Self::UnsupportedVersion => 505,
            Self::TooManyHeaders | Self::HeadTooLarge => 431,
            Self::UnsupportedTransferCoding => 501,
            Self::BodyTooLarge => 413,
            Self::LocalProtocolError => 500,
            _ => 400,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::InvalidMethod => "invalid method",
            Self::InvalidTarget => "invalid request-target",
            Self::TargetTooLong => "request-target too long",
            Self::InvalidVersion => "malformed HTTP version",
            Self::UnsupportedVersion => "unsupported HTTP version",
            Self::InvalidStatusLine => "invalid status line",
            Self::InvalidRequestLine => "invalid request line",
            Self::InvalidHeaderName => "invalid header field name",
            Self::WhitespaceBeforeColon => "whitespace between field name and colon",
            Self::InvalidHeaderValue => "invalid byte in header field value",
            Self::BareCr => "CR not followed by LF",
            Self::BareLf => "line ended by bare LF",
            Self::ObsFold => "obsolete line folding",
            Self::TooManyHeaders => "too many header fields",
            Self::HeadTooLarge => "header section too large",
            Self::MissingHost => "HTTP/1.1 request without Host",
            Self::DuplicateHost => "more than one Host field",
            Self::InvalidHost => "invalid Host value",
            Self::InvalidContentLength => "invalid Content-Length",
            Self::ConflictingContentLength => "conflicting Content-Length values",
            Self::ChunkedNotLast => "Transfer-Encoding does not end with chunked",
            Self::ChunkedRepeated => "chunked applied more than once",
            Self::UnsupportedTransferCoding => "unsupported transfer coding",
            Self::InvalidTransferEncoding => "malformed Transfer-Encoding",
            Self::ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 message",
            Self::InvalidChunkSize => "invalid chunk size",
            Self::InvalidChunkExtension => "invalid chunk extension",
            Self::InvalidChunkTerminator => "chunk data not followed by CRLF",
            Self::BodyTooLarge => "body too large",
            Self::BodyNotAllowed => "body on a request that cannot have one",
            Self::PathAboveRoot => "path climbs above the root",
            Self::PathNul => "path holds a NUL byte",
            Self::PathEncodedSlash => "path holds an encoded slash (%2F)",
            Self::IncompleteMessage => "connection closed mid-message",
            Self::LocalProtocolError => "local protocol error",
        }
    }
}

/// An error: its [`ErrorKind`], the byte offset where it was found, and for the caller's
/// own mistakes ([`ErrorKind::LocalProtocolError`]) the reason, naming the verb.
///
/// The offset counts from the start of the message part being parsed (the head, or the
/// body bytes for body errors); it is for logs, not for recovery.
///
/// `Copy` and two words plus a byte: it is returned by value on every verb's error path
/// and stored by the connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    offset: usize,
    reason: Option<&'static str>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, offset: usize) -> Self {
        Self {
            kind,
            offset,
            reason: None,
        }
    }

    /// The caller broke the protocol; `reason` names the verb and what was wrong with the
    /// call, e.g. `"send_data: no response body in progress"`.
    pub(crate) fn local(reason: &'static str) -> Self {
        Self {
            kind: ErrorKind::LocalProtocolError,
            offset: 0,
            reason: Some(reason),
        }
    }

    /// Why the call was refused, for [`ErrorKind::LocalProtocolError`]: the verb that was
    /// called and what the connection state (or the arguments) did not allow, e.g.
    /// `"send_response: 101 without an Upgrade field"`. `None` for errors in what the peer
    /// sent, whose [`kind`](Self::kind) and [`offset`](Self::offset) say it all.
    ///
    /// For logs and for the programmer fixing the call; the text is not a stable API, so
    /// match on [`kind`](Self::kind), not on it. [`Display`](fmt::Display) includes it.
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use http_proto::{Limits, ServerConn};
    ///
    /// let mut conn = ServerConn::new(Limits::default());
    /// let err = conn.send_data(b"x", &mut BytesMut::new()).unwrap_err();
    /// assert_eq!(err.reason(), Some("send_data: no response body in progress"));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "local protocol error: send_data: no response body in progress (answers 500)"
    /// );
    /// ```
    #[must_use]
    pub fn reason(&self) -> Option<&'static str> {
        self.reason
    }

    /// What was wrong.
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Byte offset of the fault.
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The status code a server answers with (400, 413, 414, 431, 501, 505; 500 for local errors).
    #[must_use]
    pub fn status(&self) -> u16 {
        self.kind.status()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.reason {
            // A local error has no position in any message: say what the call did wrong.
            Some(reason) => write!(
                f,
                "{}: {reason} (answers {})",
                self.kind.describe(),
                self.status()
            ),
            None => write!(
                f,
                "{} at byte {} (answers {})",
                self.kind.describe(),
                self.offset,
                self.status()
            ),
        }
    }
}

impl std::error::Error for Error {}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind, 0)
    }
}
