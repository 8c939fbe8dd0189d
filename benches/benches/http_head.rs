//! http-proto beside httparse on the same inputs (issue 4): request heads and a chunked body.
//!
//! Each group holds one input measured by both parsers, so the ratio of their medians is the
//! figure to read (the machine's noise hits both alike). http-proto parses zero-copy from a
//! `Bytes` and validates more (Host, framing fields, target form, field-value bytes);
//! httparse fills a stack array of header slots.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use bytes::{Buf, Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http_proto::{BodyDecoder, BodyEvent, Framing, Limits, RequestHead};
use std::hint::black_box;

/// Parses every head in `buf` with http-proto; returns the number of fields seen. Heads
/// after the first are parsed from a second handle on the same bytes, advanced past each.
fn http_proto_heads(buf: &Bytes, limits: &Limits) -> usize {
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
fn httparse_heads(buf: &[u8]) -> usize {
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

fn heads(c: &mut Criterion) {
    let limits = Limits::default();
    for (name, input) in benches::heads() {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Bytes(input.len() as u64));
        let buf = Bytes::from(input.clone());
        g.bench_function("http-proto", |b| {
            b.iter(|| http_proto_heads(black_box(&buf), &limits));
        });
        g.bench_function("httparse", |b| b.iter(|| httparse_heads(black_box(&input))));
        g.finish();
    }
}

/// Decodes the chunked body with http-proto's decoder; returns the data length.
fn http_proto_chunked(buf: &mut BytesMut, limits: &Limits) -> usize {
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
fn httparse_chunked(buf: &[u8]) -> usize {
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

fn chunked(c: &mut Criterion) {
    let limits = Limits::default();
    let (body, _) = benches::chunked_body();
    let mut g = c.benchmark_group("chunked_64k");
    g.throughput(Throughput::Bytes(body.len() as u64));
    // Both run inside the same batched harness; only http-proto needs the fresh BytesMut.
    g.bench_function("http-proto", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&body[..]),
            |buf| http_proto_chunked(buf, &limits),
            BatchSize::SmallInput,
        );
    });
    g.bench_function("httparse", |b| {
        b.iter_batched_ref(
            || BytesMut::from(&body[..]),
            |buf| httparse_chunked(buf),
            BatchSize::SmallInput,
        );
    });
    g.finish();
}

criterion_group!(benches, heads, chunked);
criterion_main!(benches);
