//! Connections to one Redis server, shared by every store built from the same settings
//! (a handler layer's sessions and the sticky FastCGI upstreams of one server), with a
//! timeout on every call and the health the status page shows.
//!
//! | job | item |
//! |---|---|
//! | one pool per distinct settings, shared | [`RedisPool::shared`] |
//! | every call: a connection in turn, a timeout, counted and timed | [`RedisPool::call`] |
//! | health without traffic: a `PING` each second | `probe` |
//! | what the status page shows | [`RedisPool::snapshot`] |
//!
//! All Redis I/O runs on one small runtime of the pool's own (a thread named
//! `refserver-redis`), not on the workers': the redis crate's connection manager spawns its
//! connection and reconnection tasks on whatever runtime is current, and a worker's
//! current-thread runtime is neither the only one nor guaranteed to outlive the others.
//! A call costs one hop to that thread and back. Reconnection is the connection
//! manager's: a command that finds the connection dropped starts a new one in the
//! background, retried with exponential back-off (50 ms doubling up to
//! `reconnect_max_delay_ms`); calls meanwhile wait for it, up to their timeout.

use crate::config::VisitorSessionsConfig;
use crate::handler::BoxError;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;
use std::future::Future;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

/// How often an idle pool checks that Redis answers.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// The first pause between reconnection attempts.
const RECONNECT_MIN_DELAY: Duration = Duration::from_millis(50);
/// Attempts in one reconnection before it gives up; the next call starts another.
const RECONNECT_ATTEMPTS: usize = 8;
/// Latency histogram buckets: four per power of two, from 1 µs to about 30 s.
const BUCKETS: usize = 100;

/// What makes two pools the same: settings that change how calls go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PoolKey {
    url: String,
    pool_size: usize,
    timeout_ms: u64,
    connect_timeout_ms: u64,
    reconnect_max_delay_ms: u64,
}

impl PoolKey {
    fn of(c: &VisitorSessionsConfig) -> Self {
        Self {
            url: c.store.clone(),
            pool_size: c.pool_size,
            timeout_ms: c.timeout_ms,
            connect_timeout_ms: c.connect_timeout_ms,
            reconnect_max_delay_ms: c.reconnect_max_delay_ms,
        }
    }
}

/// Pools alive in this process, so stores built from one configuration share one.
static POOLS: Mutex<Vec<(PoolKey, Weak<RedisPool>)>> = Mutex::new(Vec::new());

/// Connections to one Redis server; see the module docs.
pub(crate) struct RedisPool {
    key: PoolKey,
    /// The pool's own runtime; its thread ends when `stop` is dropped with the pool.
    io: tokio::runtime::Handle,
    _stop: tokio::sync::oneshot::Sender<()>,
    conns: Vec<ConnectionManager>,
    next: AtomicUsize,
    timeout: Duration,
    health: Health,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPool")
            .field("url", &redacted_url(&self.key.url))
            .field("pool_size", &self.conns.len())
            .finish_non_exhaustive()
    }
}

/// A Redis URL with its password replaced by `***`, for logs and the status page.
#[must_use]
pub(crate) fn redacted_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

impl RedisPool {
    /// The pool for these settings: the one already open in this process, or a new one.
    /// Connections are made on first use, so a server starts while Redis is down (and
    /// answers 503 on session routes until it is up).
    ///
    /// # Errors
    /// The URL does not parse, or the pool's thread cannot start.
    pub(crate) fn shared(c: &VisitorSessionsConfig) -> Result<Arc<Self>, String> {
        let key = PoolKey::of(c);
        let mut pools = POOLS.lock().unwrap_or_else(PoisonError::into_inner);
        pools.retain(|(_, weak)| weak.strong_count() > 0);
        if let Some(pool) = pools
            .iter()
            .filter(|(k, _)| *k == key)
            .find_map(|(_, weak)| weak.upgrade())
        {
            return Ok(pool);
        }
        let pool = Arc::new(Self::open(key.clone())?);
        pools.push((key, Arc::downgrade(&pool)));
        let weak = Arc::downgrade(&pool);
        pool.io.spawn(probe(weak));
        Ok(pool)
    }

