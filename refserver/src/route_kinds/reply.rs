//! A planned answer: status, fields and where the body comes from, decided at once from
//! the request head (static files, the status page, error pages).
//!
//! A route kind that knows its whole answer up front builds a [`Reply`], a plain value a
//! test can inspect without a socket, and hands it to the session task as a
//! [`ReplyExchange`], which writes it through the seam like any other exchange: the head,
//! then the body (a file read in chunks as the client's output has room), then the end.

use crate::exchange::{Exchange, ExchangeError};
use crate::response::ResponseSink;
use bytes::Bytes;
use http_proto::Response;
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Bytes of a file body read per chunk.
const FILE_CHUNK: usize = 64 * 1024;

/// A response plan.
#[derive(Debug)]
pub(crate) struct Reply {
    /// Status code.
    pub(crate) status: u16,
    /// Fields other than framing and `Date`, in order (names from the code are borrowed,
    /// names from the configuration owned).
    pub(crate) headers: Vec<(Cow<'static, [u8]>, Vec<u8>)>,
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
        /// The open file (shared with the open-file cache).
        file: Arc<File>,
        /// First byte to send.
        offset: u64,
        /// How many bytes to send.
        len: u64,
        /// Sent straight from the file to the socket (`sendfile`) where the connection
        /// allows; else read and copied.
        sendfile: bool,
    },
    /// In-memory pieces and ranges of `file`, in order (a `multipart/byteranges` body).
    Segments {
        /// The open file the ranges are read from.
        file: Arc<File>,
        /// What is left to send.
        segments: VecDeque<Segment>,
    },
}

/// One piece of a [`Body::Segments`].
#[derive(Debug)]
pub(crate) enum Segment {
    /// Bytes in memory (a part's delimiter and fields).
    Bytes(Bytes),
    /// `len` bytes of the file from `offset`.
    File {
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
            headers: vec![(Cow::Borrowed(b"content-type"), content_type.to_vec())],
            body_len: body.len() as u64,
            body: Body::Bytes(body),
        }
    }

    /// A short plain-text error page: `404 Not Found`.
    pub(crate) fn error(status: u16) -> Self {
        Self::bytes(
            status,
            b"text/plain; charset=utf-8",
            crate::response::error_text(status),
        )
    }

    /// The exchange that sends this reply.
    pub(crate) fn into_exchange(self) -> Box<dyn Exchange> {
        Box::new(ReplyExchange { reply: self })
    }

    /// Adds a field.
    pub(crate) fn with_header(mut self, name: &'static [u8], value: impl Into<Vec<u8>>) -> Self {
        self.headers.push((Cow::Borrowed(name), value.into()));
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

/// Sends a [`Reply`]: it needs no request body (refused by default) and waits for nothing
/// but room in the client's output.
#[derive(Debug)]
pub(crate) struct ReplyExchange {
    reply: Reply,
}

/// Bytes one poll sends straight from a file before yielding to the thread's other
/// sessions (a fast reader's socket could otherwise take a whole large file in one go).
const DIRECT_BUDGET: usize = 512 << 10;

thread_local! {
    static CHUNK: RefCell<Vec<u8>> = RefCell::new(vec![0; FILE_CHUNK]);
}

impl Exchange for ReplyExchange {
    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        let reply = &mut self.reply;
        if !sink.is_started() {
            let fields: Vec<(&[u8], &[u8])> = reply
                .headers
                .iter()
                .map(|(n, v)| (&n[..], v.as_slice()))
                .collect();
            sink.head(
                &Response::new(reply.status)
                    .headers(&fields)
                    .body_len(reply.body_len),
            )?;
        }
        match &mut reply.body {
            Body::Empty => {}
            Body::Bytes(bytes) => sink.data(bytes)?,
            Body::File {
                file,
                offset,
                len,
                sendfile,
            } => {
                let mut budget = DIRECT_BUDGET;
                while *len > 0 && sink.wants_body() {
                    let want = usize::try_from(*len).unwrap_or(usize::MAX).min(budget);
                    let direct = if *sendfile {
                        sink.send_file(cx, file, *offset, want)
                    } else {
                        None
                    };
                    if let Some(sent) = direct {
                        let Poll::Ready(n) = sent else {
                            return Poll::Pending;
                        };
                        let n = n?;
                        *offset += n as u64;
                        *len -= n as u64;
                        budget -= n;
                        if budget == 0 && *len > 0 {
                            // Other sessions on this thread get their turn.
                            cx.waker().wake_by_ref();
                            return Poll::Pending;
                        }
                        continue;
                    }
                    if !sink.has_room() {
                        return Poll::Pending;
                    }
                    let n = send_file_chunk(sink, file, *offset, *len)?;
                    *offset += n;
                    *len -= n;
                }
            }
            Body::Segments { file, segments } => {
                while sink.wants_body()
                    && let Some(segment) = segments.front_mut()
                {
                    if !sink.has_room() {
                        return Poll::Pending;
                    }
                    match segment {
                        Segment::Bytes(bytes) => sink.data(bytes)?,
                        Segment::File { offset, len } if *len > 0 => {
                            let n = send_file_chunk(sink, file, *offset, *len)?;
                            *offset += n;
                            *len -= n;
                            if *len > 0 {
                                continue;
                            }
                        }
                        Segment::File { .. } => {}
                    }
                    segments.pop_front();
                }
            }
        }
        sink.end(&[])?;
        Poll::Ready(Ok(()))
    }
}

/// Reads the next chunk of a file body (as much as the output has room for, up to
/// [`FILE_CHUNK`]) into the response; returns how many bytes went out.
fn send_file_chunk(
    sink: &mut ResponseSink<'_>,
    file: &File,
    offset: u64,
    remaining: u64,
) -> Result<u64, ExchangeError> {
    CHUNK.with(|chunk| {
        let mut chunk = chunk.borrow_mut();
        let want = sink
            .room()
            .min(FILE_CHUNK)
            .min(usize::try_from(remaining).unwrap_or(usize::MAX));
        let n = file.read_at(&mut chunk[..want], offset).map_err(|e| {
            ExchangeError::new(
                500,
                format!("static: reading a file failed mid-response: {e}"),
            )
        })?;
        if n == 0 {
            return Err(ExchangeError::new(
                500,
                "static: the file shrank mid-response; its promised length cannot be sent",
            ));
        }
        sink.data(&chunk[..n])?;
        Ok(n as u64)
    })
}
