//! The status page (route kind `status = {}`), like nginx `stub_status`: plain text by
//! default, JSON with `?format=json` or `Accept: application/json`.

use crate::exchange::{Exchange, Request};
use crate::route_kinds::fastcgi::spawn::AppSnapshot;
use crate::route_kinds::reply::Reply;
use crate::router::RouteCount;
use crate::traffic::TrafficSnapshot;
use crate::visitor::StoreHealthSnapshot;
use http_proto::RequestHead;
use serde::Serialize;

/// Counters shown on the status page, gathered by the driver from session-core's registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Bytes in and out, responses by class, requests per second over the last minute.
    pub(crate) traffic: TrafficSnapshot,
    /// Reloads applied since start.
    pub(crate) reloads: u64,
    /// Each route, in order, and the requests routed to it since the last reload.
    pub(crate) routes: Vec<RouteCount>,
    /// TLS handshakes, failures by reason, timeouts; `None` without a TLS listener.
    pub(crate) tls: Option<crate::tls::TlsSnapshot>,
    /// The visitor store `[visitor_sessions]` names: health, calls, latency.
    pub(crate) visitor_store: StoreHealthSnapshot,
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
    let asks = |format: &[u8]| {
        head.query()
            .is_some_and(|q| q.split(|&b| b == b'&').any(|p| p == format))
    };
    if asks(b"format=prometheus") {
        return Reply::bytes(
            200,
            b"text/plain; version=0.0.4; charset=utf-8",
            render_prometheus(snapshot),
        )
        .with_header(b"cache-control", "no-store");
    }
    let json = asks(b"format=json")
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
    if let Some(tls) = &s.tls {
        let _ = writeln!(
            out,
            "TLS: handshakes {} timeouts {}",
            tls.handshakes, tls.timeouts
        );
        let _ = write!(out, "TLS handshake failures:");
        for (reason, n) in &tls.failures {
            let _ = write!(out, " {reason} {n}");
        }
        let _ = writeln!(out);
    }
    let v = &s.visitor_store;
    let _ = write!(
        out,
        "Visitor store: {} {}",
        v.store,
        if v.up { "up" } else { "down" }
    );
    if let Some(sessions) = v.sessions {
        let _ = write!(out, " sessions {sessions}");
    } else {
        let _ = write!(
            out,
            " connections {} calls {} errors {} timeouts {} latency p50 {}us p99 {}us ping {}us",
            v.connections,
            v.calls,
            v.errors,
            v.timeouts,
            v.latency_p50_us,
            v.latency_p99_us,
            v.ping_us
        );
    }
    let _ = writeln!(out);
    if let Some(e) = &v.last_error {
        let _ = writeln!(out, " last error: {e}");
    }
    let t = &s.traffic;
    let _ = writeln!(out, "Bytes in: {} out: {}", t.bytes_in, t.bytes_out);
    let _ = writeln!(
        out,
        "Responses: 1xx {} 2xx {} 3xx {} 4xx {} 5xx {}",
        t.responses[0], t.responses[1], t.responses[2], t.responses[3], t.responses[4]
    );
    let _ = writeln!(
        out,
        "Requests per second (last minute): {:.2}",
        t.requests_per_second
    );
    let _ = writeln!(out, "Routes:");
    for r in &s.routes {
        let _ = writeln!(out, " {}: requests {}", r.describe(), r.requests);
    }
    let _ = writeln!(out, "Version: {}", env!("CARGO_PKG_VERSION"));
    let _ = writeln!(out, "Reloads: {}", s.reloads);
    let _ = writeln!(out, "Uptime seconds: {}", s.uptime_secs);
    out
}

