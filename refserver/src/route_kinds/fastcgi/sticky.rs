//! Sticky visitors: a cookie keeps a visitor on the upstream that served it, while that
//! upstream is up, with session-core's visitor sessions (ids from the OS generator, the
//! `Set-Cookie` rules, idle and absolute timeouts). The store maps an id to the upstream's
//! name (its address as configured), so it survives reloads; it is the store
//! `[visitor_sessions]` names, so with Redis every instance configured with the same
//! upstreams sends a visitor to the same one.
//!
//! The choice is made before connecting (one store call: a load, or a write when the
//! visitor is new or moves); if the chosen upstream then fails and another takes the
//! request, the store is corrected in the background. A store that fails or is slow
//! past its timeout makes the request non-sticky (least busy upstream, no cookie, a
//! rate-limited log line), never a 503: stickiness is a preference, as it is for nginx's
//! `sticky` when the kept upstream is down.

use crate::config::{ConfigError, VisitorSessionsConfig};
use crate::log_limit::LogBudget;
use crate::visitor::{ConfiguredStore, StoreHealthSnapshot, VisitorStore};
use http_proto::RequestHead;
use session_core::visitor::{CookieHeader, SessionId, SetCookie};

/// Where sticky visitors live under `key_prefix` in Redis.
const NAMESPACE: &str = "sticky:";

/// Store failures logged for sticky routes.
static FAILURES: LogBudget = LogBudget::new("sticky upstreams");

/// Which upstream each visitor is kept on.
#[derive(Debug)]
pub(crate) struct Sticky {
    store: ConfiguredStore<String>,
}

/// What the store says about one request's visitor, and what to tell the client.
#[derive(Debug, Default)]
pub(crate) struct StickyChoice {
    /// The visitor's session, once known or made.
    pub(crate) id: Option<SessionId>,
    /// The upstream the store keeps the visitor on now.
    pub(crate) upstream: Option<String>,
    /// The `Set-Cookie` value for a visitor given a new id.
    pub(crate) set_cookie: Option<String>,
}

impl Sticky {
    /// Visitors kept in the store `c` names.
    pub(crate) fn new(c: &VisitorSessionsConfig) -> Result<Self, ConfigError> {
        Ok(Self {
            store: ConfiguredStore::in_namespace(c, NAMESPACE)?,
        })
    }

    /// The store's health, for the status page.
    pub(crate) fn health(&self) -> StoreHealthSnapshot {
        self.store.health()
    }

    /// The well-formed id the request's `cookie` presents, if any.
    pub(crate) fn presented(head: &RequestHead, cookie: &str) -> Option<SessionId> {
        let presented = head
            .headers()
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(b"cookie"))
            .find_map(|(_, value)| CookieHeader::parse(value).get(cookie))?;
        SessionId::parse(presented).ok()
    }

    /// Chooses the upstream for a visitor and records it: the one the visitor is kept on
    /// when it is among `candidates` and up, else the first candidate (least busy first);
    /// a visitor without a live session gets one, and its cookie. `candidates` are the
    /// upstreams' names with whether each is down.
    pub(crate) async fn choose(
        &self,
        presented: Option<SessionId>,
        candidates: &[(String, bool)],
        cookie: &str,
    ) -> StickyChoice {
        let known = match presented {
            Some(id) => match self.store.load(&id).await {
                Ok(found) => found.map(|upstream| (id, upstream)),
                Err(e) => return failed(&e),
            },
            None => None,
        };
        let kept = known.as_ref().filter(|(_, upstream)| {
            candidates
                .iter()
                .any(|(name, down)| name == upstream && !down)
        });
        if let Some((id, upstream)) = kept {
            return StickyChoice {
                id: Some(*id),
                upstream: Some(upstream.clone()),
                set_cookie: None,
            };
        }
        let Some((target, _)) = candidates
            .iter()
            .find(|(_, down)| !down)
            .or(candidates.first())
        else {
            return StickyChoice::default();
        };
        if let Some((id, _)) = known {
            // Its upstream is down or gone: kept on the new one, same id.
            return match self.store.save(&id, target.clone()).await {
                Ok(true) => StickyChoice {
                    id: Some(id),
                    upstream: Some(target.clone()),
                    set_cookie: None,
                },
                Ok(false) => self.start(target, cookie).await,
                Err(e) => failed(&e),
            };
        }
        self.start(target, cookie).await
    }

    /// A new sticky session on `upstream`, and its cookie.
    async fn start(&self, upstream: &str, cookie: &str) -> StickyChoice {
        let id = match self.store.create(upstream.to_owned()).await {
            Ok(id) => id,
            Err(e) => return failed(&e),
        };
        // Not `Secure` while listeners are plain HTTP: a browser would not send it back.
        let set = SetCookie::new(cookie, id.encode().as_str())
            .secure(false)
            .encode();
        match set {
            Ok(value) => StickyChoice {
                id: Some(id),
                upstream: Some(upstream.to_owned()),
                set_cookie: Some(value),
            },
            Err(e) => {
                tracing::warn!("fastcgi sticky: cookie `{cookie}`: {e}");
                StickyChoice::default()
            }
        }
    }

    /// The chosen upstream failed and `upstream` took the request: the visitor is kept
    /// there from now on.
    pub(crate) async fn moved(&self, id: SessionId, upstream: String) {
        if let Err(e) = self.store.save(&id, upstream).await {
            failed(&e);
        }
    }
}

fn failed(e: &crate::handler::BoxError) -> StickyChoice {
    if FAILURES.allow() {
        tracing::warn!("fastcgi sticky: {e}; serving this request without stickiness");
    }
    StickyChoice::default()
}
