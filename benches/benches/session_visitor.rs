//! Visitor sessions: reading a Cookie header, writing Set-Cookie, and store lookups at scale.
#![allow(missing_docs)] // criterion_group! generates undocumented items.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use session_core::visitor::{CookieHeader, MemoryStore, SessionId, SetCookie, Store, StoreLimits};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// A realistic header: analytics and preference cookies around the session id.
const COOKIE: &[u8] = b"_ga=GA1.2.1234567890.1234567890; theme=dark; lang=en-GB; \
    _gid=GA1.2.987654321.987654321; consent=\"yes\"; \
    __Host-id=00112233445566778899aabbccddeeff; cart=3";

fn cookie(c: &mut Criterion) {
    let mut g = c.benchmark_group("visitor_cookie");
    g.bench_function("find_session_id", |b| {
        b.iter(|| {
            CookieHeader::parse(black_box(COOKIE))
                .get("__Host-id")
                .and_then(|value| SessionId::parse(value).ok())
        });
    });
    let id = SessionId::from_bytes([0x5a; 16]);
    g.bench_function("encode_set_cookie", |b| {
        let mut out = String::with_capacity(128);
        b.iter(|| {
            out.clear();
            let encoded = black_box(id).encode();
            SetCookie::new("__Host-id", encoded.as_str())
                .max_age(Some(Duration::from_secs(3600)))
                .encode_into(&mut out)
                .is_ok()
        });
    });
    g.finish();
}

fn store(c: &mut Criterion) {
    const SESSIONS: usize = 100_000;
    let mut g = c.benchmark_group("visitor_store");
    let start = Instant::now();
    let mut limits = StoreLimits::default();
    limits.capacity = SESSIONS + 1;
    let mut full: MemoryStore<usize> = MemoryStore::new(limits);
    let ids: Vec<SessionId> = (0..SESSIONS)
        .map(|i| full.insert(i % 8, start).expect("capacity is large enough"))
        .collect();
    let mut i = 0;
    let mut now = start;
    g.bench_function("touch_100k", |b| {
        b.iter(|| {
            i = (i + 1) % SESSIONS;
            now += Duration::from_micros(1);
            full.touch(black_box(&ids[i]), now).copied()
        });
    });
    g.bench_function("get_miss_100k", |b| {
        let stranger = SessionId::from_bytes([0; 16]);
        b.iter(|| full.get(black_box(&stranger), now).is_some());
    });
    g.bench_function("insert_remove", |b| {
        b.iter_batched(
            || (),
            |()| {
                let id = full.insert(1, now).expect("one slot is free");
                full.remove(&id, now)
            },
            BatchSize::SmallInput,
        );
    });
    g.bench_function("generate_id", |b| b.iter(SessionId::generate));
    g.finish();
}

criterion_group!(benches, cookie, store);
criterion_main!(benches);