/// The counters in the Prometheus text exposition format (0.0.4), for scraping.
pub(crate) fn render_prometheus(s: &StatusSnapshot) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(2048);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        let _ = writeln!(out, "# HELP refserver_{name} {help}");
        let _ = writeln!(out, "# TYPE refserver_{name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "refserver_{name}{labels} {value}");
        }
    };
    let one = |v: u64| vec![(String::new(), v.to_string())];
    let label = |k: &str, v: &str| {
        format!(
            "{{{k}=\"{}\"}}",
            v.replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('\n', "\\n")
        )
    };
    metric(
        "connections_active",
        "gauge",
        "Sessions open now.",
        &one(s.active),
    );
    metric(
        "connections_accepted_total",
        "counter",
        "Connections accepted.",
        &one(s.accepted),
    );
    metric(
        "connections_handled_total",
        "counter",
        "Connections admitted.",
        &one(s.handled),
    );
    metric(
        "requests_total",
        "counter",
        "Requests received.",
        &one(s.requests),
    );
    let phases: Vec<_> = s
        .phases
        .iter()
        .map(|(p, n)| (label("phase", p), n.to_string()))
        .collect();
    metric("sessions", "gauge", "Open sessions by phase.", &phases);
    let classes: Vec<_> = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .zip(s.traffic.responses)
        .map(|(c, n)| (label("class", c), n.to_string()))
        .collect();
    metric(
        "responses_total",
        "counter",
        "Responses by status class.",
        &classes,
    );
    metric(
        "received_bytes_total",
        "counter",
        "Bytes read from clients.",
        &one(s.traffic.bytes_in),
    );
    metric(
        "sent_bytes_total",
        "counter",
        "Bytes written to clients.",
        &one(s.traffic.bytes_out),
    );
    metric(
        "requests_per_second",
        "gauge",
        "Requests per second over the last minute.",
        &[(
            String::new(),
            format!("{:.3}", s.traffic.requests_per_second),
        )],
    );
    let routes: Vec<_> = s
        .routes
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut labels = format!("route=\"{}\"", i + 1);
            for (name, value) in [
                ("prefix", &r.prefix),
                ("suffix", &r.suffix),
                ("host", &r.host),
            ] {
                if let Some(v) = value {
                    let one = label(name, v);
                    labels.push(',');
                    labels.push_str(&one[1..one.len() - 1]);
                }
            }
            (format!("{{{labels}}}"), r.requests.to_string())
        })
        .collect();
    metric(
        "route_requests_total",
        "counter",
        "Requests per route since the last reload.",
        &routes,
    );
    for (name, pick) in [
        (
            "gateway_requests_total",
            (|g: &GatewaySnapshot| g.requests) as fn(&GatewaySnapshot) -> u64,
        ),
        ("gateway_errors_total", |g| g.errors),
        ("gateway_timeouts_total", |g| g.timeouts),
    ] {
        let samples: Vec<_> = s
            .gateways
            .iter()
            .map(|g| (label("gateway", g.name), pick(g).to_string()))
            .collect();
        metric(name, "counter", "Per CGI/FastCGI gateway.", &samples);
    }
    if let Some(tls) = &s.tls {
        metric(
            "tls_handshakes_total",
            "counter",
            "TLS handshakes completed.",
            &one(tls.handshakes),
        );
        let failures: Vec<_> = tls
            .failures
            .iter()
            .map(|(reason, n)| (label("reason", reason), n.to_string()))
            .collect();
        metric(
            "tls_handshake_failures_total",
            "counter",
            "TLS handshakes failed, by reason.",
            &failures,
        );
        metric(
            "tls_handshake_timeouts_total",
            "counter",
            "TLS sessions closed at the handshake deadline.",
            &one(tls.timeouts),
        );
    }
    let v = &s.visitor_store;
    let store = label("store", &v.store);
    for (name, kind, help, value) in [
        (
            "visitor_store_up",
            "gauge",
            "The visitor store answers (the last probe).",
            u64::from(v.up),
        ),
        (
            "visitor_store_calls_total",
            "counter",
            "Calls to the visitor store.",
            v.calls,
        ),
        (
            "visitor_store_errors_total",
            "counter",
            "Failed calls to the visitor store (timeouts included).",
            v.errors,
        ),
        (
            "visitor_store_timeouts_total",
            "counter",
            "Calls to the visitor store past its timeout.",
            v.timeouts,
        ),
        (
            "visitor_store_latency_p50_microseconds",
            "gauge",
            "Median call latency since start.",
            v.latency_p50_us,
        ),
        (
            "visitor_store_latency_p99_microseconds",
            "gauge",
            "99th percentile call latency since start.",
            v.latency_p99_us,
        ),
    ] {
        metric(name, kind, help, &[(store.clone(), value.to_string())]);
    }
    metric(
        "reloads_total",
        "counter",
        "Reloads applied.",
        &one(s.reloads),
    );
    metric(
        "uptime_seconds",
        "gauge",
        "Seconds since start.",
        &one(s.uptime_secs),
    );
    metric(
        "build_info",
        "gauge",
        "The running version.",
        &[(label("version", env!("CARGO_PKG_VERSION")), "1".to_owned())],
    );
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
        "tls": s.tls.as_ref().map(|t| serde_json::json!({
            "handshakes": t.handshakes,
            "timeouts": t.timeouts,
            "failures": t.failures.iter().map(|(r, n)| ((*r).to_owned(), serde_json::Value::from(*n))).collect::<serde_json::Map<_, _>>(),
        })),
        "uptime_secs": s.uptime_secs,
        "version": env!("CARGO_PKG_VERSION"),
        "reloads": s.reloads,
        "traffic": s.traffic,
        "routes": s.routes,
        "visitor_store": s.visitor_store,
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
            traffic: TrafficSnapshot {
                bytes_in: 1000,
                bytes_out: 20_000,
                responses: [0, 40, 1, 2, 0],
                requests_per_second: 0.7,
            },
            reloads: 2,
            routes: vec![
                RouteCount {
                    prefix: Some("/status".to_owned()),
                    requests: 3,
                    ..RouteCount::default()
                },
                RouteCount {
                    prefix: Some("/".to_owned()),
                    host: Some("a\"b".to_owned()),
                    requests: 39,
                    ..RouteCount::default()
                },
            ],
            tls: Some(crate::tls::TlsSnapshot {
                handshakes: 5,
                failures: vec![("not_tls", 1), ("closed", 2)],
                timeouts: 1,
            }),
            visitor_store: StoreHealthSnapshot {
                store: "redis://127.0.0.1:6379/0".to_owned(),
                up: false,
                connections: 2,
                sessions: None,
                calls: 10,
                errors: 3,
                timeouts: 1,
                latency_p50_us: 120,
                latency_p99_us: 900,
                ping_us: 80,
                last_error: Some("no answer within 500 ms".to_owned()),
            },
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
        assert!(!text.contains("Idle session task bytes"), "JSON only");
        assert!(text.contains("Bytes in: 1000 out: 20000\n"), "{text}");
        assert!(
            text.contains("Responses: 1xx 0 2xx 40 3xx 1 4xx 2 5xx 0\n"),
            "{text}"
        );
        assert!(
            text.contains("Requests per second (last minute): 0.70\n"),
            "{text}"
        );
        assert!(text.contains(" prefix=/status: requests 3\n"), "{text}");
        assert!(text.contains("Reloads: 2\n"), "{text}");
        assert!(text.contains(
            " unix:/run/php.sock: down requests 5 errors 1 timeouts 0 active 2 connections 1\n"
        ));
        assert!(text.contains(
            "Visitor store: redis://127.0.0.1:6379/0 down connections 2 calls 10 errors 3 timeouts 1 latency p50 120us p99 900us ping 80us\n last error: no answer within 500 ms\n"
        ), "{text}");
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
        assert_eq!(v["traffic"]["responses"][1], 40);
        assert_eq!(v["routes"][1]["requests"], 39);
        assert_eq!(v["reloads"], 2);
        assert_eq!(v["visitor_store"]["up"], false);
        assert_eq!(v["visitor_store"]["latency_p99_us"], 900);
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

    #[test]
    fn prometheus_text_has_every_family_and_escapes_labels() {
        let text = render_prometheus(&snapshot());
        assert!(
            text.contains("# TYPE refserver_requests_total counter\nrefserver_requests_total 42\n"),
            "{text}"
        );
        assert!(
            text.contains("refserver_responses_total{class=\"2xx\"} 40\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "refserver_route_requests_total{route=\"2\",prefix=\"/\",host=\"a\\\"b\"} 39\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("refserver_sessions{phase=\"idle\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("refserver_gateway_errors_total{gateway=\"cgi\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "refserver_visitor_store_timeouts_total{store=\"redis://127.0.0.1:6379/0\"} 1\n"
            ),
            "{text}"
        );
        let reply = reply(&snapshot(), &head("/status?format=prometheus", ""));
        assert!(
            reply
                .header("content-type")
                .unwrap()
                .starts_with(b"text/plain; version=0.0.4")
        );
    }
}
