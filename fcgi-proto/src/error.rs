//! The crate's one error type.

use std::fmt;

use crate::record::RecordType;

/// Everything that can go wrong, named for the fault.
///
/// Two kinds live here. *Peer faults* come out of `poll_event`/`decode`: the
/// peer broke FastCGI 1.0. *Caller faults* come out of the `send`-style verbs:
/// the code driving the state machine asked for something the protocol does
/// not allow. [`Error::is_fatal`] tells which peer faults leave the connection
/// unusable; for the others the offending record has been consumed and the
/// caller decides whether the connection survives.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- peer faults: framing ----
    /// A record header carries a version other than 1 (§3.3). Fatal: the byte
    /// stream cannot be resynchronised.
    UnsupportedVersion {
        /// The version byte received.
        version: u8,
    },
    /// A fixed-size body (`BEGIN_REQUEST`, `END_REQUEST`, `UNKNOWN_TYPE`) is not 8 bytes long.
    InvalidBodyLength {
        /// The record's type.
        record_type: RecordType,
        /// The content length received.
        length: usize,
    },
    /// A record type that the receiving side never accepts from its peer (e.g.
    /// `STDOUT` arriving at the application, or an application record on
    /// request id 0).
    UnexpectedRecord {
        /// The record's type.
        record_type: RecordType,
        /// The record's request id.
        request_id: u16,
    },
    /// A record for a request id that is not active: never begun, or already
    /// ended (e.g. `STDOUT` after `END_REQUEST`).
    UnknownRequestId {
        /// The record's type.
        record_type: RecordType,
        /// The record's request id.
        request_id: u16,
    },
    /// `BEGIN_REQUEST` for a request id that is already active.
    DuplicateRequestId {
        /// The request id.
        request_id: u16,
    },
    /// Content on a stream after the empty record that ended it (§3.3).
    StreamAlreadyEnded {
        /// The stream's record type.
        record_type: RecordType,
        /// The request id.
        request_id: u16,
    },
    /// `END_REQUEST` arrived before the empty `STDOUT` record that ends the
    /// response stream (§3.3, §6.2: the application closes its streams, then
    /// ends the request). Reported only when
    /// [`Limits::require_stdout_end`](crate::Limits::require_stdout_end) is
    /// on, since php-fpm omits that record.
    EndRequestBeforeStdoutClosed {
        /// The request id.
        request_id: u16,
    },
    // ---- peer faults: name-value pairs ----
    /// A request's params (or a `GET_VALUES` body) exceed [`Limits::max_params_bytes`](crate::Limits).
    ParamsTooLarge {
        /// The request id (0 for management records).
        request_id: u16,
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// A name-value stream ended in the middle of a pair (§3.4).
    TruncatedParams {
        /// The request id (0 for management records).
        request_id: u16,
    },
    // ---- caller faults ----
    /// Content longer than [`MAX_CONTENT_LEN`](crate::record::MAX_CONTENT_LEN) given to
    /// [`encode_record`](crate::record::encode_record).
    ContentTooLong {
        /// The length given.
        length: usize,
    },
    /// A name or value longer than 2^31 - 1 bytes, which the 4-byte length form
    /// cannot express (§3.4).
    ParamTooLong {
        /// The length given.
        length: usize,
    },
    /// A verb named a request id that this side does not have active.
    RequestNotActive {
        /// The request id.
        request_id: u16,
    },
    /// Writing to a stream this side already ended, or one the role does not have.
    StreamClosed {
        /// The stream's record type.
        record_type: RecordType,
        /// The request id.
        request_id: u16,
    },
    /// No new request can start now: the application allows fewer concurrent
    /// requests on this connection (see [`ServerConn::max_concurrent`](crate::ServerConn::max_concurrent)),
    /// or an earlier request was begun without `keep_conn`.
    ConnectionBusy {
        /// Requests active now.
        active: usize,
    },
}

impl Error {
    /// Whether the connection can no longer be used after this error: the
    /// byte stream is out of sync. Every other peer fault consumed only the
    /// offending record; the caller may go on or close, as it sees fit.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        matches!(self, Self::UnsupportedVersion { .. })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedVersion { version } => {
                write!(f, "unsupported FastCGI version {version}")
            }
            Self::InvalidBodyLength {
                record_type,
                length,
            } => write!(f, "{record_type:?} body of {length} bytes, expected 8"),
            Self::UnexpectedRecord {
                record_type,
                request_id,
            } => write!(
                f,
                "unexpected {record_type:?} record for request {request_id}"
            ),
            Self::UnknownRequestId {
                record_type,
                request_id,
            } => write!(
                f,
                "{record_type:?} record for inactive request {request_id}"
            ),
            Self::DuplicateRequestId { request_id } => {
                write!(f, "BEGIN_REQUEST for already active request {request_id}")
            }
            Self::StreamAlreadyEnded {
                record_type,
                request_id,
            } => write!(
                f,
                "{record_type:?} content after end of stream on request {request_id}"
            ),
            Self::EndRequestBeforeStdoutClosed { request_id } => {
                write!(
                    f,
                    "END_REQUEST before end of STDOUT on request {request_id}"
                )
            }
            Self::ParamsTooLarge { request_id, limit } => {
                write!(f, "params of request {request_id} exceed {limit} bytes")
            }
            Self::TruncatedParams { request_id } => {
                write!(
                    f,
                    "params of request {request_id} end inside a name-value pair"
                )
            }
            Self::ContentTooLong { length } => {
                write!(f, "record content of {length} bytes exceeds 65535")
            }
            Self::ParamTooLong { length } => {
                write!(f, "name or value of {length} bytes exceeds 2^31-1")
            }
            Self::RequestNotActive { request_id } => {
                write!(f, "request {request_id} is not active")
            }
            Self::StreamClosed {
                record_type,
                request_id,
            } => write!(
                f,
                "{record_type:?} stream of request {request_id} is closed"
            ),
            Self::ConnectionBusy { active } => {
                write!(
                    f,
                    "connection cannot take another request ({active} active)"
                )
            }
        }
    }
}

impl std::error::Error for Error {}
