//! Traffic counters for the status page: bytes in and out, responses by status class,
//! requests over the last minute. Sharded by thread, so the request path adds to a
//! counter no other worker writes (the workers never contend for its cache line); a
//! snapshot sums the shards.

use std::cell::Cell;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

const SHARDS: usize = 16;
/// Seconds of per-second request counts kept.
const WINDOW: usize = 60;

#[derive(Debug)]
#[repr(align(128))]
struct Shard {
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    /// Responses by status class: 1xx .. 5xx.
    classes: [AtomicU64; 5],
    /// Requests ended in each second of the window, and which second each slot holds.
    per_second: [AtomicU64; WINDOW],
    second_of: [AtomicU64; WINDOW],
}

/// The server's traffic counters.
#[derive(Debug)]
pub(crate) struct Traffic {
    started: Instant,
    shards: Box<[Shard]>,
}

/// What the counters say now.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub(crate) struct TrafficSnapshot {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    /// Responses by status class, `[1xx, 2xx, 3xx, 4xx, 5xx]`.
    pub(crate) responses: [u64; 5],
    /// Requests answered in the last full minute, per second.
    pub(crate) requests_per_second: f64,
}

impl Default for Shard {
    fn default() -> Self {
        Self {
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            classes: std::array::from_fn(|_| AtomicU64::new(0)),
            per_second: std::array::from_fn(|_| AtomicU64::new(0)),
            second_of: std::array::from_fn(|_| AtomicU64::new(u64::MAX)),
        }
    }
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: Cell<Option<usize>> = const { Cell::new(None) };
}

fn shard_index() -> usize {
    SHARD.with(|s| {
        s.get().unwrap_or_else(|| {
            let i = NEXT_SHARD.fetch_add(1, Relaxed) % SHARDS;
            s.set(Some(i));
            i
        })
    })
}

impl Traffic {
    pub(crate) fn new() -> Self {
        Self {
            started: Instant::now(),
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
        }
    }

    fn shard(&self) -> &Shard {
        &self.shards[shard_index()]
    }

    /// Bytes read from a client.
    pub(crate) fn read(&self, n: usize) {
        self.shard().bytes_in.fetch_add(n as u64, Relaxed);
    }

    /// Bytes written to a client.
    pub(crate) fn wrote(&self, n: usize) {
        self.shard().bytes_out.fetch_add(n as u64, Relaxed);
    }

    /// A response ended (or was cut) with `status`, at `now`.
    pub(crate) fn response(&self, status: u16, now: Instant) {
        let shard = self.shard();
        if let Some(class) = (status / 100).checked_sub(1).filter(|c| *c < 5) {
            shard.classes[usize::from(class)].fetch_add(1, Relaxed);
        }
        let second = now.saturating_duration_since(self.started).as_secs();
        let slot = usize::try_from(second).unwrap_or(0) % WINDOW;
        if shard.second_of[slot].swap(second, Relaxed) != second {
            shard.per_second[slot].store(0, Relaxed);
        }
        shard.per_second[slot].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> TrafficSnapshot {
        let now = self.started.elapsed().as_secs();
        let mut s = TrafficSnapshot::default();
        let mut last_minute = 0u64;
        for shard in &*self.shards {
            s.bytes_in += shard.bytes_in.load(Relaxed);
            s.bytes_out += shard.bytes_out.load(Relaxed);
            for (total, class) in s.responses.iter_mut().zip(&shard.classes) {
                *total += class.load(Relaxed);
            }
            for (count, second) in shard.per_second.iter().zip(&shard.second_of) {
                // The 60 seconds before the current one (which is still counting).
                let second = second.load(Relaxed);
                if second < now && now - second <= WINDOW as u64 {
                    last_minute += count.load(Relaxed);
                }
            }
        }
        s.requests_per_second = last_minute as f64 / WINDOW as f64;
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_add_up_across_threads_and_seconds() {
        let t = std::sync::Arc::new(Traffic::new());
        let start = t.started;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let t = t.clone();
                std::thread::spawn(move || {
                    for i in 0..100u64 {
                        t.read(10);
                        t.wrote(100);
                        let status = if i % 10 == 0 { 404 } else { 200 };
                        t.response(status, start + Duration::from_secs(i % 3));
                    }
                })
            })
            .collect();
        for th in threads {
            th.join().unwrap();
        }
        let s = t.snapshot();
        assert_eq!((s.bytes_in, s.bytes_out), (4_000, 40_000));
        assert_eq!(s.responses, [0, 360, 0, 40, 0]);
    }
}
