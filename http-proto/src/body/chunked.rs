//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.

use super::BodyEvent;
use crate::error::{Error, ErrorKind};
use crate::head::{FieldSection, SectionEnd, parse_fields, scan::TOKEN};
use crate::limits::Limits;
use bytes::{Buf, BytesMut};

/// Decodes a chunked body one piece at a time; any split of the input gives the same data.
///
/// Chunk sizes are checked for overflow, chunk extensions are parsed (RFC 9112 §7.1.1) and
/// bounded by `Limits::max_chunk_ext_len`, and trailers are parsed with the same rules as
/// header fields and bounded by `Limits::max_trailer_len`.
#[derive(Debug, Clone, Default)]
pub struct ChunkedDecoder {
    state: State,
    /// Bytes consumed so far, for error offsets.
    consumed: u64,
    ext_len: usize,
    /// Sum of the chunk sizes announced so far, checked against `max_body_len` when a size
    /// line ends, so the error comes at the same byte however the input is split.
    declared: u64,
    trailers: FieldSection,
    trailer_resume: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum State {
    /// Reading hex digits; `digits` counts them.
    #[default]
    SizeStart,
    Size {
        size: u64,
    },
    /// Whitespace after the size: only a `;` may follow.
    SizeBws {
        size: u64,
    },
    ExtName {
        size: u64,
        started: bool,
    },
    /// After an extension name, before `=` or `;` or the line end.
    ExtAfterName {
        size: u64,
    },
    ExtValueStart {
        size: u64,
    },
    ExtToken {
        size: u64,
    },
    ExtQuoted {
        size: u64,
    },
    ExtQuotedEscape {
        size: u64,
    },
    SizeLf {
        size: u64,
    },
    Data {
        remaining: u64,
    },
    DataCr,
    DataLf,
    Trailers,
    Done,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Decodes from the front of `buf`, splitting off what it consumes.
    pub fn decode(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<BodyEvent, Error> {
        loop {
            match self.state {
                State::Done => return Ok(BodyEvent::End(None)),
                State::Data { remaining } => {
                    if buf.is_empty() {
                        return Ok(BodyEvent::NeedData);
                    }
                    let take = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
                    let left = remaining - take as u64;
                    self.state = if left == 0 {
                        State::DataCr
                    } else {
                        State::Data { remaining: left }
                    };
                    self.consumed += take as u64;
                    return Ok(BodyEvent::Data(buf.split_to(take).freeze()));
                }
                State::Trailers => return self.trailers(buf, limits),
                _ => {
                    if let Some(used) = self.size_line_fast(buf, limits)? {
                        self.consumed += used as u64;
                        buf.advance(used);
                        continue;
                    }
                    // Anything else (extensions, a line split across reads, errors) goes
                    // byte by byte; these lines are a few bytes per chunk.
                    let mut used = 0;
                    let mut step = Ok(());
                    for &b in buf.iter() {
                        step = self.step(b, limits);
                        if step.is_err() {
                            break;
                        }
                        used += 1;
                        if matches!(self.state, State::Data { .. } | State::Trailers) {
                            break;
                        }
                    }
                    self.consumed += used as u64;
                    buf.advance(used);
                    step?;
                    if buf.is_empty() && !matches!(self.state, State::Trailers) {
                        return Ok(BodyEvent::NeedData);
                    }
                }
            }
        }
    }

    /// The common case in one step: `[CRLF] HEX CRLF` (the end of the previous chunk's
    /// data and the next size line, without extensions) wholly in `buf`. `None` leaves the
    /// input to the byte-wise states, which accept the same language.
    fn size_line_fast(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        let start = match self.state {
            State::SizeStart => 0,
            State::DataCr if buf.starts_with(b"\r\n") => 2,
            _ => return Ok(None),
        };
        let line = &buf[start..];
        let digits = line
            .iter()
            .take(17)
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        if digits == 0 || digits > 16 || line.get(digits..digits + 2) != Some(b"\r\n") {
            return Ok(None);
        }
        let size = line[..digits]
            .iter()
            .fold(0u64, |n, &b| n << 4 | u64::from(hex(b).unwrap_or(0)));
        self.ext_len = 0;
        self.state = self.size_line_done(size, limits)?;
        Ok(Some(start + digits + 2))
    }

    fn err(&self, kind: ErrorKind) -> Error {
        Error::new(kind, usize::try_from(self.consumed).unwrap_or(usize::MAX))
    }

    fn step(&mut self, b: u8, limits: &Limits) -> Result<(), Error> {
        use State::*;
        let ext_byte = |this: &mut Self| -> Result<(), Error> {
            // The line end is not part of the extension.
            if b == b'\r' || b == b'\n' {
                return Ok(());
            }
            this.ext_len += 1;
            if this.ext_len > limits.max_chunk_ext_len {
                return Err(this.err(ErrorKind::InvalidChunkExtension));
            }
            Ok(())
        };
        self.state = match self.state {
            SizeStart => match hex(b) {
                Some(d) => Size { size: u64::from(d) },
                None => return Err(self.err(ErrorKind::InvalidChunkSize)),
            },
            Size { size } => match hex(b) {
                Some(d) => {
                    if size > u64::MAX >> 4 {
                        return Err(self.err(ErrorKind::InvalidChunkSize));
                    }
                    Size {
                        size: size << 4 | u64::from(d),
                    }
                }
                None => self.after_size(size, b, limits)?,
            },
            SizeBws { size } => match b {
                b' ' | b'\t' => SizeBws { size },
                b';' => ExtName {
                    size,
                    started: false,
                },
                _ => return Err(self.err(ErrorKind::InvalidChunkExtension)),
            },
            ExtName { size, started } => {
                ext_byte(self)?;
                match b {
                    _ if TOKEN[b as usize] => ExtName {
                        size,
                        started: true,
                    },
                    b' ' | b'\t' if !started => ExtName { size, started },
                    _ if !started => return Err(self.err(ErrorKind::InvalidChunkExtension)),
                    b' ' | b'\t' => ExtAfterName { size },
                    _ => self.after_ext(size, b, limits)?,
                }
            }
            ExtAfterName { size } => {
                ext_byte(self)?;
                match b {
                    b' ' | b'\t' => ExtAfterName { size },
                    _ => self.after_ext(size, b, limits)?,
                }
            }
            ExtValueStart { size } => {
                ext_byte(self)?;
                match b {
                    b' ' | b'\t' => ExtValueStart { size },
                    b'"' => ExtQuoted { size },
                    _ if TOKEN[b as usize] => ExtToken { size },
                    _ => return Err(self.err(ErrorKind::InvalidChunkExtension)),
                }
            }
            ExtToken { size } => {
                ext_byte(self)?;
                match b {
                    _ if TOKEN[b as usize] => ExtToken { size },
                    b' ' | b'\t' => ExtAfterName { size },
                    b'=' => return Err(self.err(ErrorKind::InvalidChunkExtension)),
                    _ => self.after_ext(size, b, limits)?,
                }
            }
            ExtQuoted { size } => {
                ext_byte(self)?;
                match b {
                    b'"' => ExtAfterName { size },
                    b'\\' => ExtQuotedEscape { size },
                    // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
                    b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => ExtQuoted { size },
                    _ => return Err(self.err(ErrorKind::InvalidChunkExtension)),
                }
            }
            ExtQuotedEscape { size } => {
                ext_byte(self)?;
                match b {
                    b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff => ExtQuoted { size },
                    _ => return Err(self.err(ErrorKind::InvalidChunkExtension)),
                }
            }
            SizeLf { size } => match b {
                b'\n' => self.size_line_done(size, limits)?,
                _ => return Err(self.err(ErrorKind::BareCr)),
            },
            DataCr => match b {
                b'\r' => DataLf,
                b'\n' if limits.allow_bare_lf => SizeStart,
                _ => return Err(self.err(ErrorKind::InvalidChunkTerminator)),
            },
            DataLf => match b {
                b'\n' => SizeStart,
                _ => return Err(self.err(ErrorKind::InvalidChunkTerminator)),
            },
            Data { .. } | Trailers | Done => self.state,
        };
        Ok(())
    }

    /// The byte after the chunk size: BWS, an extension, or the line end.
    fn after_size(&mut self, size: u64, b: u8, limits: &Limits) -> Result<State, Error> {
        self.ext_len = 0;
        match b {
            b' ' | b'\t' => Ok(State::SizeBws { size }),
            b';' => Ok(State::ExtName {
                size,
                started: false,
            }),
            b'\r' => Ok(State::SizeLf { size }),
            b'\n' if limits.allow_bare_lf => self.size_line_done(size, limits),
            b'\n' => Err(self.err(ErrorKind::BareLf)),
            _ => Err(self.err(ErrorKind::InvalidChunkSize)),
        }
    }

    /// After an extension name or value: another extension, `=`, or the line end.
    fn after_ext(&mut self, size: u64, b: u8, limits: &Limits) -> Result<State, Error> {
        match b {
            b';' => Ok(State::ExtName {
                size,
                started: false,
            }),
            b'=' => Ok(State::ExtValueStart { size }),
            b'\r' => Ok(State::SizeLf { size }),
            b'\n' if limits.allow_bare_lf => self.size_line_done(size, limits),
            b'\n' => Err(self.err(ErrorKind::BareLf)),
            _ => Err(self.err(ErrorKind::InvalidChunkExtension)),
        }
    }

    fn size_line_done(&mut self, size: u64, limits: &Limits) -> Result<State, Error> {
        if size == 0 {
            self.trailer_resume = 0;
            return Ok(State::Trailers);
        }
        self.declared = self.declared.saturating_add(size);
        if self.declared > limits.max_body_len {
            return Err(self.err(ErrorKind::BodyTooLarge));
        }
        Ok(State::Data { remaining: size })
    }

    fn trailers(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<BodyEvent, Error> {
        let window = &buf[..buf.len().min(limits.max_trailer_len)];
        match parse_fields(window, self.trailer_resume, &mut self.trailers, limits)? {
            SectionEnd::Complete(len) => {
                self.state = State::Done;
                self.consumed += len as u64;
                let bytes = buf.split_to(len).freeze();
                let section = std::mem::take(&mut self.trailers);
                let trailers =
                    (!section.fields.is_empty()).then(|| Box::new(section.into_headers(bytes)));
                Ok(BodyEvent::End(trailers))
            }
            SectionEnd::Partial(_) if buf.len() > limits.max_trailer_len => {
                Err(self.err(ErrorKind::HeadTooLarge))
            }
            SectionEnd::Partial(at) => {
                self.trailer_resume = at;
                Ok(BodyEvent::NeedData)
            }
        }
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
