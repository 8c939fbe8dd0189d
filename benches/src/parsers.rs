//! The two parsers' loops over the bench inputs, shared by the criterion bench
//! (`benches/http_head.rs`) and the callgrind harness (`examples/parse_counts.rs`), so
//! both measure the same code.

use bytes::{Buf, Bytes, BytesMut};
use http_proto::{BodyDecoder, BodyEvent, Framing, Limits, RequestHead};
use std::hint::black_box;

/// Parses every head in `buf` with http-proto; returns the number of fields seen. Heads
/// after the first are parsed from a second handle on the same bytes, advanced past each.
#[inline(never)]
pub fn http_proto_heads(buf: &Bytes, limits: &Limits) -> usize {
    let parse = |buf: &Bytes| match RequestHead::parse(buf, limits) {
        Ok(Some((ref head, len))) => (black_box(head).headers().len(), len),
        _ => unreachable!("the corpus is valid"),
    };
    let (mut fields, len) = parse(buf);
    if len < buf.len() {
        // The rest of a pipelined batch: one handle, advanced past each head.
        let mut rest = buf.clone();
        rest.advance(len);
        while !rest.is_empty() {
            let (more, len) = parse(&rest);
            fields += more;
            rest.advance(len);
        }
    }
    fields
}

/// Parses every head in `buf` with httparse.
#[inline(never)]
pub fn httparse_heads(buf: &[u8]) -> usize {
    let mut fields = 0;
    let mut at = 0;
    while at < buf.len() {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut slots);
        let Ok(httparse::Status::Complete(len)) = req.parse(&buf[at..]) else {
            unreachable!("the corpus is valid");
        };
        fields += black_box(&req).headers.len();
        at += len;
    }
    fields
}

/// Decodes the chunked body with http-proto's decoder; returns the data length.
#[inline(never)]
pub fn http_proto_chunked(buf: &mut BytesMut, limits: &Limits) -> usize {
    let mut decoder = BodyDecoder::new(Framing::Chunked);
    let mut total = 0;
    loop {
        match decoder.decode(buf, limits) {
            Ok(BodyEvent::Data(d)) => total += black_box(d).len(),
            Ok(BodyEvent::End(_)) => return total,
            _ => unreachable!("the corpus is valid"),
        }
    }
}

/// The minimal loop around `httparse::parse_chunk_size`: size line, data, CRLF; no trailers.
#[inline(never)]
pub fn httparse_chunked(buf: &[u8]) -> usize {
    let mut at = 0;
    let mut total = 0;
    loop {
        let Ok(httparse::Status::Complete((used, size))) = httparse::parse_chunk_size(&buf[at..])
        else {
            unreachable!("the corpus is valid");
        };
        at += used;
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        if size == 0 {
            assert_eq!(&buf[at..at + 2], b"\r\n");
            return total;
        }
        total += black_box(&buf[at..at + size]).len();
        at += size;
        assert_eq!(&buf[at..at + 2], b"\r\n");
        at += 2;
    }
}
