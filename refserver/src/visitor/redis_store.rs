//! Visitor sessions in Redis, shared by every refserver instance that names the same
//! server: a visitor who logs in on one is logged in on all.
//!
//! One session is one hash, `PREFIX + 32 hex digits of the id`:
//!
//! | field | holds |
//! |---|---|
//! | `d` | the session's value, as JSON |
//! | `a` | the absolute deadline, in ms since the epoch by Redis's clock |
//!
//! Expiry is Redis's: the key's TTL is the idle timeout, set again by every load and save,
//! and never past the absolute deadline (the TTL is the smaller of the two), so an
//! abandoned session disappears from Redis by itself. Every operation is one Lua script,
//! atomic on the server, reading the time from Redis (`TIME`) so instances with skewed
//! clocks agree. Rotation is `RENAME` inside a script: there is no instant at which both
//! ids, or neither, name the session.
//!
//! The scripts touch two keys at most (rotation), so Redis Cluster would need both in one
//! slot; this store targets one Redis server (or a primary with replicas), as
//! tower-sessions' Redis store does.

use super::redis_pool::RedisPool;
use super::store::VisitorStore;
use crate::handler::BoxError;
use redis::Script;
use serde::Serialize;
use serde::de::DeserializeOwned;
use session_core::visitor::{MAX_TIMEOUT, SessionId, StoreLimits};
use std::future::Future;
use std::marker::PhantomData;
use std::sync::{Arc, LazyLock};

/// Ids drawn before deciding the generator is broken (a collision with 128 random bits
/// means it is not random), as session-core's memory store does.
const ID_ATTEMPTS: usize = 4;

/// Redis's time in ms, in every script.
const NOW: &str = "local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n";

/// The time KEYS[1] has left before its absolute deadline, as `left`; a session past it
/// is deleted and the script answers 0.
const LEFT: &str = "local a = redis.call('HGET', KEYS[1], 'a')
        if not a then return 0 end
        local left = tonumber(a) - now
        if left <= 0 then redis.call('DEL', KEYS[1]) return 0 end\n";

/// KEYS[1] the session; ARGV[1] idle ms. The value, the TTL set again; nil when dead.
static LOAD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}
        local r = redis.call('HMGET', KEYS[1], 'd', 'a')
        if not r[1] or not r[2] then return false end
        local left = tonumber(r[2]) - now
        if left <= 0 then redis.call('DEL', KEYS[1]) return false end
        redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.min(tonumber(ARGV[1]), left)))
        return r[1]"
    ))
});

/// KEYS[1] the new session; ARGV idle ms, absolute ms, value. 1, or 0 if the id is taken.
static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}
        if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        local absolute = tonumber(ARGV[2])
        redis.call('HSET', KEYS[1], 'd', ARGV[3], 'a', string.format('%.0f', now + absolute))
        redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.min(tonumber(ARGV[1]), absolute)))
        return 1"
    ))
});

/// KEYS[1] the session; ARGV idle ms, value. 1, or 0 when it is no longer live.
static SAVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{LEFT}
        redis.call('HSET', KEYS[1], 'd', ARGV[2])
        redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.min(tonumber(ARGV[1]), left)))
        return 1"
    ))
});

/// KEYS[1] the old id, KEYS[2] the new; ARGV[1] idle ms. 1 moved, 0 when the old one is
/// not live, -1 when the new id is taken (nothing changed).
static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(&format!(
        "{NOW}{LEFT}
        if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
        redis.call('RENAME', KEYS[1], KEYS[2])
        redis.call('PEXPIRE', KEYS[2], string.format('%.0f', math.min(tonumber(ARGV[1]), left)))
        return 1"
    ))
});

