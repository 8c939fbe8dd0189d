//! How a message body is delimited (RFC 9112 §6.3): decided once, from the head.

use crate::error::ErrorKind;
use crate::head::{FieldFacts, Version};

/// How a message's body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes (Content-Length).
    Length(u64),
    /// Chunked transfer coding (RFC 9112 §7.1).
    Chunked,
    /// Everything until the connection closes (responses only, RFC 9112 §6.3 ¶8).
    CloseDelimited,
}

impl Framing {
    /// Whether a body (possibly empty) follows the head.
    #[must_use]
    pub fn has_body(self) -> bool {
        !matches!(self, Self::None | Self::Length(0))
    }
}

/// Request framing, strict: RFC 9112 §6.1 and §6.3.
///
/// A request with both Transfer-Encoding and Content-Length is rejected rather than
/// following Transfer-Encoding: §6.3 ¶3 allows either, and rejecting closes the
/// request-smuggling door for every proxy in front of us.
pub(crate) fn request_framing(version: Version, facts: &FieldFacts) -> Result<Framing, ErrorKind> {
    if facts.transfer_encoding {
        if version == Version::Http10 {
            return Err(ErrorKind::TransferEncodingInHttp10);
        }
        if facts.content_length.is_some() {
            return Err(ErrorKind::ContentLengthWithTransferEncoding);
        }
        if facts.chunked_count > 1 {
            return Err(ErrorKind::ChunkedRepeated);
        }
        if !facts.chunked_last {
            // §6.3 ¶6: chunked not final means the length cannot be known: 400.
            return Err(ErrorKind::ChunkedNotLast);
        }
        if facts.other_coding {
            // §6.1: a coding we do not understand, under a final chunked: 501.
            return Err(ErrorKind::UnsupportedTransferCoding);
        }
        return Ok(Framing::Chunked);
    }
    Ok(match facts.content_length {
        None | Some(0) => Framing::None,
        Some(n) => Framing::Length(n),
    })
}

/// Whether a response carries a body (RFC 9112 §6.3 ¶1-2): never for HEAD, 1xx, 204, 304,
/// or a 2xx to CONNECT, whatever its fields say.
///
/// ```
/// assert!(!http_proto::response_has_body(true, false, 200)); // HEAD
/// assert!(!http_proto::response_has_body(false, false, 304));
/// assert!(http_proto::response_has_body(false, false, 404));
/// ```
#[must_use]
pub fn response_has_body(head_request: bool, connect_request: bool, status: u16) -> bool {
    !(head_request
        || status < 200
        || status == 204
        || status == 304
        || (connect_request && (200..300).contains(&status)))
}

/// Response framing as a client must read it (RFC 9112 §6.3), and whether the connection
/// must close afterwards because the framing was ambiguous.
pub(crate) fn response_framing(
    version: Version,
    status: u16,
    head_request: bool,
    connect: bool,
    facts: &FieldFacts,
) -> (Framing, bool) {
    if !response_has_body(head_request, connect, status) {
        return (Framing::None, false);
    }
    if facts.transfer_encoding {
        // ¶3-4: Transfer-Encoding overrides Content-Length, and such a message ends the connection.
        let suspicious = facts.content_length.is_some() || version == Version::Http10;
        // Codings under a final chunked (gzip, ...) are the caller's to undo.
        if facts.chunked_last && facts.chunked_count == 1 {
            return (Framing::Chunked, suspicious);
        }
        return (Framing::CloseDelimited, true);
    }
    match facts.content_length {
        Some(0) => (Framing::None, false),
        Some(n) => (Framing::Length(n), false),
        None => (Framing::CloseDelimited, true),
    }
}