    fn open(key: PoolKey) -> Result<Self, String> {
        let shown = redacted_url(&key.url);
        let client = redis::Client::open(key.url.as_str()).map_err(|e| format!("{shown}: {e}"))?;
        if key.url.starts_with("rediss://") || key.url.starts_with("valkeys://") {
            // rustls needs a process-wide crypto provider; one already installed stays.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, io) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("refserver-redis".to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                match runtime {
                    Ok(runtime) => {
                        let _ = ready.send(Ok(runtime.handle().clone()));
                        // Until the pool is dropped; its tasks (connections, the probe) go
                        // with the runtime.
                        let _ = runtime.block_on(stopped);
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e.to_string()));
                    }
                }
            })
            .map_err(|e| format!("{shown}: cannot start its thread: {e}"))?;
        let io = io
            .recv()
            .map_err(|e| e.to_string())
            .and_then(|r| r)
            .map_err(|e| format!("{shown}: cannot start its runtime: {e}"))?;
        let timeout = Duration::from_millis(key.timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(key.connect_timeout_ms)))
            .set_response_timeout(Some(timeout))
            .set_min_delay(RECONNECT_MIN_DELAY)
            .set_max_delay(Duration::from_millis(key.reconnect_max_delay_ms.max(1)))
            .set_number_of_retries(RECONNECT_ATTEMPTS);
        let conns = {
            // The manager spawns its tasks on the current runtime: the pool's.
            let _context = io.enter();
            (0..key.pool_size)
                .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{shown}: {e}"))?
        };
        Ok(Self {
            key,
            io,
            _stop: stop,
            conns,
            next: AtomicUsize::new(0),
            timeout,
            health: Health::default(),
        })
    }

    /// Runs `call` on the next connection, on the pool's runtime, within the timeout:
    /// counted, timed and, when it fails, returned as an error naming the store and
    /// `what` (the operation) for the caller to log.
    pub(crate) async fn call<R, F, Fut>(&self, what: &'static str, call: F) -> Result<R, BoxError>
    where
        F: FnOnce(ConnectionManager) -> Fut + Send + 'static,
        Fut: Future<Output = redis::RedisResult<R>> + Send + 'static,
        R: Send + 'static,
    {
        let i = self.next.fetch_add(1, Relaxed) % self.conns.len();
        let conn = self.conns[i].clone();
        let timeout = self.timeout;
        let started = Instant::now();
        let task = AbortOnDrop(
            self.io
                .spawn(async move { tokio::time::timeout(timeout, call(conn)).await }),
        );
        let outcome = task.join().await;
        let took = started.elapsed();
        let failure = match outcome {
            Ok(Ok(Ok(value))) => {
                self.health.succeeded(took);
                return Ok(value);
            }
            // The connection's own response timeout (the same length) may fire first.
            Ok(Ok(Err(e))) if e.is_timeout() => Failure::TimedOut,
            Ok(Ok(Err(e))) => Failure::Redis(e.to_string()),
            Ok(Err(_elapsed)) => Failure::TimedOut,
            Err(e) => Failure::Redis(format!("its task ended: {e}")),
        };
        let message = match &failure {
            Failure::TimedOut => format!("no answer within {} ms", timeout.as_millis()),
            Failure::Redis(e) => e.clone(),
        };
        let message = format!(
            "visitor store {}: {what}: {message}",
            redacted_url(&self.key.url)
        );
        // Logged by the caller, which knows what the failure costs the request.
        self.health
            .failed(matches!(failure, Failure::TimedOut), &message);
        Err(message.into())
    }

    /// What the status page shows of the store now.
    pub(crate) fn snapshot(&self) -> StoreHealthSnapshot {
        let h = &self.health;
        StoreHealthSnapshot {
            store: redacted_url(&self.key.url),
            up: h.up.load(Relaxed),
            connections: self.conns.len(),
            sessions: None,
            calls: h.calls.load(Relaxed),
            errors: h.errors.load(Relaxed),
            timeouts: h.timeouts.load(Relaxed),
            latency_p50_us: h.latency.quantile(0.5),
            latency_p99_us: h.latency.quantile(0.99),
            ping_us: h.ping_us.load(Relaxed),
            last_error: h
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

enum Failure {
    TimedOut,
    Redis(String),
}

/// A task on the pool's runtime that ends with its caller: a request that goes away
/// (a client closing, a handler timeout) takes its Redis call with it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Pings every connection each [`PROBE_EVERY`] while the pool lives: health and latency
/// on the status page with no traffic, and a reconnection started as soon as Redis is
/// back rather than on the next visitor's request.
async fn probe(pool: Weak<RedisPool>) {
    let mut tick = tokio::time::interval(PROBE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(pool) = pool.upgrade() else {
            return;
        };
        let mut up = true;
        for conn in &pool.conns {
            let mut conn = conn.clone();
            let started = Instant::now();
            let ping = tokio::time::timeout(
                pool.timeout,
                redis::cmd("PING").query_async::<String>(&mut conn),
            )
            .await;
            match ping {
                Ok(Ok(_)) => {
                    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    pool.health.ping_us.store(us, Relaxed);
                }
                Ok(Err(e)) => {
                    up = false;
                    pool.health.note_error(&format!("PING: {e}"));
                }
                Err(_) => {
                    up = false;
                    pool.health.note_error("PING: no answer within the timeout");
                }
            }
        }
        pool.health.set_up(up, &pool.key.url);
    }
}

/// Counts, latency and the last fault of one pool.
#[derive(Debug)]
struct Health {
    up: AtomicBool,
    calls: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    ping_us: AtomicU64,
    latency: Histogram,
    last_error: Mutex<Option<String>>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            // Unknown until the first call or probe; optimistic so a fresh server does
            // not show a fault it has not seen.
            up: AtomicBool::new(true),
            calls: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            ping_us: AtomicU64::new(0),
            latency: Histogram::default(),
            last_error: Mutex::new(None),
        }
    }
}

impl Health {
    fn succeeded(&self, took: Duration) {
        self.calls.fetch_add(1, Relaxed);
        self.latency.record(took);
    }

    fn failed(&self, timed_out: bool, message: &str) {
        self.calls.fetch_add(1, Relaxed);
        self.errors.fetch_add(1, Relaxed);
        if timed_out {
            self.timeouts.fetch_add(1, Relaxed);
        }
        self.note_error(message);
    }

    fn note_error(&self, message: &str) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(message.to_owned());
    }

    /// Records the probe's verdict; a change is logged once.
    fn set_up(&self, up: bool, url: &str) {
        if self.up.swap(up, Relaxed) != up {
            let url = redacted_url(url);
            if up {
                tracing::info!("visitor store {url}: answering again");
            } else {
                tracing::warn!("visitor store {url}: not answering; session routes answer 503");
            }
        }
    }
}

