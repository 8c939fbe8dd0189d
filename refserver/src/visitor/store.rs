//! Where visitor sessions live: an async trait, so a store shared between servers (Redis,
//! a database) can be plugged in, and the in-memory store of session-core behind it.

use crate::handler::BoxError;
use session_core::visitor::{MemoryStore, SessionId, Store, StoreLimits};
use std::future::Future;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// A store of visitor sessions holding a `T` each, as [`VisitorLayer`](super::VisitorLayer)
/// uses it: one `load` per request that presents an id, and at most one write after the
/// handler answered.
///
/// Expiry (idle and absolute) is the store's: `load` of an expired id gives `None`.
/// Ids are made by the store (session_core's 128-bit [`SessionId`]s), never taken from a
/// client. Errors make the layer answer 503 and log them.
pub trait VisitorStore<T>: Send + Sync + 'static {
    /// The live session's value, counting this as activity (its idle deadline moves).
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<T>, BoxError>> + Send;

    /// Starts a session holding `value`; returns its new id.
    fn create(&self, value: T) -> impl Future<Output = Result<SessionId, BoxError>> + Send;

    /// Replaces a live session's value; `Ok(false)` if it is no longer live (it expired
    /// or was removed meanwhile).
    fn save(&self, id: &SessionId, value: T)
    -> impl Future<Output = Result<bool, BoxError>> + Send;

    /// Moves a live session to a new id and kills the old one (on every privilege change,
    /// against session fixation); the absolute deadline carries over. `Ok(None)` if it is
    /// no longer live.
    fn rotate(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<SessionId>, BoxError>> + Send;

    /// Ends a session (logout).
    fn remove(&self, id: &SessionId) -> impl Future<Output = Result<(), BoxError>> + Send;
}

/// The default store: session-core's [`MemoryStore`] in this process, on the real clock.
/// Sessions are lost on restart and not shared between processes.
#[derive(Debug)]
pub struct MemoryVisitorStore<T> {
    store: Mutex<MemoryStore<T>>,
}

impl<T> MemoryVisitorStore<T> {
    /// An empty store with these timeouts and capacity (session-core's defaults: 30 min
    /// idle, 8 h absolute, refuse when full).
    #[must_use]
    pub fn new(limits: StoreLimits) -> Self {
        Self {
            store: Mutex::new(MemoryStore::new(limits)),
        }
    }

    /// Runs `f` on the store at `now`, after purging what expired (so memory follows the
    /// live sessions without a timer task).
    fn with<R>(&self, f: impl FnOnce(&mut MemoryStore<T>, Instant) -> R) -> R {
        let now = Instant::now();
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if store.poll_timeout().is_some_and(|at| at <= now) {
            store.purge_expired(now);
        }
        f(&mut store, now)
    }

    /// Sessions held now, expired ones not yet purged included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.with(|store, _| store.len())
    }

    /// Whether no session is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<T> Default for MemoryVisitorStore<T> {
    fn default() -> Self {
        Self::new(StoreLimits::default())
    }
}

impl<T: Clone + Send + 'static> VisitorStore<T> for MemoryVisitorStore<T> {
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<T>, BoxError>> + Send {
        let value = self.with(|store, now| store.touch(id, now).map(|v| v.clone()));
        std::future::ready(Ok(value))
    }

    fn create(&self, value: T) -> impl Future<Output = Result<SessionId, BoxError>> + Send {
        let id = self.with(|store, now| store.insert(value, now));
        std::future::ready(id.map_err(Into::into))
    }

    fn save(
        &self,
        id: &SessionId,
        value: T,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send {
        let saved = self.with(|store, now| match store.touch(id, now) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        });
        std::future::ready(Ok(saved))
    }

    fn rotate(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<SessionId>, BoxError>> + Send {
        let rotated = self.with(|store, now| match store.rotate(id, now) {
            Ok(new) => Ok(Some(new)),
            Err(session_core::visitor::Error::UnknownSession) => Ok(None),
            Err(e) => Err(e.into()),
        });
        std::future::ready(rotated)
    }

    fn remove(&self, id: &SessionId) -> impl Future<Output = Result<(), BoxError>> + Send {
        self.with(|store, now| store.remove(id, now));
        std::future::ready(Ok(()))
    }
}