/// Visitor sessions holding a `T` each in Redis (as JSON); see the module docs. Built from
/// the configuration's `[visitor_sessions]` through
/// [`ConfiguredStore::from_config`](super::ConfiguredStore::from_config); every call is
/// bounded by `timeout_ms`, and a failure is an error the layer answers with 503.
pub(crate) struct RedisVisitorStore<T> {
    pool: Arc<RedisPool>,
    prefix: String,
    idle_ms: u64,
    absolute_ms: u64,
    _value: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RedisVisitorStore<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisVisitorStore")
            .field("pool", &self.pool)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.min(MAX_TIMEOUT).as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

impl<T> RedisVisitorStore<T> {
    /// Sessions under `prefix` in `pool`, with the limits' idle and absolute timeouts
    /// (capacity is Redis's own `maxmemory` business).
    pub(crate) fn new(pool: Arc<RedisPool>, prefix: String, limits: &StoreLimits) -> Self {
        Self {
            pool,
            prefix,
            idle_ms: ms(limits.idle_timeout),
            absolute_ms: ms(limits.absolute_timeout),
            _value: PhantomData,
        }
    }

    /// The pool, for the status page.
    pub(crate) fn pool(&self) -> &Arc<RedisPool> {
        &self.pool
    }

    fn key(&self, id: &SessionId) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 32);
        key.push_str(&self.prefix);
        key.push_str(id.encode().as_str());
        key
    }
}

impl<T> VisitorStore<T> for RedisVisitorStore<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn load(&self, id: &SessionId) -> impl Future<Output = Result<Option<T>, BoxError>> + Send {
        let key = self.key(id);
        let idle = self.idle_ms;
        async move {
            let data: Option<String> = self
                .pool
                .call("load", move |mut conn| async move {
                    LOAD.key(key).arg(idle).invoke_async(&mut conn).await
                })
                .await?;
            match data {
                None => Ok(None),
                // A value this build cannot read (another type under the same prefix, an
                // older layout) is a fault to report, not a session to hand over.
                Some(json) => Ok(Some(serde_json::from_str(&json).map_err(|e| {
                    format!("visitor store: a session's value does not decode: {e}")
                })?)),
            }
        }
    }

    fn create(&self, value: T) -> impl Future<Output = Result<SessionId, BoxError>> + Send {
        let json = serde_json::to_string(&value);
        let (idle, absolute) = (self.idle_ms, self.absolute_ms);
        async move {
            let json = json?;
            for _ in 0..ID_ATTEMPTS {
                let id = SessionId::generate()?;
                let key = self.key(&id);
                let json = json.clone();
                let created: i64 = self
                    .pool
                    .call("create", move |mut conn| async move {
                        CREATE
                            .key(key)
                            .arg(idle)
                            .arg(absolute)
                            .arg(json)
                            .invoke_async(&mut conn)
                            .await
                    })
                    .await?;
                if created == 1 {
                    return Ok(id);
                }
            }
            Err(session_core::visitor::Error::RandomUnavailable.into())
        }
    }

    fn save(
        &self,
        id: &SessionId,
        value: T,
    ) -> impl Future<Output = Result<bool, BoxError>> + Send {
        let json = serde_json::to_string(&value);
        let key = self.key(id);
        let idle = self.idle_ms;
        async move {
            let json = json?;
            let saved: i64 = self
                .pool
                .call("save", move |mut conn| async move {
                    SAVE.key(key)
                        .arg(idle)
                        .arg(json)
                        .invoke_async(&mut conn)
                        .await
                })
                .await?;
            Ok(saved == 1)
        }
    }

    fn rotate(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<SessionId>, BoxError>> + Send {
        let old = self.key(id);
        let idle = self.idle_ms;
        async move {
            for _ in 0..ID_ATTEMPTS {
                let fresh = SessionId::generate()?;
                let (old, new) = (old.clone(), self.key(&fresh));
                let moved: i64 = self
                    .pool
                    .call("rotate", move |mut conn| async move {
                        ROTATE
                            .key(old)
                            .key(new)
                            .arg(idle)
                            .invoke_async(&mut conn)
                            .await
                    })
                    .await?;
                match moved {
                    1 => return Ok(Some(fresh)),
                    0 => return Ok(None),
                    _ => {}
                }
            }
            Err(session_core::visitor::Error::RandomUnavailable.into())
        }
    }

    fn remove(&self, id: &SessionId) -> impl Future<Output = Result<(), BoxError>> + Send {
        let key = self.key(id);
        async move {
            self.pool
                .call("remove", move |mut conn| async move {
                    redis::cmd("DEL")
                        .arg(key)
                        .query_async::<()>(&mut conn)
                        .await
                })
                .await
        }
    }
}