/// Call latencies since start, in buckets four to a power of two (a quantile is read as
/// its bucket's upper bound: within 19 %).
#[derive(Debug)]
struct Histogram {
    counts: [AtomicU64; BUCKETS],
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl Histogram {
    fn bucket(us: u64) -> usize {
        if us <= 1 {
            return 0;
        }
        #[allow(clippy::cast_precision_loss)]
        let quarter_powers = ((us as f64).log2() * 4.0).ceil();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let i = quarter_powers as usize;
        i.min(BUCKETS - 1)
    }

    fn upper_bound_us(i: usize) -> u64 {
        #[allow(clippy::cast_precision_loss)]
        let bound = 2f64.powf(i as f64 / 4.0).round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let bound = bound as u64;
        bound
    }

    fn record(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.counts[Self::bucket(us)].fetch_add(1, Relaxed);
    }

    /// The latency `q` (0..=1) of calls fall under, in µs; 0 before any call.
    fn quantile(&self, q: f64) -> u64 {
        let counts: Vec<u64> = self.counts.iter().map(|c| c.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return 0;
        }
        #[allow(clippy::cast_precision_loss)]
        let wanted = (q * total as f64).ceil();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let wanted = (wanted as u64).max(1);
        let mut seen = 0;
        for (i, n) in counts.iter().enumerate() {
            seen += n;
            if seen >= wanted {
                return Self::upper_bound_us(i);
            }
        }
        Self::upper_bound_us(BUCKETS - 1)
    }
}

/// The visitor store's health, as the status page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StoreHealthSnapshot {
    /// `memory`, or the Redis URL without its password.
    pub(crate) store: String,
    /// The last probe (or, before one, the start) found it answering.
    pub(crate) up: bool,
    /// Connections in the pool.
    pub(crate) connections: usize,
    /// Sessions held, for the memory store (Redis's are counted by Redis).
    pub(crate) sessions: Option<u64>,
    /// Calls made for requests.
    pub(crate) calls: u64,
    /// Calls that failed (timeouts included).
    pub(crate) errors: u64,
    /// Calls past `timeout_ms`.
    pub(crate) timeouts: u64,
    /// Median and 99th percentile of a call, seen from the request, in µs.
    pub(crate) latency_p50_us: u64,
    pub(crate) latency_p99_us: u64,
    /// The last probe's round trip, in µs.
    pub(crate) ping_us: u64,
    /// The last fault seen.
    pub(crate) last_error: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_log() {
        assert_eq!(
            redacted_url("redis://user:s3cret@host:6379/0"),
            "redis://user:***@host:6379/0"
        );
        assert_eq!(
            redacted_url("rediss://:s3cret@host/1"),
            "rediss://:***@host/1"
        );
        assert_eq!(
            redacted_url("redis://127.0.0.1:6379/0"),
            "redis://127.0.0.1:6379/0"
        );
        assert_eq!(redacted_url("memory"), "memory");
    }

    #[test]
    fn quantiles_fall_in_their_bucket() {
        let h = Histogram::default();
        assert_eq!(h.quantile(0.5), 0);
        for _ in 0..98 {
            h.record(Duration::from_micros(100));
        }
        h.record(Duration::from_millis(10));
        h.record(Duration::from_millis(10));
        let p50 = h.quantile(0.5);
        assert!((100..=120).contains(&p50), "{p50}");
        let p99 = h.quantile(0.99);
        assert!((10_000..=12_000).contains(&p99), "{p99}");
    }
}
