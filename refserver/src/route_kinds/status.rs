//! The status page (route kind `status = {}`), like nginx `stub_status`: plain text by
//! default, JSON with `?format=json` or `Accept: application/json`.

use crate::exchange::{Exchange, Request};
use crate::route_kinds::fastcgi::spawn::AppSnapshot;
use crate::route_kinds::reply::Reply;
use http_proto::RequestHead;
use serde::Serialize;

/// Counters shown on the status page, gathered by the driver from session-core's registry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct StatusSnapshot {
    /// Sessions open now.
    pub(crate) active: u64,
    /// Open sessions by phase: `(phase name, count)`, in lifecycle order.
    pub(crate) phases: Vec<(&'static str, u64)>,
    /// Connections accepted since start.
    pub(crate) accepted: u64,
    /// Connections admitted (accepted minus those refused at `max_sessions`).
    pub(crate) handled: u64,
    /// Requests received since start.
    pub(crate) requests: u64,
    /// Per-gateway request and error counts.
    pub(crate) gateways: Vec<GatewaySnapshot>,
    /// Each FastCGI upstream: health, counts, open connections.
    pub(crate) fastcgi_upstreams: Vec<UpstreamSnapshot>,
    /// Each spawned FastCGI application: processes running, restarts.
    pub(crate) fastcgi_apps: Vec<AppSnapshot>,
    /// Per in-process handler counts, by name.
    pub(crate) handlers: Vec<HandlerSnapshot>,
    /// Bytes of one session task's future, which holds the whole `Session` inline: what an
    /// idle keep-alive session costs in the process, since it holds no buffers. Tokio adds
    /// its task header and the socket's I/O registration (about 450 bytes more; resident
    /// memory measured at 10,000 idle sessions is in the README).
    pub(crate) idle_session_task_bytes: Option<u64>,
    /// Seconds since start.
    pub(crate) uptime_secs: u64,
}

/// One gateway's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct GatewaySnapshot {
    /// `cgi` or `fastcgi`.
    pub(crate) name: &'static str,
    /// Requests routed to it.
    pub(crate) requests: u64,
    /// Requests it failed.
    pub(crate) errors: u64,
    /// Requests past their timeout.
    pub(crate) timeouts: u64,
    /// Running now.
    pub(crate) running: u64,
}

/// One FastCGI upstream's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct UpstreamSnapshot {
    /// Its address.
    pub(crate) name: String,
    /// Not skipped after a failure (passive health check).
    pub(crate) up: bool,
    /// Requests sent to it.
    pub(crate) requests: u64,
    /// Requests it failed.
    pub(crate) errors: u64,
    /// Requests past their timeout.
    pub(crate) timeouts: u64,
    /// Requests on it (or waiting for one of its connections) now.
    pub(crate) active: u64,
    /// Connections open to it now.
    pub(crate) connections: u64,
}

/// One in-process handler's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct HandlerSnapshot {
    /// The name it was registered under.
    pub(crate) name: String,
    /// Requests routed to it.
    pub(crate) requests: u64,
    /// Requests it failed (an `Err` from it or its body, a response refused).
    pub(crate) errors: u64,
    /// Requests whose handler panicked.
    pub(crate) panics: u64,
    /// Requests past the route's `timeout_ms`.
    pub(crate) timeouts: u64,
    /// Being answered now.
    pub(crate) running: u64,
}

impl HandlerSnapshot {
    /// The counters of the handler registered as `name`, now.
    pub(crate) fn of(
        name: &str,
        c: &crate::route_kinds::handler::service::HandlerCounters,
    ) -> Self {
        use std::sync::atomic::Ordering::Relaxed;
        Self {
            name: name.to_owned(),
            requests: c.requests.load(Relaxed),
            errors: c.errors.load(Relaxed),
            panics: c.panics.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            running: c.running.load(Relaxed),
        }
    }
}

/// Starts the exchange for a request on the `status` route: the server's counters now.
pub(crate) fn start(request: &Request<'_>) -> Box<dyn Exchange> {
    reply(&request.server.status_snapshot(), request.head).into_exchange()
}

/// The status page for this request, in the format it asks for.
pub(crate) fn reply(snapshot: &StatusSnapshot, head: &RequestHead) -> Reply {
    let json = head
        .query()
        .is_some_and(|q| q.split(|&b| b == b'&').any(|p| p == b"format=json"))
        || head
            .headers()
            .get("accept")
            .is_some_and(|a| a.windows(16).any(|w| w == b"application/json"));
    let reply = if json {
        Reply::bytes(200, b"application/json", render_json(snapshot))
    } else {
        Reply::bytes(200, b"text/plain; charset=utf-8", render_text(snapshot))
    };
    reply.with_header(b"cache-control", "no-store")
}

