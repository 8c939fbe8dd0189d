//! Visitor sessions for in-process handlers: the seed's "HTTP sessions that associate
//! information with individual visitors", on [`session_core::visitor`] (ids, cookies,
//! expiry, rotation), as tower-sessions offers them to axum.
//!
//! | job | where |
//! |---|---|
//! | the layer: cookie in, [`Visitor`] to the handler, store and cookie updated after | `layer.rs` ([`VisitorLayer`]) |
//! | the typed value a handler reads and changes | `handle.rs` ([`Visitor`]) |
//! | where sessions live: an async trait, and the in-memory default | `store.rs` ([`VisitorStore`], [`MemoryVisitorStore`]) |
//! | sessions in Redis, shared by several instances: data layout, expiry, atomic rotation | `redis_store.rs` |
//! | connections to Redis: pool, timeouts, reconnection, health | `redis_pool.rs` |
//! | the store `[visitor_sessions]` names (memory or Redis) | `configured.rs` ([`ConfiguredStore`]) |
//!
//! Mount it on the handlers that need it, with [`Builder::layer`](crate::Builder::layer)
//! for all of them or [`Builder::named_layer`](crate::Builder::named_layer) for some:
//!
//! ```
//! use refserver::handler::{Request, handler_fn};
//! use refserver::visitor::{Visitor, VisitorLayer};
//! use refserver::{Builder, Config};
//!
//! let visits = handler_fn(|request: Request| async move {
//!     let n = match Visitor::<u64>::of(&request) {
//!         Some(visitor) => {
//!             let n = visitor.get().unwrap_or(0) + 1;
//!             visitor.set(n);
//!             n
//!         }
//!         None => 0,
//!     };
//!     http::Response::new(n.to_string())
//! });
//! let config = Config::parse(r#"
//!     listen = ["127.0.0.1:0"]
//!     [[route]]
//!     prefix = "/visits"
//!     handler = { name = "visits", layers = ["sessions"] }
//! "#)?;
//! Builder::new(config)
//!     .handler("visits", visits)
//!     .named_layer("sessions", VisitorLayer::<u64>::new())
//!     .check()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod configured;
mod handle;
mod layer;
mod redis_pool;
mod redis_store;
mod store;

pub use configured::ConfiguredStore;
pub(crate) use redis_pool::{StoreHealthSnapshot, redacted_url};

pub use handle::Visitor;
pub use layer::{VisitorLayer, VisitorService};
/// session-core's types a layer or store is configured with.
pub use session_core::visitor::{SameSite, SessionId, StoreLimits, WhenFull};
pub use store::{MemoryVisitorStore, VisitorStore};
