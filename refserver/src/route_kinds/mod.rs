//! Route kinds: one file per way of answering a request, each starting an
//! [`Exchange`] through the one seam.
//!
//! | config key | what it does | file |
//! |---|---|---|
//! | `respond` | a fixed response | `fixed.rs` |
//! | `static` | files from a directory | `static_files.rs` (plans a `Reply`, `reply.rs`) |
//! | `status` | the status page | `status.rs` |
//! | `echo` | the request body streamed back | `echo.rs` |
//! | `cgi` | CGI programs, a child process per request | `cgi/` |
//! | `fastcgi` | FastCGI applications, pooled connections | `fastcgi.rs`, with the FastCGI gateway issue |
//! | `handler` | in-process tower services | `handler/` |
//!
//! Until its issue lands, a `fastcgi` route answers 501 with a log line.

pub(crate) mod cgi;
pub(crate) mod echo;
pub(crate) mod fixed;
pub mod handler;
pub(crate) mod reply;
pub(crate) mod static_files;
pub(crate) mod status;

use crate::exchange::{Exchange, Request, Started};
use crate::router::RouteKind;
use crate::server::GatewayCounters;
use reply::Reply;
use std::sync::atomic::Ordering::Relaxed;

/// Starts the exchange of the route kind that matched.
pub(crate) fn start(request: &Request<'_>) -> Started {
    let route = request.route;
    match &route.kind {
        RouteKind::Respond(fixed) => fixed.start(request),
        RouteKind::Static(files) => static_files::start(files, request).into(),
        RouteKind::Status => status::start(request).into(),
        RouteKind::Echo(echo) => echo.start(request).into(),
        RouteKind::Cgi(cgi) => cgi.start(request).into(),
        RouteKind::Handler(handler) => handler.start(request).into(),
        RouteKind::FastCgi(_) => not_yet(
            request,
            &request.server.counters.fastcgi,
            "fastcgi",
            "FastCGI",
        )
        .into(),
        #[cfg(test)]
        RouteKind::TestDouble(start) => start(request).into(),
    }
}

/// A gateway whose issue has not landed: 501, counted as an error, with a log line.
fn not_yet(
    request: &Request<'_>,
    counters: &GatewayCounters,
    kind: &str,
    issue: &str,
) -> Box<dyn Exchange> {
    counters.requests.fetch_add(1, Relaxed);
    counters.errors.fetch_add(1, Relaxed);
    tracing::warn!(
        "route {}: {kind} routes arrive with the {issue} gateway issue; answering 501",
        request.route.describe()
    );
    Reply::error(501).into_exchange()
}
