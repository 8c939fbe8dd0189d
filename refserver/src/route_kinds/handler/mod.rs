//! In-process handlers, the ISAPI/NSAPI way, as `tower` services: what a handler
//! receives ([`Request`], its [`Body`], [`ConnectionInfo`], [`TlsInfo`] on a TLS connection) and answers (any
//! `http::Response` with an `http_body::Body`, boxed as [`ResponseBody`]), and
//! [`handler_fn`] for a plain `async fn`. Register them with
//! [`Builder::handler`](crate::Builder::handler).
//!
//! | job | where |
//! |---|---|
//! | what a handler is, erasure, the `async fn` adapter, the registry by name | `service.rs` |
//! | the request body, streamed from the session with back-pressure | `body.rs` |
//! | driving the service through the seam: head, body, timeout, panics | `exchange.rs` |
//! | compiling a `handler = { name }` route against the registry | `HandlerRoute::new` here |
//!
//! A handler runs inside the session task that received its request, polled through the
//! seam (the `Exchange` trait) like every other route kind: no task is spawned per
//! request, a slow client slows it (the response body is polled only while the output
//! has room), and dropping the exchange (client gone, deadline, drain cut-off) drops its
//! future.

mod body;
mod exchange;
pub(crate) mod service;

pub use crate::tls::TlsInfo;
pub use body::{Body, BodyError};
pub use service::{
    BoxError, HandlerFn, HandlerService, InfallibleFuture, Request, ResponseBody, handler_fn,
};

use crate::config::{ConfigError, HandlerConfig};
use crate::exchange::{Exchange, Request as SeamRequest};
use crate::route_kinds::reply::Reply;
use service::{HandlerCounters, Handlers};
use std::cell::RefCell;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;
use thread_local::ThreadLocal;

/// Ready clones of a route's service kept per worker thread. A tower service is called
/// through `&mut self`, so each request needs one of its own; cloning a boxed, layered
/// service costs an allocation per layer, and a clone that has answered can take the
/// next request.
const IDLE_SERVICES: usize = 8;

/// The connection a request came on, in every handler request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// The client's address (`None` on a Unix socket).
    pub peer: Option<SocketAddr>,
    /// The server's address on this connection (`None` on a Unix socket).
    pub local: Option<SocketAddr>,
}

/// A compiled `handler` route: its service with the route's layers around it.
pub(crate) struct HandlerRoute {
    name: String,
    service: HandlerService,
    /// Clones of `service` that have been called and can be made ready again.
    idle: ThreadLocal<RefCell<Vec<HandlerService>>>,
    counters: Arc<HandlerCounters>,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for HandlerRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HandlerRoute({})", self.name)
    }
}

impl HandlerRoute {
    /// Compiles route `n`'s `handler` table; a name nothing was registered under, or an
    /// unknown layer, is an error naming the route.
    pub(crate) fn new(
        n: usize,
        config: &HandlerConfig,
        handlers: &Handlers,
    ) -> Result<Self, ConfigError> {
        let Some(registered) = handlers.handlers.get(&config.name) else {
            return Err(ConfigError::new(format!(
                "route {n}: handler `{}`: no handler is registered under that name (registered: {})",
                config.name,
                handlers.names()
            )));
        };
        let mut service = registered.service.clone();
        // The first listed is outermost: wrap from the last.
        for layer in config.layers.iter().rev() {
            let Some(wrap) = handlers.named_layers.get(layer) else {
                return Err(ConfigError::new(format!(
                    "route {n}: handler `{}`: no layer is registered under the name `{layer}`",
                    config.name
                )));
            };
            service = wrap(service);
        }
        for wrap in handlers.layers.iter().rev() {
            service = wrap(service);
        }
        Ok(Self {
            name: config.name.clone(),
            service,
            idle: ThreadLocal::new(),
            counters: Arc::clone(&registered.counters),
            timeout: (config.timeout_ms > 0).then(|| Duration::from_millis(config.timeout_ms)),
        })
    }

    /// A service for one request: a clone this thread kept, else a new one.
    fn take_service(&self) -> HandlerService {
        let kept = self.idle.get().and_then(|idle| idle.borrow_mut().pop());
        kept.unwrap_or_else(|| self.service.clone())
    }

    /// Keeps a called service for the next request on this thread; hands it back when
    /// enough are kept (for the caller to drop).
    fn give_service(&self, service: HandlerService) -> Option<HandlerService> {
        let mut idle = self.idle.get_or_default().borrow_mut();
        if idle.len() >= IDLE_SERVICES {
            return Some(service);
        }
        idle.push(service);
        None
    }

    /// Starts the exchange for a request on this route.
    pub(crate) fn start(&'static self, request: &SeamRequest<'_>) -> Box<dyn Exchange> {
        self.counters.requests.fetch_add(1, Relaxed);
        let head = request.head;
        let parts = match head.to_http() {
            Ok(empty) => empty.into_parts().0,
            Err(e) => {
                // http's URI and value rules are stricter in a few places than HTTP's.
                tracing::debug!(
                    "route {}: handler `{}`: request not representable as http::Request: {e}",
                    request.route.describe(),
                    self.name
                );
                return Reply::error(400).into_exchange();
            }
        };
        let (body, feed) = match head.framing() {
            http_proto::Framing::None => (Body::empty(), None),
            http_proto::Framing::Length(n) => {
                let (body, feed) = Body::channel(Some(n));
                (body, Some(feed))
            }
            _ => {
                let (body, feed) = Body::channel(None);
                (body, Some(feed))
            }
        };
        let mut http_request = http::Request::from_parts(parts, body);
        http_request.extensions_mut().insert(ConnectionInfo {
            peer: request.peer,
            local: request.local,
        });
        if let Some(tls) = &request.tls {
            http_request.extensions_mut().insert(TlsInfo::clone(tls));
        }
        Box::new(exchange::HandlerExchange::new(
            self,
            request.route,
            http_request,
            feed,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::service::{Registered, erase};
    use super::*;

    fn registry() -> Handlers {
        let mut handlers = Handlers::default();
        handlers.handlers.insert(
            "hello".to_owned(),
            Registered {
                service: erase(handler_fn(|_r: Request| async {
                    http::Response::new(String::from("hi"))
                })),
                counters: Arc::default(),
            },
        );
        handlers
    }

    fn config(name: &str, layers: &[&str]) -> HandlerConfig {
        HandlerConfig {
            name: name.to_owned(),
            timeout_ms: 0,
            layers: layers.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn an_unknown_name_is_a_start_up_error_naming_the_route() {
        let err = HandlerRoute::new(3, &config("nope", &[]), &registry()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "route 3: handler `nope`: no handler is registered under that name (registered: hello)"
        );
        let err = HandlerRoute::new(2, &config("hello", &["auth"]), &registry()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("route 2: handler `hello`: no layer")
        );
        let route = HandlerRoute::new(1, &config("hello", &[]), &registry()).unwrap();
        assert_eq!(route.timeout, None);
    }
}
