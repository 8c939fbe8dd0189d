//! refserver: a tokio web server on Sans-IO protocol crates, as a library and a thin binary.
//!
//! A web server runs application code three ways: CGI (a process per request), FastCGI
//! (persistent external processes) and a server API such as ISAPI or NSAPI (code loaded
//! into the server). refserver does all three through one streaming seam; this crate's
//! API is the third way for Rust: **in-process handlers** that are plain
//! [`tower::Service`]s over [`http`] types, so an axum `Router` mounts as it is, with the
//! server API's classic weakness fixed: a handler that panics answers 500 for that request
//! only, one past its route's `timeout_ms` is dropped and answered 504, and a client that
//! goes away cancels its handler.
//!
//! ```
//! use refserver::handler::{Request, handler_fn};
//! use refserver::{Builder, Config};
//! use std::io::{Read, Write};
//!
//! let config = Config::parse(r#"
//!     listen = ["127.0.0.1:0"]
//!     workers = 1
//!     access_log = "off"
//!
//!     [[route]]
//!     prefix = "/hello"
//!     handler = { name = "hello", timeout_ms = 5000 }
//! "#)?;
//! let hello = handler_fn(|_request: Request| async {
//!     http::Response::new(String::from("Hello from an in-process handler"))
//! });
//! let running = Builder::new(config).handler("hello", hello).start()?;
//!
//! let addr = running.local_addr().expect("a TCP listener");
//! let mut client = std::net::TcpStream::connect(addr)?;
//! client.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
//! let mut answer = String::new();
//! client.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"));
//! assert!(answer.ends_with("\r\n\r\nHello from an in-process handler"));
//!
//! running.shutdown(); // drains, stops the workers, returns
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What is where
//!
//! | job | item |
//! |---|---|
//! | the configuration (the binary's TOML format) | [`Config`]: [`parse`](Config::parse), [`load`](Config::load), [`demo_site`](Config::demo_site), setters |
//! | registering handlers and filters, starting | [`Builder`]: [`handler`](Builder::handler), [`layer`](Builder::layer), [`named_layer`](Builder::named_layer), [`signals`](Builder::signals), [`start`](Builder::start) |
//! | a running server: its addresses, shutdown, reload | [`Running`], [`Handle`] |
//! | what a handler receives and answers; the `async fn` adapter | [`handler`]: [`Body`](handler::Body), [`handler_fn`](handler::handler_fn) |
//! | visitor sessions for handlers (cookies, expiry, rotation) | [`visitor`]: [`VisitorLayer`](visitor::VisitorLayer), [`Visitor`](visitor::Visitor) |
//!
//! Everything the binary does works embedded: static files, CGI, the status page (which
//! counts requests, errors, panics and timeouts per handler), the access log, limits,
//! reload, graceful drain, and signals when asked ([`Builder::signals`]).
//!
//! # Handlers
//!
//! A `handler = { name = "app" }` route answers with the service registered as `app`.
//! The service gets an `http::Request<`[`handler::Body`]`>`: the request body streams
//! from the session as the handler polls it, with session-core's back-pressure and limits
//! (at most 64 KiB wait in memory; the body is not read, and no `100 Continue` sent,
//! until the handler asks for it). The response body streams to the client as the
//! client reads it (polled only while the output is below `limits.write_watermark`).
//! Nothing is buffered whole. A [`handler::ConnectionInfo`] in the request's extensions
//! gives the client's and the server's addresses.
//!
//! Handlers run inside the session task, on the worker's runtime: they may `.await`
//! anything and `tokio::spawn`, but must not block the thread (use
//! `tokio::task::spawn_blocking`). Crash isolation relies on unwinding: an embedding
//! program built with `panic = "abort"` loses it.
//!
//! # Filters
//!
//! What ISAPI filters and NSAPI SAFs did is a `tower::Layer` here, applied to every
//! handler route ([`Builder::layer`]) or to the routes that name it
//! (`handler = { name = "app", layers = ["auth"] }` with [`Builder::named_layer`]):
//!
//! ```
//! use http_body_util::{BodyExt, Full};
//! use refserver::handler::{BoxError, HandlerService, Request, ResponseBody, handler_fn};
//! use refserver::{Builder, Config};
//! use tower::ServiceExt;
//! use tower::util::BoxCloneSyncService;
//!
//! /// Refuses requests without the right token, before the handler runs.
//! #[derive(Clone)]
//! struct Auth;
//!
//! impl tower::Layer<HandlerService> for Auth {
//!     type Service = BoxCloneSyncService<Request, http::Response<ResponseBody>, BoxError>;
//!     fn layer(&self, inner: HandlerService) -> Self::Service {
//!         let service = tower::service_fn(move |request: Request| {
//!             let inner = inner.clone();
//!             async move {
//!                 if request.headers().get("authorization").is_some_and(|v| v == "Bearer s3cret") {
//!                     inner.oneshot(request).await
//!                 } else {
//!                     let denied = Full::from("denied").map_err(|never| match never {});
//!                     Ok(http::Response::builder().status(401).body(denied.boxed_unsync())?)
//!                 }
//!             }
//!         });
//!         BoxCloneSyncService::new(service)
//!     }
//! }
//!
//! let config = Config::parse(r#"
//!     listen = ["127.0.0.1:0"]
//!     [[route]]
//!     prefix = "/admin"
//!     handler = { name = "admin", layers = ["auth"] }
//! "#)?;
//! let admin = handler_fn(|_r: Request| async { http::Response::new(String::from("secret")) });
//! Builder::new(config)
//!     .handler("admin", admin)
//!     .named_layer("auth", Auth)
//!     .check()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Inside
//!
//! | job | file |
//! |---|---|
//! | start-up, shared state, reload, drain | `server.rs` (the embedding API over it: `embed.rs`) |
//! | accept loops, the session task, routing | `accept.rs`, `session_task.rs`, `dispatch.rs`, `router.rs` |
//! | the seam every route kind answers through | `exchange.rs`, `response.rs` |
//! | route kinds, one file or folder each | `route_kinds/` (handlers: `route_kinds/handler/`) |
//! | visitor sessions | `visitor/` |
//! | configuration, access log, listeners, signals | `config.rs`, `access_log.rs`, `listener.rs`, `shutdown.rs` |

mod accept;
mod access_log;
mod access_rules;
mod config;
mod dispatch;
mod embed;
mod exchange;
mod listener;
mod log_limit;
mod response;
mod route_kinds;
mod router;
mod server;
mod session_task;
mod shutdown;
#[cfg(test)]
mod target_agreement;
mod tls;
mod traffic;
mod transport;
pub mod visitor;

pub use config::{Config, ConfigError, RuntimeLayout};
pub use embed::{Builder, Error, Handle, Listening, Running};
pub use route_kinds::handler;
