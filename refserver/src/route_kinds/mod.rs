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
//! | `fastcgi` | FastCGI applications, pooled and multiplexed connections | `fastcgi/` |
//! | `handler` | in-process tower services | `handler/` |
//!
//! `gateway.rs` holds what CGI and FastCGI share (the CGI response, local redirects, the
//! environment).

pub(crate) mod cgi;
pub(crate) mod echo;
pub(crate) mod fastcgi;
pub(crate) mod fixed;
pub(crate) mod gateway;
pub mod handler;
pub(crate) mod reply;
pub(crate) mod static_files;
pub(crate) mod status;

use crate::exchange::{Request, Started};
use crate::router::RouteKind;

/// Starts the exchange of the route kind that matched.
pub(crate) fn start(request: &Request<'_>) -> Started {
    let route = request.route;
    match &route.kind {
        RouteKind::Respond(fixed) => fixed.start(request),
        RouteKind::Static(files) => static_files::start(files, request).into(),
        RouteKind::Status => status::start(request).into(),
        RouteKind::Echo(echo) => echo.start(request).into(),
        RouteKind::Cgi(cgi) => cgi.start(request).into(),
        RouteKind::FastCgi(fastcgi) => fastcgi.start(request).into(),
        RouteKind::Handler(handler) => handler.start(request).into(),
        #[cfg(test)]
        RouteKind::TestDouble(start) => start(request).into(),
    }
}
