//! Body encoders: one per framing, writing straight into the caller's buffer.

use crate::error::Error;
use crate::framing::Framing;
use crate::head::{is_field_name, is_field_value};
use bytes::{BufMut, BytesMut};

/// Writes a body in the framing chosen for it, and refuses to break that framing.
///
/// ```
/// use bytes::BytesMut;
/// use http_proto::{BodyEncoder, Framing};
///
/// let mut out = BytesMut::new();
/// let mut body = BodyEncoder::new(Framing::Chunked);
/// body.encode(b"hello", &mut out)?;
/// body.finish(&[(b"etag", b"\"1\"")], &mut out)?;
/// assert_eq!(&out[..], b"5\r\nhello\r\n0\r\netag: \"1\"\r\n\r\n");
/// # Ok::<(), http_proto::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyEncoder {
    framing: Framing,
    remaining: u64,
    done: bool,
}

impl BodyEncoder {
    /// An encoder for this framing. `Framing::None` accepts no data at all.
    #[must_use]
    pub fn new(framing: Framing) -> Self {
        let remaining = match framing {
            Framing::Length(n) => n,
            _ => 0,
        };
        Self {
            framing,
            remaining,
            done: false,
        }
    }

    /// The framing this encoder writes.
    #[must_use]
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Bytes a Content-Length body still owes.
    #[must_use]
    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    /// Whether `finish` has been called.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Appends `data` in this framing. Empty data writes nothing (an empty chunk would end
    /// a chunked body). More bytes than a Content-Length announced is an error.
    pub fn encode(&mut self, data: &[u8], out: &mut BytesMut) -> Result<(), Error> {
        self.encode_with(data, out, &ENCODE)
    }

    /// [`encode`](Self::encode), refusing in the words of the verb that called it.
    pub(crate) fn encode_with(
        &mut self,
        data: &[u8],
        out: &mut BytesMut,
        refusals: &'static DataRefusals,
    ) -> Result<(), Error> {
        self.prefix(data.len(), out, refusals)?;
        out.extend_from_slice(data);
        self.encode_suffix(data.len(), out);
        Ok(())
    }

    /// Writes the framing that goes before `len` body bytes the caller writes itself
    /// (for example straight from a file), and accounts for them. Follow the bytes with
    /// [`encode_suffix`](Self::encode_suffix).
    pub fn encode_prefix(&mut self, len: usize, out: &mut BytesMut) -> Result<(), Error> {
        self.prefix(len, out, &ENCODE_PREFIX)
    }

    fn prefix(
        &mut self,
        len: usize,
        out: &mut BytesMut,
        refusals: &'static DataRefusals,
    ) -> Result<(), Error> {
        if self.done {
            return Err(Error::local(refusals.after_end));
        }
        match self.framing {
            Framing::Length(_) => {
                self.remaining = self
                    .remaining
                    .checked_sub(len as u64)
                    .ok_or(Error::local(refusals.beyond_length))?;
            }
            Framing::Chunked if len > 0 => {
                write_hex(len, out);
                out.put_slice(b"\r\n");
            }
            Framing::None if len > 0 => return Err(Error::local(refusals.no_body)),
            _ => {}
        }
        Ok(())
    }

    /// Writes the framing that goes after `len` body bytes (a chunk's CRLF).
    pub fn encode_suffix(&mut self, len: usize, out: &mut BytesMut) {
        if self.framing == Framing::Chunked && len > 0 {
            out.put_slice(b"\r\n");
        }
    }

    /// Ends the body: the last chunk and trailers for chunked (trailers are dropped for other
    /// framings, which cannot carry them). A Content-Length body that is short is an error.
    pub fn finish(&mut self, trailers: &[(&[u8], &[u8])], out: &mut BytesMut) -> Result<(), Error> {
        self.finish_with(trailers, out, &FINISH)
    }

    /// [`finish`](Self::finish), refusing in the words of the verb that called it.
    pub(crate) fn finish_with(
        &mut self,
        trailers: &[(&[u8], &[u8])],
        out: &mut BytesMut,
        refusals: &'static EndRefusals,
    ) -> Result<(), Error> {
        if self.done {
            return Err(Error::local(refusals.twice));
        }
        if self.remaining > 0 {
            return Err(Error::local(refusals.short));
        }
        if self.framing == Framing::Chunked {
            if trailers
                .iter()
                .any(|(n, v)| !is_field_name(n) || !is_field_value(v))
            {
                return Err(Error::local(refusals.trailer));
            }
            out.put_slice(b"0\r\n");
            for (name, value) in trailers {
                out.put_slice(name);
                out.put_slice(b": ");
                out.put_slice(value);
                out.put_slice(b"\r\n");
            }
            out.put_slice(b"\r\n");
        }
        self.done = true;
        Ok(())
    }
}

/// What an encoder says when it refuses body data, naming the verb the caller called:
/// the encoder's own, or the connection's `send_data` that drives it.
#[derive(Debug)]
pub(crate) struct DataRefusals {
    after_end: &'static str,
    beyond_length: &'static str,
    no_body: &'static str,
}

macro_rules! data_refusals {
    ($verb:literal) => {
        DataRefusals {
            after_end: concat!($verb, ": the body already ended"),
            beyond_length: concat!($verb, ": more bytes than the Content-Length announced"),
            no_body: concat!(
                $verb,
                ": this message has no body (a 204 or 304 response, a request with body_len 0)"
            ),
        }
    };
}

/// What an encoder says when it refuses to end the body, naming the verb called.
#[derive(Debug)]
pub(crate) struct EndRefusals {
    twice: &'static str,
    short: &'static str,
    trailer: &'static str,
}

macro_rules! end_refusals {
    ($verb:literal) => {
        EndRefusals {
            twice: concat!($verb, ": the body already ended"),
            short: concat!($verb, ": the body is shorter than its Content-Length"),
            trailer: concat!(
                $verb,
                ": a trailer name that is not a token, or a value with CR, LF or NUL"
            ),
        }
    };
}

static ENCODE: DataRefusals = data_refusals!("BodyEncoder::encode");
static ENCODE_PREFIX: DataRefusals = data_refusals!("BodyEncoder::encode_prefix");
static FINISH: EndRefusals = end_refusals!("BodyEncoder::finish");
/// Refusals of `ServerConn::send_data` and `ClientConn::send_data`.
pub(crate) static SEND_DATA: DataRefusals = data_refusals!("send_data");
/// Refusals of `ServerConn::send_end` and `ClientConn::send_end`.
pub(crate) static SEND_END: EndRefusals = end_refusals!("send_end");

fn write_hex(mut n: usize, out: &mut BytesMut) {
    let mut digits = [0u8; 16];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b"0123456789abcdef"[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.put_slice(&digits[i..]);
}
