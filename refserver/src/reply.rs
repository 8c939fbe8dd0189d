//! What a route answers: status, fields and where the body comes from.
//!
//! Route kinds build a [`Reply`]; the driver turns it into an `http_proto::Response` and
//! moves the body to the socket. Keeping the plan a plain value lets every route kind be
//! tested without a socket.

use bytes::Bytes;
use std::fs::File;

/// A response plan.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: u16,
    /// Fields other than framing and `Date`, in order.
    pub(crate) headers: Vec<(&'static [u8], Vec<u8>)>,
    /// The body's length as announced in `Content-Length` (also for HEAD, where no body goes out).
    pub(crate) body_len: u64,
    /// Where the body bytes come from.
    pub(crate) body: Body,
}

/// Where a reply's body comes from.
#[derive(Debug)]
pub(crate) enum Body {
    /// No bytes to send (bodiless status, HEAD).
    Empty,
    /// Bytes in memory.
    Bytes(Bytes),
    /// `len` bytes of `file` from `offset`, read and sent in chunks.
    File {
        /// The open file.
        file: File,
        /// First byte to send.
        offset: u64,
        /// How many bytes to send.
        len: u64,
    },
}

impl Reply {
    /// A reply with an in-memory body.
    pub(crate) fn bytes(status: u16, content_type: &[u8], body: impl Into<Bytes>) -> Self {
        let body = body.into();
        Self {
            status,
            headers: vec![(b"content-type", content_type.to_vec())],
            body_len: body.len() as u64,
            body: Body::Bytes(body),
        }
    }

    /// A short plain-text error page: `404 Not Found`.
    pub(crate) fn error(status: u16) -> Self {
        let text = format!("{status} {}\n", http_proto::reason_phrase(status));
        Self::bytes(status, b"text/plain; charset=utf-8", text)
    }

    /// Adds a field.
    pub(crate) fn with_header(mut self, name: &'static [u8], value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The value of a field set on this reply (tests and logs).
    #[cfg(test)]
    pub(crate) fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }
}
