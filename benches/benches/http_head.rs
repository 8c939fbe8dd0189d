//! http-proto beside httparse on the same inputs (issue 4): request heads and a chunked body.
//!
//! Each group holds one input measured by both parsers, so the ratio of their medians is the
//! figure to read (the machine's noise hits both alike). http-proto parses zero-copy from a
//! `Bytes` and validates more (Host, framing fields, target form, field-value bytes);
//! httparse fills a stack array of header slots.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use benches::parsers::{http_proto_chunked, http_proto_heads, httparse_chunked, httparse_heads};
use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use http_proto::Limits;
use std::hint::black_box;

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
