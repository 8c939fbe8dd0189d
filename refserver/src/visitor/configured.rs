//! The store the configuration names: `[visitor_sessions] store = "memory"` (the default)
//! or `"redis://..."`, behind one type so an embedding program need not know which.

use super::redis_pool::{RedisPool, StoreHealthSnapshot};
use super::redis_store::RedisVisitorStore;
use super::store::{MemoryVisitorStore, VisitorStore};
use crate::config::{Config, ConfigError, VisitorSessionsConfig};
use crate::handler::BoxError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use session_core::visitor::SessionId;

/// Where handlers' sessions live under `key_prefix` in Redis.
const SESSIONS: &str = "session:";

/// The visitor store a [`Config`]'s `[visitor_sessions]` table chooses: in this process,
/// or in Redis, shared by every instance configured with the same URL and key prefix.
///
/// ```
/// use refserver::visitor::{ConfiguredStore, VisitorLayer};
/// use refserver::Config;
///
/// let config = Config::parse(r#"
///     [visitor_sessions]
///     store = "redis://127.0.0.1:6379/0"
///     idle_timeout_ms = 900000
///
///     [[route]]
///     prefix = "/"
///     respond = {}
/// "#)?;
/// // No connection yet: it is made on first use, so a server starts while Redis is down.
/// let store = ConfiguredStore::<u64>::from_config(&config)?;
/// let layer = VisitorLayer::with_store(store);
/// # let _ = layer;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ConfiguredStore<T> {
    choice: Choice<T>,
}

#[derive(Debug)]
enum Choice<T> {
    Memory(MemoryVisitorStore<T>),
    Redis(RedisVisitorStore<T>),
}

impl<T> ConfiguredStore<T> {
    /// The store `config` names, with its timeouts. Handlers' sessions are kept under
    /// `key_prefix` + `session:` in Redis.
    ///
    /// # Errors
    /// The `[visitor_sessions]` table is invalid (a URL that does not parse, a zero
    /// timeout), or the Redis pool's thread cannot start.
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let c = &config.visitor_sessions;
        c.validate()?;
        Self::in_namespace(c, SESSIONS)
    }

    /// The store `c` names, its Redis keys under `key_prefix` + `namespace`.
    pub(crate) fn in_namespace(
        c: &VisitorSessionsConfig,
        namespace: &str,
    ) -> Result<Self, ConfigError> {
        let limits = c.store_limits();
        let choice = if c.is_redis() {
            let pool = RedisPool::shared(c)
                .map_err(|e| ConfigError::new(format!("visitor_sessions: {e}")))?;
            Choice::Redis(RedisVisitorStore::new(
                pool,
                format!("{}{namespace}", c.key_prefix),
                &limits,
            ))
        } else {
            Choice::Memory(MemoryVisitorStore::new(limits))
        };
        Ok(Self { choice })
    }

    /// The store's health for the status page.
    pub(crate) fn health(&self) -> StoreHealthSnapshot {
        match &self.choice {
            Choice::Memory(memory) => StoreHealthSnapshot {
                store: "memory".to_owned(),
                up: true,
                connections: 0,
                sessions: Some(memory.len() as u64),
                calls: 0,
                errors: 0,
                timeouts: 0,
                latency_p50_us: 0,
                latency_p99_us: 0,
                ping_us: 0,
                last_error: None,
            },
            Choice::Redis(redis) => redis.pool().snapshot(),
        }
    }
}

impl<T> VisitorStore<T> for ConfiguredStore<T>
where
    T: Serialize + DeserializeOwned + Clone + Send + Sync + 'static,
{
    async fn load(&self, id: &SessionId) -> Result<Option<T>, BoxError> {
        match &self.choice {
            Choice::Memory(m) => m.load(id).await,
            Choice::Redis(r) => r.load(id).await,
        }
    }

    async fn create(&self, value: T) -> Result<SessionId, BoxError> {
        match &self.choice {
            Choice::Memory(m) => m.create(value).await,
            Choice::Redis(r) => r.create(value).await,
        }
    }

    async fn save(&self, id: &SessionId, value: T) -> Result<bool, BoxError> {
        match &self.choice {
            Choice::Memory(m) => m.save(id, value).await,
            Choice::Redis(r) => r.save(id, value).await,
        }
    }

    async fn rotate(&self, id: &SessionId) -> Result<Option<SessionId>, BoxError> {
        match &self.choice {
            Choice::Memory(m) => m.rotate(id).await,
            Choice::Redis(r) => r.rotate(id).await,
        }
    }

    async fn remove(&self, id: &SessionId) -> Result<(), BoxError> {
        match &self.choice {
            Choice::Memory(m) => m.remove(id).await,
            Choice::Redis(r) => r.remove(id).await,
        }
    }
}