/// nginx `stub_status` lines first (so its parsers work), then what it lacks.
pub(crate) fn render_text(s: &StatusSnapshot) -> String {
    use std::fmt::Write;
    let phase = |name: &str| {
        s.phases
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(0, |(_, c)| *c)
    };
    let mut out = String::with_capacity(512);
    let _ = writeln!(out, "Active connections: {}", s.active);
    let _ = writeln!(out, "server accepts handled requests");
    let _ = writeln!(out, " {} {} {}", s.accepted, s.handled, s.requests);
    let _ = writeln!(
        out,
        "Reading: {} Writing: {} Waiting: {}",
        phase("reading_head") + phase("reading_body"),
        phase("handling") + phase("writing") + phase("draining"),
        phase("idle")
    );
    let _ = writeln!(out, "Phases:");
    for (name, count) in &s.phases {
        let _ = writeln!(out, " {name}: {count}");
    }
    let _ = writeln!(out, "Gateways:");
    for g in &s.gateways {
        let _ = writeln!(
            out,
            " {}: requests {} errors {} timeouts {} running {}",
            g.name, g.requests, g.errors, g.timeouts, g.running
        );
    }
    if !s.fastcgi_upstreams.is_empty() {
        let _ = writeln!(out, "FastCGI upstreams:");
    }
    for u in &s.fastcgi_upstreams {
        let _ = writeln!(
            out,
            " {}: {} requests {} errors {} timeouts {} active {} connections {}",
            u.name,
            if u.up { "up" } else { "down" },
            u.requests,
            u.errors,
            u.timeouts,
            u.active,
            u.connections
        );
    }
    if !s.fastcgi_apps.is_empty() {
        let _ = writeln!(out, "FastCGI applications:");
    }
    for a in &s.fastcgi_apps {
        let _ = writeln!(
            out,
            " {}: running {}/{} restarts {} last exit {}",
            a.command,
            a.running,
            a.processes,
            a.restarts,
            a.last_exit.as_deref().unwrap_or("-")
        );
    }
    if !s.handlers.is_empty() {
        let _ = writeln!(out, "Handlers:");
        for h in &s.handlers {
            let _ = writeln!(
                out,
                " {}: requests {} errors {} panics {} timeouts {} running {}",
                h.name, h.requests, h.errors, h.panics, h.timeouts, h.running
            );
        }
    }
    match s.idle_session_task_bytes {
        Some(b) => {
            let _ = writeln!(out, "Idle session task bytes: {b}");
        }
        None => {
            let _ = writeln!(out, "Idle session task bytes: n/a");
        }
    }
    let _ = writeln!(out, "Uptime seconds: {}", s.uptime_secs);
    out
}

/// The same counters as one JSON object.
pub(crate) fn render_json(s: &StatusSnapshot) -> String {
    let phases: serde_json::Map<String, serde_json::Value> = s
        .phases
        .iter()
        .map(|(n, c)| ((*n).to_owned(), (*c).into()))
        .collect();
    let value = serde_json::json!({
        "active": s.active,
        "accepted": s.accepted,
        "handled": s.handled,
        "requests": s.requests,
        "phases": phases,
        "gateways": s.gateways,
        "fastcgi_upstreams": s.fastcgi_upstreams,
        "fastcgi_apps": s.fastcgi_apps,
        "handlers": s.handlers,
        "idle_session_task_bytes": s.idle_session_task_bytes,
        "uptime_secs": s.uptime_secs,
    });
    let mut text = value.to_string();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn snapshot() -> StatusSnapshot {
        StatusSnapshot {
            active: 3,
            phases: vec![
                ("reading_head", 1),
                ("reading_body", 0),
                ("handling", 0),
                ("writing", 1),
                ("idle", 1),
                ("draining", 0),
            ],
            accepted: 10,
            handled: 9,
            requests: 42,
            gateways: vec![GatewaySnapshot {
                name: "cgi",
                requests: 2,
                errors: 2,
                timeouts: 1,
                running: 0,
            }],
            fastcgi_upstreams: vec![UpstreamSnapshot {
                name: "unix:/run/php.sock".to_owned(),
                up: false,
                requests: 5,
                errors: 1,
                timeouts: 0,
                active: 2,
                connections: 1,
            }],
            fastcgi_apps: Vec::new(),
            handlers: vec![HandlerSnapshot {
                name: "hello".to_owned(),
                requests: 5,
                errors: 1,
                panics: 2,
                timeouts: 1,
                running: 1,
            }],
            idle_session_task_bytes: Some(512),
            uptime_secs: 7,
        }
    }

    fn head(target: &str, extra: &str) -> RequestHead {
        let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
        RequestHead::parse(&Bytes::from(raw), &http_proto::Limits::default())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn text_starts_like_stub_status() {
        let text = render_text(&snapshot());
        assert!(text.starts_with(
            "Active connections: 3\nserver accepts handled requests\n 10 9 42\nReading: 1 Writing: 1 Waiting: 1\n"
        ), "{text}");
        assert!(text.contains(" cgi: requests 2 errors 2 timeouts 1 running 0\n"));
        assert!(
            text.contains("Handlers:\n hello: requests 5 errors 1 panics 2 timeouts 1 running 1\n")
        );
        assert!(text.contains("Idle session task bytes: 512\n"));
        assert!(text.contains(
            " unix:/run/php.sock: down requests 5 errors 1 timeouts 0 active 2 connections 1\n"
        ));
    }

    #[test]
    fn json_has_every_counter() {
        let v: serde_json::Value = serde_json::from_str(&render_json(&snapshot())).unwrap();
        assert_eq!(v["active"], 3);
        assert_eq!(v["requests"], 42);
        assert_eq!(v["phases"]["idle"], 1);
        assert_eq!(v["gateways"][0]["name"], "cgi");
        assert_eq!(v["fastcgi_upstreams"][0]["up"], false);
        assert_eq!(v["fastcgi_upstreams"][0]["connections"], 1);
        assert_eq!(v["handlers"][0]["name"], "hello");
        assert_eq!(v["handlers"][0]["panics"], 2);
        assert_eq!(v["idle_session_task_bytes"], 512);
    }

    #[test]
    fn format_follows_query_or_accept() {
        let text = reply(&snapshot(), &head("/status", ""));
        assert!(
            text.header("content-type")
                .unwrap()
                .starts_with(b"text/plain")
        );
        let json = reply(&snapshot(), &head("/status?format=json", ""));
        assert_eq!(json.header("content-type"), Some(&b"application/json"[..]));
        let json = reply(
            &snapshot(),
            &head("/status", "Accept: application/json\r\n"),
        );
        assert_eq!(json.header("content-type"), Some(&b"application/json"[..]));
    }
}
