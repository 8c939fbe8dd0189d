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
        self.encode_prefix(data.len(), out)?;
        out.extend_from_slice(data);
        self.encode_suffix(data.len(), out);
        Ok(())
    }

    /// Writes the framing that goes before `len` body bytes the caller writes itself
    /// (for example straight from a file), and accounts for them. Follow the bytes with
    /// [`encode_suffix`](Self::encode_suffix).
    pub fn encode_prefix(&mut self, len: usize, out: &mut BytesMut) -> Result<(), Error> {
        if self.done {
            return Err(Error::local());
        }
        match self.framing {
            Framing::Length(_) => {
                self.remaining = self
                    .remaining
                    .checked_sub(len as u64)
                    .ok_or(Error::local())?;
            }
            Framing::Chunked if len > 0 => {
                write_hex(len, out);
                out.put_slice(b"\r\n");
            }
            Framing::None if len > 0 => return Err(Error::local()),
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
        if self.done || self.remaining > 0 {
            return Err(Error::local());
        }
        if self.framing == Framing::Chunked {
            if trailers
                .iter()
                .any(|(n, v)| !is_field_name(n) || !is_field_value(v))
            {
                return Err(Error::local());
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
