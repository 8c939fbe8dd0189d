//! Sticky visitors: a cookie keeps a visitor on the upstream that served it, while that
//! upstream is up, with session-core's visitor sessions (ids from the OS generator, the
//! `Set-Cookie` rules, a store with idle and absolute timeouts). The store maps an id to
//! the upstream's name, so it survives reloads; it is in memory today, and the store trait
//! is what a shared one (Redis, for several instances) plugs into.

use http_proto::RequestHead;
use session_core::visitor::{CookieHeader, MemoryStore, SessionId, SetCookie, Store, StoreLimits};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Which upstream each visitor is kept on.
#[derive(Debug)]
pub(crate) struct Sticky {
    store: Mutex<MemoryStore<String>>,
}

impl Default for Sticky {
    fn default() -> Self {
        Self {
            store: Mutex::new(MemoryStore::new(StoreLimits::default())),
        }
    }
}

/// A visitor's id as the request presented it, and the upstream it is kept on.
#[derive(Debug)]
pub(crate) struct Visitor {
    pub(crate) id: SessionId,
    pub(crate) upstream: String,
}

impl Sticky {
    /// The live visitor session the request's `cookie` names, if any.
    pub(crate) fn lookup(&self, head: &RequestHead, cookie: &str) -> Option<Visitor> {
        let presented = head
            .headers()
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(b"cookie"))
            .find_map(|(_, value)| CookieHeader::parse(value).get(cookie))?;
        let id = SessionId::parse(presented).ok()?;
        let now = Instant::now();
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if store.poll_timeout().is_some_and(|t| t <= now) {
            store.purge_expired(now);
        }
        let upstream = store.touch(&id, now)?.clone();
        Some(Visitor { id, upstream })
    }

    /// Keeps the visitor on `upstream` from now on. Returns the `Set-Cookie` value when
    /// the visitor had no live session (a new id), `None` when its id stays.
    pub(crate) fn keep(
        &self,
        visitor: Option<&Visitor>,
        upstream: &str,
        cookie: &str,
    ) -> Option<String> {
        let now = Instant::now();
        let mut store = self.store.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(v) = visitor
            && let Some(kept) = store.touch(&v.id, now)
        {
            upstream.clone_into(kept);
            return None;
        }
        let id = match store.insert(upstream.to_owned(), now) {
            Ok(id) => id,
            Err(e) => {
                tracing::warn!("fastcgi sticky: visitor not kept: {e}");
                return None;
            }
        };
        // Not `Secure` while listeners are plain HTTP: a browser would not send it back.
        let set = SetCookie::new(cookie, id.encode().as_str())
            .secure(false)
            .encode();
        match set {
            Ok(value) => Some(value),
            Err(e) => {
                tracing::warn!("fastcgi sticky: cookie `{cookie}`: {e}");
                None
            }
        }
    }
}
