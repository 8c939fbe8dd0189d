//! Visitor sessions: who a browser is across requests, for the application above HTTP.
//!
//! Not to be confused with the connection-level session of this crate's lifecycle part: a
//! *visitor* session outlives connections. It is three small pieces, each in its own file:
//!
//! - [`SessionId`] (`id.rs`): 128 bits from the OS generator, 32 lowercase hex digits in the
//!   cookie, constant-time equality, log-safe `Debug`.
//! - [`CookieHeader`] and [`SetCookie`] (`cookie.rs`): read the request's `Cookie:` header
//!   (RFC 6265 §4.2, §5.4) and write `Set-Cookie:` values that cannot inject a header.
//! - [`Store`] and [`MemoryStore`] (`store.rs`): server-side state with idle and absolute
//!   timeouts, id rotation and a capacity bound, driven by the caller's clock
//!   (`now: Instant` in, [`Store::poll_timeout`] out).
//!
//! Errors from all three are one [`Error`] enum (`error.rs`).
//!
//! ```
//! use std::time::Instant;
//! use session_core::visitor::{CookieHeader, MemoryStore, SessionId, SetCookie, Store, StoreLimits};
//!
//! let now = Instant::now();
//! let mut store = MemoryStore::new(StoreLimits::default());
//!
//! // First response: start a session and set its cookie.
//! let id = store.insert("cart: empty", now)?;
//! let set_cookie = SetCookie::new("__Host-id", id.encode().as_str()).encode()?;
//! assert!(set_cookie.ends_with("; Path=/; Secure; HttpOnly; SameSite=Lax"));
//!
//! // Next request: the browser sends it back.
//! let header = format!("__Host-id={}", id.encode().as_str());
//! let presented = CookieHeader::parse(header.as_bytes()).get("__Host-id").unwrap_or_default();
//! let presented = SessionId::parse(presented)?;
//! assert_eq!(store.touch(&presented, now), Some(&mut "cart: empty"));
//!
//! // Login: new id, same data, old id dead.
//! let renewed = store.rotate(&presented, now)?;
//! assert!(store.get(&presented, now).is_none());
//! assert!(store.get(&renewed, now).is_some());
//! # Ok::<(), session_core::visitor::Error>(())
//! ```
//!
//! # OWASP Session Management Cheat Sheet: what this module does
//!
//! - **Id entropy and length.** At least 64 bits of entropy asked; ids are 128 bits from
//!   `getrandom` (the OS CSPRNG), 32 hex characters. A generator failure is an error
//!   ([`Error::RandomUnavailable`]), never a fallback to something weaker.
//! - **Meaningless ids.** The id encodes nothing; everything the server knows lives in the
//!   [`Store`], server-side.
//! - **Strict session management.** Only the store makes ids ([`Store::insert`],
//!   [`Store::rotate`]); an id a client invents, or one that expired, names nothing, and
//!   [`SessionId::parse`] rejects any spelling but the one we write.
//! - **Cookie attributes.** [`SetCookie::new`] defaults to `Secure`, `HttpOnly`,
//!   `SameSite=Lax`, `Path=/`, no `Domain` (host-only) and no `Max-Age`/`Expires`
//!   (non-persistent). `SameSite=None` without `Secure` is refused, and the `__Host-` /
//!   `__Secure-` prefix rules are enforced.
//! - **Input validation.** Names must be tokens and values cookie-octets; CR, LF and `;`
//!   can never reach a header ([`Error::InvalidCookieValue`] and friends). Reading a
//!   `Cookie:` header skips malformed pairs and never panics (fuzzed).
//! - **Timeouts.** Idle and absolute timeouts are enforced on the server by the store
//!   ([`StoreLimits`], defaults 30 minutes and 8 hours); an expired session is never handed
//!   back even before it is purged.
//! - **Renewal on privilege change.** [`Store::rotate`] issues a new id for the same data and
//!   kills the old one; the absolute deadline carries over, so rotation cannot extend a life.
//! - **Server-side invalidation.** [`Store::remove`] ends a session at once (logout), and
//!   [`SetCookie::removal`] makes the matching deletion cookie.
//! - **Log safety.** `Debug` of an id prints six hex digits, not the credential.
//!
//! # What is the caller's job
//!
//! - **Pick a generic cookie name** (OWASP "session id name fingerprinting"): `id` or, over
//!   HTTPS, `__Host-id`; not `RSESSID` or a framework's name.
//! - **Use TLS** for every page of a site with sessions; `Secure` only keeps the browser
//!   from sending the cookie over plain HTTP, and a browser refuses `Secure` cookies
//!   from a plain-HTTP origin.
//! - **Never put the id in a URL** or accept it from one: read it only from `Cookie:`.
//! - **Call [`Store::rotate`]** on login, logout and every role change, and send the new
//!   cookie; **call [`Store::remove`]** on logout and send [`SetCookie::removal`].
//! - **Call [`Store::touch`]** once per request that presents an id, and drive
//!   [`Store::purge_expired`] from [`Store::poll_timeout`].
//! - **Renewal timeout** (rotating ids periodically even without a privilege change),
//!   binding a session to client properties, `Cache-Control: no-store` on responses that
//!   set cookies, CSRF tokens, and logging session events: not done here.
//! - **Persistence and sharing** across processes: [`MemoryStore`] lives in one process and
//!   loses everything on restart; another [`Store`] implementation would be needed.
//! - **Choosing a policy at capacity** ([`WhenFull`]) and answering the refused visitor.

mod cookie;
mod error;
mod id;
mod store;

pub use cookie::{CookieHeader, CookiePairs, SameSite, SetCookie};
pub use error::Error;
pub use id::{EncodedSessionId, SessionId};
pub use store::{MAX_TIMEOUT, MemoryStore, Store, StoreLimits, WhenFull};
