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
    /// Allocated only when a trailer section has fields (most have none).
    trailers: Option<Box<FieldSection>>,
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
    ///
    /// A chunk's data is handed out zero-copy. When the chunks after it are small
    /// (at most 512 bytes each) and wholly in `buf`, their data is moved back in
    /// place over the size lines between them, so one [`BodyEvent::Data`] carries them all:
    /// a few bytes copied instead of an event (and a reference count) per small chunk.
    pub fn decode(&mut self, buf: &mut BytesMut, limits: &Limits) -> Result<BodyEvent, Error> {
        loop {
            match self.state {
                State::Done => return Ok(BodyEvent::End(None)),
                State::Data { remaining } => return Ok(self.data(buf, remaining, limits)),
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

    /// Hands out chunk data from the front of `buf`, `remaining` bytes of the chunk left.
    #[inline]
    fn data(&mut self, buf: &mut BytesMut, remaining: u64, limits: &Limits) -> BodyEvent {
        if buf.is_empty() {
            return BodyEvent::NeedData;
        }
        match usize::try_from(remaining) {
            // The chunk ends inside `buf`: join the small whole chunks after it.
            Ok(end) if end < buf.len() => {
                let (data_len, used) = self.join_small_chunks(buf, end, limits);
                self.consumed += used as u64;
                let mut piece = buf.split_to(used);
                piece.truncate(data_len);
                BodyEvent::Data(piece.freeze())
            }
            // The chunk goes on past `buf` (or ends with it): all of `buf` is data.
            _ => {
                let take = buf.len();
                let left = remaining - take as u64;
                self.state = if left == 0 {
                    State::DataCr
                } else {
                    State::Data { remaining: left }
                };
                self.consumed += take as u64;
                BodyEvent::Data(buf.split_to(take).freeze())
            }
        }
    }

    /// After chunk data ending at `end` (inside `buf`), joins the chunks that follow while
    /// each is `CRLF 1*HEXDIG CRLF data`, wholly in `buf`, with a size of at most
    /// [`JOIN_MAX`]: its data is moved back to follow the data before it. The size line
    /// after the last joined chunk is consumed too when it has no extension and is wholly
    /// in `buf` (the state is then that chunk's `Data`, or `Trailers`); anything else
    /// (an extension, a bare LF, a partial line, an error) is left, in state `DataCr`, to
    /// the byte-wise states, which read it as they would have without the join.
    ///
    /// Returns the joined data's length and the input used. The state after it is the one
    /// the byte-wise states reach over the same input; `declared` and `consumed` agree.
    fn join_small_chunks(&mut self, buf: &mut [u8], end: usize, limits: &Limits) -> (usize, usize) {
        self.state = State::DataCr;
        let mut data_end = end;
        let mut read = end;
        while let [b'\r', b'\n', line @ ..] = &buf[read..]
            && let Some((size, line_len)) = plain_size_line(line)
        {
            let start = read + 2 + line_len;
            let whole_and_small = size != 0
                && size <= JOIN_MAX as u64
                && (buf.len() - start) as u64 >= size
                && self.declared.saturating_add(size) <= limits.max_body_len;
            if !whole_and_small {
                // Consume the size line as `size_line_fast` would. A body grown too large
                // is left to it, so the error comes from the same byte as without the join.
                if (size == 0 || self.declared.saturating_add(size) <= limits.max_body_len)
                    && let Ok(state) = self.size_line_done(size, limits)
                {
                    self.ext_len = 0;
                    self.state = state;
                    read = start;
                }
                break;
            }
            // size <= JOIN_MAX: no truncation.
            #[allow(clippy::cast_possible_truncation)]
            let size = size as usize;
            self.declared += size as u64;
            buf.copy_within(start..start + size, data_end);
            data_end += size;
            read = start + size;
        }
        (data_end, read)
    }

    /// The common case in one step: `[CRLF] HEX CRLF` (the end of the previous chunk's
    /// data and the next size line, without extensions) wholly in `buf`. `None` leaves the
    /// input to the byte-wise states, which accept the same language.
    #[inline]
    fn size_line_fast(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        let start = match self.state {
            State::SizeStart => 0,
            State::DataCr if buf.starts_with(b"\r\n") => 2,
            _ => return Ok(None),
        };
        let Some((size, line_len)) = plain_size_line(&buf[start..]) else {
            return Ok(None);
        };
        self.ext_len = 0;
        self.state = self.size_line_done(size, limits)?;
        Ok(Some(start + line_len))
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
        // The usual end: no trailer fields, just the empty line.
        if self.trailer_resume == 0 && limits.max_trailer_len >= 2 && buf.starts_with(b"\r\n") {
            self.state = State::Done;
            self.consumed += 2;
            buf.advance(2);
            return Ok(BodyEvent::End(None));
        }
        let window = &buf[..buf.len().min(limits.max_trailer_len)];
        let section = self.trailers.get_or_insert_with(Box::default);
        match parse_fields(
            window,
            self.trailer_resume,
            &mut section.parts_mut(),
            limits,
        )? {
            SectionEnd::Complete(len) => {
                self.state = State::Done;
                self.consumed += len as u64;
                let bytes = buf.split_to(len).freeze();
                let section = self.trailers.take().map(|s| *s).unwrap_or_default();
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

/// Chunks of at most this many bytes are joined to the data before them when they arrive
/// whole (see [`ChunkedDecoder::decode`]): moving that much costs less than an event.
pub(crate) const JOIN_MAX: usize = 512;

/// A size line without extensions, `1*16HEXDIG CRLF`, at the start of `line`: the size and
/// the line's length. `None` for anything else, including a line not wholly in `line`.
#[inline(always)]
fn plain_size_line(line: &[u8]) -> Option<(u64, usize)> {
    let mut size = 0u64;
    let mut i = 0;
    while let Some(&b) = line.get(i) {
        let d = HEX[b as usize];
        if d == NOT_HEX {
            break;
        }
        // 16 digits at most: a 17th would overflow (the byte-wise states refuse it then).
        if i == 16 {
            return None;
        }
        size = size << 4 | u64::from(d);
        i += 1;
    }
    (i > 0 && line.get(i..i + 2) == Some(b"\r\n")).then_some((size, i + 2))
}

const NOT_HEX: u8 = 0xff;

/// Hex digit values, `NOT_HEX` for other bytes.
static HEX: [u8; 256] = {
    let mut t = [NOT_HEX; 256];
    let mut d = 0u8;
    while d < 16 {
        let (lower, upper) = if d < 10 {
            (b'0' + d, b'0' + d)
        } else {
            (b'a' + d - 10, b'A' + d - 10)
        };
        t[lower as usize] = d;
        t[upper as usize] = d;
        d += 1;
    }
    t
};

fn hex(b: u8) -> Option<u8> {
    match HEX[b as usize] {
        NOT_HEX => None,
        d => Some(d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// Every event of decoding `input` handed over whole.
    fn events(input: &[u8], limits: &Limits) -> Vec<Result<BodyEvent, ErrorKind>> {
        let mut buf = BytesMut::from(input);
        let mut decoder = ChunkedDecoder::new();
        let mut out = Vec::new();
        loop {
            let event = decoder.decode(&mut buf, limits).map_err(|e| e.kind());
            let last = !matches!(event, Ok(BodyEvent::Data(_)));
            out.push(event);
            if last {
                return out;
            }
        }
    }

    fn data(s: &str) -> Result<BodyEvent, ErrorKind> {
        Ok(BodyEvent::Data(Bytes::copy_from_slice(s.as_bytes())))
    }

    #[test]
    fn small_whole_chunks_after_a_chunk_come_out_as_one_piece() {
        let limits = Limits::default();
        assert_eq!(
            events(b"3\r\nabc\r\n2\r\nde\r\n1\r\nf\r\n0\r\n\r\n", &limits),
            [data("abcdef"), Ok(BodyEvent::End(None))]
        );
        // A big chunk takes the small ones after it; a chunk past JOIN_MAX starts its own piece.
        let big = "x".repeat(JOIN_MAX + 1);
        let input = format!("2\r\nab\r\n{:x}\r\n{big}\r\n1\r\nc\r\n0\r\n\r\n", big.len());
        assert_eq!(
            events(input.as_bytes(), &limits),
            [
                data("ab"),
                data(&format!("{big}c")),
                Ok(BodyEvent::End(None))
            ]
        );
        let at_max = "y".repeat(JOIN_MAX);
        let input = format!("1\r\na\r\n{:x}\r\n{at_max}\r\n0\r\n\r\n", at_max.len());
        assert_eq!(
            events(input.as_bytes(), &limits),
            [data(&format!("a{at_max}")), Ok(BodyEvent::End(None))]
        );
    }

    #[test]
    fn joining_stops_where_the_byte_wise_states_take_over() {
        let limits = Limits::default();
        // An extension, a bare LF (allowed), a chunk not wholly in the buffer.
        assert_eq!(
            events(b"1\r\na\r\n1;x=y\r\nb\r\n0\r\n\r\n", &limits),
            [data("a"), data("b"), Ok(BodyEvent::End(None))]
        );
        let lenient = Limits {
            allow_bare_lf: true,
            ..Limits::default()
        };
        assert_eq!(
            events(b"1\r\na\r\n1\nb\r\n1\r\nc\n0\r\n\r\n", &lenient),
            [data("a"), data("bc"), Ok(BodyEvent::End(None))]
        );
        assert_eq!(
            events(b"1\r\na\r\n5\r\nbc", &limits),
            [data("a"), data("bc"), Ok(BodyEvent::NeedData)]
        );
        // The body limit: the chunks within it are joined, the one past it is refused.
        let small = Limits {
            max_body_len: 3,
            ..Limits::default()
        };
        assert_eq!(
            events(b"1\r\na\r\n2\r\nbc\r\n1\r\nd\r\n0\r\n\r\n", &small),
            [data("abc"), Err(ErrorKind::BodyTooLarge)]
        );
    }

    #[test]
    fn size_lines_without_extensions() {
        assert_eq!(plain_size_line(b"0\r\n"), Some((0, 3)));
        assert_eq!(plain_size_line(b"1000\r\ndata"), Some((0x1000, 6)));
        assert_eq!(plain_size_line(b"aBcD\r\n"), Some((0xabcd, 6)));
        assert_eq!(
            plain_size_line(b"ffffffffffffffff\r\n"),
            Some((u64::MAX, 18))
        );
        for other in [
            &b""[..],
            b"\r\n",
            b"1",
            b"1\r",
            b"1\n",
            b"1;x\r\n",
            b"1 \r\n",
            b"g\r\n",
            b"00000000000000001\r\n",
        ] {
            assert_eq!(plain_size_line(other), None, "{other:?}");
        }
    }
}
