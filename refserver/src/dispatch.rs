//! Routing one request: its path in normal form, the route that matches, and the
//! exchange its route kind starts. A path that cannot be normalized answers its 400, and
//! no matching route a 404, through the same seam.

use crate::access_log::Entry;
use crate::exchange::{Redirect, Request, Started};
use crate::route_kinds::{self, reply::Reply};
use crate::router::Route;
use crate::server::Server;
use crate::transport::ConnInfo;
use http_proto::RequestHead;
use std::sync::Arc;
use std::time::SystemTime;

/// Finds the route for `head` and starts its exchange; also returns the route, for logs.
pub(crate) fn dispatch(
    server: &Arc<Server>,
    head: &RequestHead,
    conn: &ConnInfo,
) -> (Started, Option<&'static Route>) {
    if let Some(port) = conn.redirect_https {
        return (
            redirect_https(head, conn, port).into_exchange().into(),
            None,
        );
    }
    dispatch_redirected(server, head, conn, None)
}

/// A plain-text listener's answer to every request: 301 to the same host and target over
/// HTTPS on `port` (443 is left out of the URL).
fn redirect_https(head: &RequestHead, conn: &ConnInfo, port: u16) -> Reply {
    let host = head.authority().map_or_else(
        || {
            // HTTP/1.0 without Host: the address the client reached.
            conn.local.map_or_else(
                || "localhost".to_owned(),
                |a| match a {
                    std::net::SocketAddr::V4(v4) => v4.ip().to_string(),
                    std::net::SocketAddr::V6(v6) => format!("[{}]", v6.ip()),
                },
            )
        },
        |authority| {
            String::from_utf8_lossy(http_proto::semantics::host_without_port(authority))
                .into_owned()
        },
    );
    let mut location = format!("https://{host}");
    if port != 443 {
        location.push_str(&format!(":{port}"));
    }
    location.push_str(&String::from_utf8_lossy(head.path()));
    if let Some(query) = head.query() {
        location.push('?');
        location.push_str(&String::from_utf8_lossy(query));
    }
    let body = format!("301 Moved Permanently: {location}\n");
    Reply::bytes(301, b"text/plain; charset=utf-8", body).with_header(b"location", location)
}

/// [`dispatch`] for a request an exchange redirected inside the server (a CGI local
/// redirect, RFC 3875 §6.2.2).
pub(crate) fn dispatch_redirected(
    server: &Arc<Server>,
    head: &RequestHead,
    conn: &ConnInfo,
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
        && !access.allows(conn.peer.map(|p| p.ip()))
    {
        return (Reply::error(403).into_exchange().into(), Some(route));
    }
    let request = Request {
        head,
        path: &path,
        route,
        peer: conn.peer,
        local: conn.local,
        tls: conn.tls.clone(),
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
    conn: &ConnInfo,
) -> Option<Box<Entry>> {
    server.access_log.enabled().then(|| {
        Box::new(Entry {
            remote: conn.peer.map(|p| p.ip()),
            tls: conn.tls.as_ref().map(|t| (t.protocol, t.cipher)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn head(raw: &[u8]) -> RequestHead {
        let raw = bytes::Bytes::copy_from_slice(raw);
        RequestHead::parse(&raw, &http_proto::Limits::default())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn redirects_keep_host_and_target_and_name_the_https_port() {
        let conn = ConnInfo::default();
        let r = redirect_https(
            &head(b"GET /a/b?x=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n"),
            &conn,
            443,
        );
        assert_eq!(r.status, 301);
        assert_eq!(
            r.header("location"),
            Some(&b"https://example.com/a/b?x=1"[..])
        );
        let r = redirect_https(
            &head(b"GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n"),
            &conn,
            8443,
        );
        assert_eq!(r.header("location"), Some(&b"https://[::1]:8443/"[..]));
    }
}
