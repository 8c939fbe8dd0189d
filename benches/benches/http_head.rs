//! Request-line version parsing: http-proto beside httparse on the same input.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn version(c: &mut Criterion) {
    let mut g = c.benchmark_group("small_get");
    g.bench_function("httparse", |b| {
        b.iter(|| {
            let mut headers = [httparse::EMPTY_HEADER; 16];
            let mut req = httparse::Request::new(&mut headers);
            black_box(req.parse(black_box(benches::SMALL_GET)).is_ok())
        });
    });
    g.bench_function("http-proto/version", |b| {
        b.iter(|| {
            black_box(http_proto::Version::parse(black_box(
                &benches::SMALL_GET[6..14],
            )))
        });
    });
    g.finish();
}

criterion_group!(benches, version);
criterion_main!(benches);
