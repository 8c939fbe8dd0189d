//! Name-value pairs (§3.4): the body of `PARAMS`, `GET_VALUES` and
//! `GET_VALUES_RESULT`. Each length is one byte when below 128, else four bytes
//! with the high bit set.

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::Error;

/// Largest name or value length the 4-byte form can express (§3.4).
pub const MAX_PARAM_LEN: usize = 0x7fff_ffff;

/// One name-value pair, as zero-copy views of the received bytes where the
/// pair arrived inside one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// The name, e.g. `SCRIPT_FILENAME`.
    pub name: Bytes,
    /// The value; may be empty.
    pub value: Bytes,
}

fn length_len(len: usize) -> usize {
    if len < 128 { 1 } else { 4 }
}

/// Bytes [`encode_pair`] appends for a name and value of these lengths.
#[must_use]
pub fn encoded_pair_len(name_len: usize, value_len: usize) -> usize {
    length_len(name_len) + length_len(value_len) + name_len + value_len
}

fn put_length(out: &mut BytesMut, len: usize) -> Result<(), Error> {
    if len < 128 {
        // len < 128 fits a byte.
        #[allow(clippy::cast_possible_truncation)]
        out.put_u8(len as u8);
        return Ok(());
    }
    let n = u32::try_from(len)
        .ok()
        .filter(|&n| n <= 0x7fff_ffff)
        .ok_or(Error::ParamTooLong { length: len })?;
    out.put_u32(n | 0x8000_0000);
    Ok(())
}

/// Appends one name-value pair to `out`.
///
/// # Errors
/// [`Error::ParamTooLong`] when the name or value is longer than [`MAX_PARAM_LEN`];
/// nothing is appended then.
pub fn encode_pair(out: &mut BytesMut, name: &[u8], value: &[u8]) -> Result<(), Error> {
    for len in [name.len(), value.len()] {
        if len > MAX_PARAM_LEN {
            return Err(Error::ParamTooLong { length: len });
        }
    }
    out.reserve(encoded_pair_len(name.len(), value.len()));
    put_length(out, name.len())?;
    put_length(out, value.len())?;
    out.put_slice(name);
    out.put_slice(value);
    Ok(())
}

/// Name-value pairs encoded once, to be sent as a request's `PARAMS` (with
/// [`ServerConn::send_encoded_params`](crate::ServerConn::send_encoded_params)) on
/// whichever connection takes the request: a web server that may retry a request on
/// another upstream encodes its environment once, and a clone costs a reference count.
///
/// ```
/// use fcgi_proto::params::EncodedParams;
/// let params = EncodedParams::encode([(&b"REQUEST_METHOD"[..], &b"GET"[..])]).unwrap();
/// assert_eq!(params.as_bytes(), b"\x0e\x03REQUEST_METHODGET");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedParams(Bytes);

impl EncodedParams {
    /// Encodes `pairs` in order.
    ///
    /// # Errors
    /// [`Error::ParamTooLong`] for a name or value longer than [`MAX_PARAM_LEN`].
    pub fn encode<I, N, V>(pairs: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        // Sized for a typical CGI environment: one allocation, no growth.
        let mut out = BytesMut::with_capacity(2048);
        for (name, value) in pairs {
            encode_pair(&mut out, name.as_ref(), value.as_ref())?;
        }
        Ok(Self(out.freeze()))
    }

