//! Response heads: the status-line (RFC 9112 §4) and an incremental parser.

use super::Version;
use super::fields::{FieldFacts, FieldSection, Headers, SectionEnd, Span, line_end, parse_fields};
use super::scan::field_value_len;
use crate::error::{Error, ErrorKind};
use crate::limits::Limits;
use bytes::{Bytes, BytesMut};

/// A parsed response head. Every slice is a view into the bytes the head arrived in.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub(crate) headers: Headers,
    version: Version,
    status: u16,
    reason: Span,
    pub(crate) facts: FieldFacts,
}

impl ResponseHead {
    /// Parses one complete response head at the start of `buf`, without copying.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_proto::{Limits, ResponseHead};
    ///
    /// let buf = Bytes::from_static(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
    /// let (head, _) = ResponseHead::parse(&buf, &Limits::default())?.expect("complete");
    /// assert_eq!(head.status(), 404);
    /// assert_eq!(head.reason(), b"Not Found");
    /// # Ok::<(), http_proto::Error>(())
    /// ```
    pub fn parse(buf: &Bytes, limits: &Limits) -> Result<Option<(Self, usize)>, Error> {
        let mut parser = ResponseParser::new();
        Ok(parser.advance(buf, limits)?.map(|accepted| {
            let len = accepted.len;
            (parser.finish(accepted, buf.slice(..len)), len)
        }))
    }

    /// The HTTP version.
    #[must_use]
    pub fn version(&self) -> Version {
        self.version
    }

    /// The status code, 100 to 999.
    #[must_use]
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The reason phrase, possibly empty.
    #[must_use]
    pub fn reason(&self) -> &[u8] {
        self.reason.of(&self.headers.buf)
    }

    /// The header fields.
    #[must_use]
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// Whether the server lets the connection stay open (RFC 9112 §9.3).
    #[must_use]
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.facts.conn_close,
            Version::Http10 => self.facts.conn_keep_alive && !self.facts.conn_close,
        }
    }

    /// The whole head as received.
    #[must_use]
    pub fn as_bytes(&self) -> &Bytes {
        &self.headers.buf
    }
}

impl std::fmt::Debug for ResponseHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseHead")
            .field("version", &self.version)
            .field("status", &self.status)
            .field("reason", &String::from_utf8_lossy(self.reason()))
            .field("headers", &self.headers)
            .finish()
    }
}

#[derive(Debug, Clone, Copy, Default)]
enum Stage {
    #[default]
    StatusLine,
    Fields {
        version: Version,
        status: u16,
        reason: Span,
        resume: usize,
    },
}

/// An incremental response-head parser; see [`RequestParser`](crate::RequestParser) for the model.
#[derive(Debug, Clone, Default)]
pub struct ResponseParser {
    stage: Stage,
    section: FieldSection,
}

/// A complete response head's shape, before it is tied to its bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) len: usize,
    version: Version,
    status: u16,
    reason: Span,
}

impl ResponseParser {
    /// A parser waiting for a status-line.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses from the start of `buf`; when a head completes, splits it off `buf` and returns it.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<ResponseHead>, Error> {
        match self.advance(buf, limits)? {
            Some(accepted) => {
                let head = buf.split_to(accepted.len).freeze();
                Ok(Some(self.finish(accepted, head)))
            }
            None => Ok(None),
        }
    }

    pub(crate) fn advance(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<Option<Accepted>, Error> {
        super::within_head_limit(buf, limits, |window| self.advance_within(window, limits))
    }

    fn advance_within(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<Accepted>, Error> {
        if let Stage::StatusLine = self.stage {
            // Empty lines before the status-line (a stray CRLF after a body) are skipped, as
            // for requests (RFC 9112 §2.2), up to the same bound.
            let mut start = 0;
            while let [b'\r', b'\n', ..] = &buf[start..] {
                start += 2;
                if start / 2 > limits.max_leading_empty_lines {
                    return Err(Error::new(ErrorKind::InvalidStatusLine, start));
                }
            }
            if matches!(&buf[start..], [] | [b'\r']) {
                return Ok(None);
            }
            let line_buf = &buf[start..];
            let Some(version) = Version::read(line_buf, 0)
                .map_err(|e| Error::new(ErrorKind::InvalidStatusLine, e.offset()))?
            else {
                return Ok(None);
            };
            let bad = |at| Error::new(ErrorKind::InvalidStatusLine, at);
            // SP 3DIGIT
            let code = match line_buf.get(8..12) {
                None => {
                    let seen = &line_buf[8.min(line_buf.len())..];
                    let prefix_ok = seen.iter().enumerate().all(|(i, b)| {
                        if i == 0 {
                            *b == b' '
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                    return if prefix_ok { Ok(None) } else { Err(bad(8)) };
                }
                Some([b' ', d @ ..]) if d.iter().all(u8::is_ascii_digit) => d,
                Some(_) => return Err(bad(8)),
            };
            let status = code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0'));
            if status < 100 {
                return Err(bad(9));
            }
            // [ SP reason-phrase ] CRLF; a missing SP before an empty reason is tolerated.
            let reason_start = match line_buf.get(12) {
                None => return Ok(None),
                Some(b' ') => 13,
                Some(b'\r' | b'\n') => 12,
                Some(_) => return Err(bad(12)),
            };
            let reason_end =
                reason_start + field_value_len(&line_buf[reason_start.min(line_buf.len())..]);
            let Some((_, next)) =
                line_end(line_buf, reason_end, limits).map_err(|e| bad(e.offset()))?
            else {
                return Ok(None);
            };
            self.stage = Stage::Fields {
                version,
                status,
                reason: Span::new(start + reason_start, start + reason_end),
                resume: start + next,
            };
        }
        let Stage::Fields {
            version,
            status,
            reason,
            resume,
        } = self.stage
        else {
            return Ok(None);
        };
        match parse_fields(buf, resume, &mut self.section.parts_mut(), limits)? {
            SectionEnd::Complete(len) => {
                self.stage = Stage::StatusLine;
                Ok(Some(Accepted {
                    len,
                    version,
                    status,
                    reason,
                }))
            }
            SectionEnd::Partial(at) => {
                self.stage = Stage::Fields {
                    version,
                    status,
                    reason,
                    resume: at,
                };
                Ok(None)
            }
        }
    }

    pub(crate) fn finish(&mut self, accepted: Accepted, head: Bytes) -> ResponseHead {
        let section = std::mem::take(&mut self.section);
        let facts = section.facts;
        ResponseHead {
            headers: section.into_headers(head),
            version: accepted.version,
            status: accepted.status,
            reason: accepted.reason,
            facts,
        }
    }
}
