//! Routing one request: its path in normal form, the route that matches, and the
//! exchange its route kind starts. A path that cannot be normalized answers its 400, and
//! no matching route a 404, through the same seam.

use crate::access_log::Entry;
use crate::exchange::{Redirect, Request, Started};
use crate::route_kinds::{self, reply::Reply};
use crate::router::Route;
use crate::server::Server;
use crate::transport::Addrs;
use http_proto::RequestHead;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

/// Finds the route for `head` and starts its exchange; also returns the route, for logs.
pub(crate) fn dispatch(
    server: &Arc<Server>,
    head: &RequestHead,
    addrs: Addrs,
) -> (Started, Option<&'static Route>) {
    dispatch_redirected(server, head, addrs, None)
}

/// [`dispatch`] for a request an exchange redirected inside the server (a CGI local
/// redirect, RFC 3875 §6.2.2).
pub(crate) fn dispatch_redirected(
    server: &Arc<Server>,
    head: &RequestHead,
    addrs: Addrs,
    redirect: Option<&Redirect>,
) -> (Started, Option<&'static Route>) {
    let path = match http_proto::semantics::normalize_path(head.path()) {
        Ok(path) => path,
        Err(refusal) => return (Reply::error(refusal.status()).into_exchange().into(), None),
    };
    // RFC 9112 §3.2.2: an absolute-form target's authority replaces Host.
    let Some(route) = server.routes.get().find(head.authority(), &path) else {
        return (Reply::error(404).into_exchange().into(), None);
    };
    route
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Some(access) = &route.access
        && !access.allows(addrs.peer.map(|p| p.ip()))
    {
        return (Reply::error(403).into_exchange().into(), Some(route));
    }
    let request = Request {
        head,
        path: &path,
        route,
        peer: addrs.peer,
        local: addrs.local,
        server,
        redirect,
    };
    (route_kinds::start(&request), Some(route))
}

/// The access-log entry for a request, finished when its response ends; `None` when
/// logging is off.
pub(crate) fn log_entry(
    server: &Server,
    head: &RequestHead,
    peer: Option<SocketAddr>,
) -> Option<Box<Entry>> {
    server.access_log.enabled().then(|| {
        Box::new(Entry {
            remote: peer.map(|p| p.ip()),
            time: SystemTime::UNIX_EPOCH, // set when the response ends
            request_line: Entry::request_line_of(head),
            status: 0,
            bytes: 0,
            referer: head.headers().get_bytes("referer"),
            user_agent: head.headers().get_bytes("user-agent"),
            user: head
                .headers()
                .get_bytes("authorization")
                .and_then(|v| http_proto::semantics::basic_credentials(&v))
                .map(|(user, _)| bytes::Bytes::from(user)),
        })
    })
}
