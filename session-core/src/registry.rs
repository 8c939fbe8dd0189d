//! The process-wide view of sessions: counts by phase, admission control, the drain signal.

use crate::phase::Phase;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// What happens to a connection that arrives when `max_sessions` are open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverloadPolicy {
    /// Write [`OVERLOAD_RESPONSE`] (503 with `Retry-After`) and close.
    #[default]
    Reject503,
    /// Close at once without a word (cheapest under attack).
    Close,
}

/// The bytes to write to a connection rejected under [`OverloadPolicy::Reject503`].
pub const OVERLOAD_RESPONSE: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 20\r\nretry-after: 1\r\nconnection: close\r\n\r\nserver at capacity.\n";

/// Registry settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Most sessions open at once.
    pub max_sessions: usize,
    /// What to do with the next one.
    pub overload: OverloadPolicy,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            max_sessions: 10_000,
            overload: OverloadPolicy::Reject503,
        }
    }
}

/// Counts every session of the process by phase, admits or rejects new ones, and carries
/// the drain signal. Cheap to clone (an `Arc`); counters are atomics, so any thread may
/// read a [`Snapshot`] while sessions update it.
///
/// ```
/// use session_core::{Admission, Registry, RegistryConfig};
/// let registry = Registry::new(RegistryConfig { max_sessions: 1, ..Default::default() });
/// let Admission::Accepted(ticket) = registry.admit() else { panic!() };
/// assert!(matches!(registry.admit(), Admission::Rejected(_)));
/// drop(ticket);
/// assert_eq!(registry.snapshot().active, 0);
/// ```
#[derive(Debug, Clone)]
pub struct Registry {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    config: RegistryConfig,
    active: AtomicUsize,
    by_phase: [AtomicUsize; Phase::COUNT],
    accepted: AtomicU64,
    handled: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
    draining: AtomicBool,
}

/// The outcome of [`Registry::admit`].
#[derive(Debug)]
pub enum Admission {
    /// Admitted: hand the ticket to [`Session::new`](crate::Session::new).
    Accepted(Ticket),
    /// At capacity (or draining): apply the policy.
    Rejected(OverloadPolicy),
}

/// A session's place in the registry. Dropping it removes the session from the counts.
#[derive(Debug)]
pub struct Ticket {
    registry: Registry,
    phase: Phase,
}

/// Counts at one moment, for a status page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Sessions open now.
    pub active: usize,
    /// Sessions open now, by phase.
    pub by_phase: Vec<(Phase, usize)>,
    /// Connections admitted since start.
    pub accepted: u64,
    /// Sessions that have ended since start.
    pub handled: u64,
    /// Connections rejected by admission control.
    pub rejected: u64,
    /// Requests dispatched since start.
    pub requests: u64,
    /// Whether a drain has begun.
    pub draining: bool,
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new(config: RegistryConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                ..Inner::default()
            }),
        }
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> RegistryConfig {
        self.inner.config
    }

    /// Admits a new session unless `max_sessions` are open or a drain has begun.
    #[must_use]
    pub fn admit(&self) -> Admission {
        let inner = &self.inner;
        if inner.draining.load(Relaxed) {
            inner.rejected.fetch_add(1, Relaxed);
            return Admission::Rejected(OverloadPolicy::Close);
        }
        let admitted = inner
            .active
            .fetch_update(Relaxed, Relaxed, |n| {
                (n < inner.config.max_sessions).then_some(n + 1)
            })
            .is_ok();
        if !admitted {
            inner.rejected.fetch_add(1, Relaxed);
            return Admission::Rejected(inner.config.overload);
        }
        inner.accepted.fetch_add(1, Relaxed);
        inner.by_phase[Phase::ReadingHead.index()].fetch_add(1, Relaxed);
        Admission::Accepted(Ticket {
            registry: self.clone(),
            phase: Phase::ReadingHead,
        })
    }

    /// Begins a graceful drain: no new sessions are admitted, and each session, on its next
    /// poll, closes if idle or finishes its response in flight with `Connection: close`.
    pub fn start_drain(&self) {
        self.inner.draining.store(true, Relaxed);
    }

    /// Whether a drain has begun.
    #[must_use]
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Relaxed)
    }

    /// Sessions open now.
    #[must_use]
    pub fn active(&self) -> usize {
        self.inner.active.load(Relaxed)
    }

    /// The counts now.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot {
        let inner = &self.inner;
        Snapshot {
            active: inner.active.load(Relaxed),
            by_phase: Phase::ALL
                .iter()
                .map(|&p| (p, inner.by_phase[p.index()].load(Relaxed)))
                .collect(),
            accepted: inner.accepted.load(Relaxed),
            handled: inner.handled.load(Relaxed),
            rejected: inner.rejected.load(Relaxed),
            requests: inner.requests.load(Relaxed),
            draining: inner.draining.load(Relaxed),
        }
    }
}

impl Ticket {
    /// A ticket from a registry that admits everything, for tests and single sessions.
    #[must_use]
    pub fn detached() -> Self {
        let registry = Registry::new(RegistryConfig {
            max_sessions: usize::MAX,
            overload: OverloadPolicy::Close,
        });
        match registry.admit() {
            Admission::Accepted(ticket) => ticket,
            Admission::Rejected(_) => Self {
                registry,
                phase: Phase::ReadingHead,
            },
        }
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    pub(crate) fn set_phase(&mut self, phase: Phase) {
        if phase != self.phase {
            let counts = &self.registry.inner.by_phase;
            counts[self.phase.index()].fetch_sub(1, Relaxed);
            counts[phase.index()].fetch_add(1, Relaxed);
            self.phase = phase;
        }
    }

    pub(crate) fn count_request(&self) {
        self.registry.inner.requests.fetch_add(1, Relaxed);
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let inner = &self.registry.inner;
        inner.by_phase[self.phase.index()].fetch_sub(1, Relaxed);
        inner.active.fetch_sub(1, Relaxed);
        inner.handled.fetch_add(1, Relaxed);
    }
}
