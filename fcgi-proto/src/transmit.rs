//! The output queue both sides share: small records are copied into one
//! growing buffer, large stream payloads handed over as `Bytes` are queued
//! as they are (no copy), so a 64 KiB body goes to the socket from the
//! caller's own allocation.

use std::collections::VecDeque;

use bytes::{BufMut, Bytes, BytesMut};

use crate::record::{HEADER_LEN, MAX_CONTENT_LEN, RecordHeader, RecordType, VERSION_1};

/// Payloads shorter than this are copied: a separate segment costs more than
/// the copy.
const COPY_BELOW: usize = 1024;

const ZEROS: [u8; 8] = [0; 8];

#[derive(Debug, Default)]
pub(crate) struct Transmit {
    /// Segments ready to go, oldest first.
    queue: VecDeque<Bytes>,
    /// Bytes in `queue`.
    queued: usize,
    /// Newest bytes, after everything in `queue`.
    tail: BytesMut,
}

impl Transmit {
    /// The buffer to append copied records to.
    pub(crate) fn buf(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Bytes waiting to be taken.
    pub(crate) fn len(&self) -> usize {
        self.queued + self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Next segment to write, oldest first.
    pub(crate) fn poll(&mut self) -> Option<Bytes> {
        if let Some(b) = self.queue.pop_front() {
            self.queued -= b.len();
            return Some(b);
        }
        if self.tail.is_empty() {
            None
        } else {
            Some(self.tail.split().freeze())
        }
    }

    fn push_segment(&mut self, b: Bytes) {
        if !self.tail.is_empty() {
            let t = self.tail.split().freeze();
            self.queued += t.len();
            self.queue.push_back(t);
        }
        self.queued += b.len();
        self.queue.push_back(b);
    }

    /// Queues `data` as records of one stream, without copying large chunks.
    /// Empty `data` queues nothing.
    pub(crate) fn push_stream(&mut self, record_type: RecordType, request_id: u16, data: &Bytes) {
        if data.len() < COPY_BELOW {
            crate::record::encode_stream(&mut self.tail, record_type, request_id, data);
            return;
        }
        let mut at = 0;
        while at < data.len() {
            let end = (at + MAX_CONTENT_LEN).min(data.len());
            let chunk = data.slice(at..end);
            at = end;
            let len = chunk.len();
            // len <= MAX_CONTENT_LEN, and the padding is at most 7.
            #[allow(clippy::cast_possible_truncation)]
            let header = RecordHeader {
                version: VERSION_1,
                record_type,
                request_id,
                content_length: len as u16,
                padding_length: ((8 - len % 8) % 8) as u8,
            };
            self.tail.reserve(HEADER_LEN);
            self.tail.put_slice(&header.encode());
            self.push_segment(chunk);
            self.tail
                .put_slice(&ZEROS[..usize::from(header.padding_length)]);
        }
    }
}

/// Stream bytes as a caller hands them over: borrowed (copied) or shared
/// (queued without a copy when large).
#[derive(Debug)]
pub(crate) enum Payload<'a> {
    Borrowed(&'a [u8]),
    Shared(Bytes),
}

impl Payload<'_> {
    pub(crate) fn len(&self) -> usize {
        match self {
            Self::Borrowed(b) => b.len(),
            Self::Shared(b) => b.len(),
        }
    }

    /// Queues the first `n` bytes (`n <= len`) as records of one stream.
    pub(crate) fn queue_prefix(
        self,
        out: &mut Transmit,
        record_type: RecordType,
        request_id: u16,
        n: usize,
    ) {
        match self {
            Self::Borrowed(b) => {
                if let Some(chunk) = b.get(..n) {
                    crate::record::encode_stream(out.buf(), record_type, request_id, chunk);
                }
            }
            Self::Shared(b) => {
                if n <= b.len() {
                    out.push_stream(record_type, request_id, &b.slice(..n));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordDecoder;

    #[test]
    fn zero_copy_and_copied_records_come_out_in_order() {
        let mut t = Transmit::default();
        crate::record::encode_stream(t.buf(), RecordType::Stdout, 1, b"head");
        let big = Bytes::from(vec![7u8; 70_001]);
        t.push_stream(RecordType::Stdout, 1, &big);
        t.push_stream(RecordType::Stdout, 1, &Bytes::from_static(b"tail"));
        crate::record::encode_stream_end(t.buf(), RecordType::Stdout, 1);
        let total = t.len();
        let mut wire = Vec::new();
        let mut segments = 0;
        while let Some(b) = t.poll() {
            // The big payload is handed out as a view of `big`, not a copy.
            if b.len() == MAX_CONTENT_LEN {
                assert_eq!(b.as_ptr(), big.as_ptr());
            }
            wire.extend_from_slice(&b);
            segments += 1;
        }
        assert!(segments >= 4);
        assert_eq!(wire.len(), total);
        assert!(t.is_empty());
        let mut d = RecordDecoder::new();
        d.feed(&wire);
        let mut body = Vec::new();
        let mut ended = false;
        while let Some(r) = d.decode().unwrap() {
            ended = r.content.is_empty();
            body.extend_from_slice(&r.content);
        }
        assert!(ended);
        assert_eq!(body.len(), 4 + 70_001 + 4);
        assert_eq!(&body[..4], b"head");
        assert_eq!(&body[body.len() - 4..], b"tail");
    }
}