    /// The encoded pairs: a `PARAMS` stream's content.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads one length at the start of `buf`: `None` when incomplete.
fn read_length(buf: &[u8]) -> Option<(usize, usize)> {
    let first = *buf.first()?;
    if first < 128 {
        return Some((usize::from(first), 1));
    }
    let b: [u8; 4] = buf.get(..4)?.try_into().ok()?;
    let n = u32::from_be_bytes(b) & 0x7fff_ffff;
    // On a 16-bit target this saturates, and the limit check refuses it.
    Some((usize::try_from(n).unwrap_or(usize::MAX), 4))
}

/// What the start of a buffer holds.
enum PairHead {
    /// Not even the lengths are complete.
    Incomplete,
    /// Lengths known: name length, value length, bytes of length prefix.
    Known(usize, usize, usize),
}

fn read_pair_head(buf: &[u8]) -> PairHead {
    let Some((name_len, a)) = read_length(buf) else {
        return PairHead::Incomplete;
    };
    let Some((value_len, b)) = buf.get(a..).and_then(read_length) else {
        return PairHead::Incomplete;
    };
    PairHead::Known(name_len, value_len, a + b)
}

/// Incremental name-value pair decoder: feed a stream's record contents in
/// order, get pairs out as soon as they are whole. A pair may span records.
///
/// The total of all bytes fed is bounded by the limit given to
/// [`new`](Self::new); a pair whose declared lengths would pass it is refused
/// as soon as its lengths are read, before anything is buffered for it.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use fcgi_proto::params::{encode_pair, ParamsDecoder};
/// let mut wire = BytesMut::new();
/// encode_pair(&mut wire, b"SCRIPT_NAME", b"/index.php").unwrap();
/// let wire = wire.freeze();
/// let mut dec = ParamsDecoder::new(1024, 1);
/// let mut out = Vec::new();
/// dec.feed(wire.slice(..5), &mut out).unwrap();
/// assert!(out.is_empty());
/// dec.feed(wire.slice(5..), &mut out).unwrap();
/// assert_eq!(&out[0].value[..], b"/index.php");
/// dec.finish().unwrap();
/// ```
#[derive(Debug)]
pub struct ParamsDecoder {
    pending: BytesMut,
    /// Bytes of whole pairs already returned.
    consumed: usize,
    limit: usize,
    request_id: u16,
}

impl ParamsDecoder {
    /// A decoder refusing more than `limit` bytes in total; `request_id` only
    /// labels errors.
    #[must_use]
    pub fn new(limit: usize, request_id: u16) -> Self {
        Self {
            pending: BytesMut::new(),
            consumed: 0,
            limit,
            request_id,
        }
    }

    fn too_large(&self) -> Error {
        Error::ParamsTooLarge {
            request_id: self.request_id,
            limit: self.limit,
        }
    }

    /// Checks a pair's declared size against the limit; returns its total length.
    fn check_pair(&self, name_len: usize, value_len: usize, head: usize) -> Result<usize, Error> {
        let total = head
            .checked_add(name_len)
            .and_then(|t| t.checked_add(value_len))
            .ok_or_else(|| self.too_large())?;
        if self.consumed.saturating_add(total) > self.limit {
            return Err(self.too_large());
        }
        Ok(total)
    }

    /// Decodes the pairs completed by `chunk`, appending them to `out`.
    ///
    /// # Errors
    /// [`Error::ParamsTooLarge`] when the stream passes the limit. The decoder
    /// should be dropped after an error.
    pub fn feed(&mut self, mut chunk: Bytes, out: &mut Vec<Param>) -> Result<(), Error> {
        if self.pending.is_empty() {
            // Fast path: slice pairs straight out of the record content.
            loop {
                if chunk.is_empty() {
                    return Ok(());
                }
                let PairHead::Known(n, v, head) = read_pair_head(&chunk) else {
                    break;
                };
                let total = self.check_pair(n, v, head)?;
                if chunk.len() < total {
                    break;
                }
                let pair = chunk.split_to(total);
                self.consumed += total;
                out.push(Param {
                    name: pair.slice(head..head + n),
                    value: pair.slice(head + n..),
                });
            }
        }
        if self
            .consumed
            .saturating_add(self.pending.len() + chunk.len())
            > self.limit
        {
            return Err(self.too_large());
        }
        self.pending.extend_from_slice(&chunk);
        loop {
            let PairHead::Known(n, v, head) = read_pair_head(&self.pending) else {
                return Ok(());
            };
            let total = self.check_pair(n, v, head)?;
            if self.pending.len() < total {
                return Ok(());
            }
            let pair = self.pending.split_to(total).freeze();
            self.consumed += total;
            out.push(Param {
                name: pair.slice(head..head + n),
                value: pair.slice(head + n..),
            });
        }
    }

    /// Call at the end of the stream.
    ///
    /// # Errors
    /// [`Error::TruncatedParams`] when bytes of an incomplete pair are left.
    pub fn finish(&self) -> Result<(), Error> {
        if self.pending.is_empty() {
            Ok(())
        } else {
            Err(Error::TruncatedParams {
                request_id: self.request_id,
            })
        }
    }
}

/// Decodes a whole name-value body at once (a `GET_VALUES` or
/// `GET_VALUES_RESULT` record's content).
///
/// # Errors
/// As [`ParamsDecoder::feed`] and [`ParamsDecoder::finish`].
pub fn decode_pairs(body: Bytes, limit: usize, request_id: u16) -> Result<Vec<Param>, Error> {
    let mut dec = ParamsDecoder::new(limit, request_id);
    let mut out = Vec::new();
    dec.feed(body, &mut out)?;
    dec.finish()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(pairs: &[(&[u8], &[u8])]) -> Bytes {
        let mut out = BytesMut::new();
        for (n, v) in pairs {
            encode_pair(&mut out, n, v).unwrap();
        }
        out.freeze()
    }

    #[test]
    fn length_forms() {
        // (name length, value length) -> wire prefix (§3.4 FCGI_NameValuePair11/14/41/44).
        let table: &[(usize, usize, &[u8])] = &[
            (0, 0, &[0, 0]),
            (1, 127, &[1, 127]),
            (128, 1, &[0x80, 0, 0, 128, 1]),
            (2, 300, &[2, 0x80, 0, 1, 44]),
            (200, 70000, &[0x80, 0, 0, 200, 0x80, 1, 0x11, 0x70]),
        ];
        for &(n, v, prefix) in table {
            let name = vec![b'n'; n];
            let value = vec![b'v'; v];
            let wire = enc(&[(&name, &value)]);
            assert_eq!(&wire[..prefix.len()], prefix, "({n},{v})");
            assert_eq!(wire.len(), encoded_pair_len(n, v));
            let got = decode_pairs(wire, usize::MAX, 1).unwrap();
            assert_eq!(got.len(), 1);
            assert_eq!((got[0].name.len(), got[0].value.len()), (n, v));
        }
    }

    #[test]
    fn empty_values_and_byte_at_a_time() {
        let wire = enc(&[(b"A", b""), (b"", b"x"), (b"HTTP_HOST", b"example")]);
        let mut dec = ParamsDecoder::new(1000, 1);
        let mut out = Vec::new();
        for i in 0..wire.len() {
            dec.feed(wire.slice(i..=i), &mut out).unwrap();
        }
        dec.finish().unwrap();
        let got: Vec<(&[u8], &[u8])> = out.iter().map(|p| (&p.name[..], &p.value[..])).collect();
        assert_eq!(
            got,
            vec![
                (&b"A"[..], &b""[..]),
                (b"", b"x"),
                (b"HTTP_HOST", b"example")
            ]
        );
    }

    #[test]
    fn limit_refuses_declared_lengths_before_buffering() {
        // Declares a 2 GiB value; must fail at once, not wait for (or buffer) it.
        let wire = Bytes::from_static(&[1, 0xff, 0xff, 0xff, 0xff, b'a']);
        let mut dec = ParamsDecoder::new(4096, 7);
        let mut out = Vec::new();
        assert_eq!(
            dec.feed(wire, &mut out),
            Err(Error::ParamsTooLarge {
                request_id: 7,
                limit: 4096
            })
        );
    }

    #[test]
    fn limit_counts_total_bytes() {
        let wire = enc(&[(b"AAAA", b"BBBB"), (b"CCCC", b"DDDD")]);
        assert!(decode_pairs(wire.clone(), 19, 1).is_err());
        assert_eq!(decode_pairs(wire, 20, 1).unwrap().len(), 2);
    }

    #[test]
    fn truncated_stream() {
        let wire = enc(&[(b"NAME", b"VALUE")]);
        assert_eq!(
            decode_pairs(wire.slice(..wire.len() - 1), 100, 3),
            Err(Error::TruncatedParams { request_id: 3 })
        );
    }
}
