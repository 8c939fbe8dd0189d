//! refserver embedded in a program of its own, with in-process handlers in front of the
//! demo site:
//!
//! ```sh
//! cargo run --release -p refserver --example embedded -- --listen 127.0.0.1:8081
//! # the binary's configuration format, `[visitor_sessions]` included (several instances
//! # naming one Redis share their visitors):
//! cargo run --release -p refserver --example embedded -- --config refserver/refserver.toml
//! ```
//!
//! With `--config FILE` the file's routes and settings are the server's, the handler
//! routes below put in front of its routes; without it, the demo site's. `--listen`,
//! `--workers`, `--access-log`, `--visitor-store` and the session timeouts override the
//! file.
//!
//! | path | answered by |
//! |---|---|
//! | `GET /hello` | an `async fn`: `Hello from an in-process handler` (text/plain) |
//! | `POST /echo` | the request body streamed back unchanged, as it arrives |
//! | `GET /panic` | a handler that panics: 500 for that request, the server goes on |
//! | `GET /app/greet/{name}` | an axum `Router`, mounted as it is: `Hello, {name}` |
//! | `GET /visits` | the visitor's visits, counted in their session (`1`, then `2` with the cookie); `/visits/login` rotates the session id, `/visits/logout` ends it |
//! | `GET /slow?ms=N` | answers after N ms; its route's `timeout_ms` is 1000 (504 past it); `/slow/dropped` counts the slow handlers dropped unfinished (timeouts and clients gone) |
//! | everything else | the demo site (static files, `/status`, `/plaintext`, CGI) |
//!
//! Every handler response carries `x-request-id`, added by a filter layered around every
//! handler route.

use axum::extract::Path;
use bytes::Bytes;
use clap::Parser;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use http_body_util::Full;
use refserver::handler::{Body, Request, ResponseBody, handler_fn};
use refserver::visitor::{ConfiguredStore, Visitor, VisitorLayer};
use refserver::{Builder, Config};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// The handler routes, put in front of the demo site's.
const ROUTES: &str = r#"
[[route]]
prefix = "/hello"
handler = { name = "hello" }

[[route]]
prefix = "/echo"
handler = { name = "echo" }

[[route]]
prefix = "/panic"
handler = { name = "panic" }

[[route]]
prefix = "/app/"
handler = { name = "app" }

[[route]]
prefix = "/visits"
handler = { name = "visits", layers = ["sessions"] }

[[route]]
prefix = "/slow"
handler = { name = "slow", timeout_ms = 1000 }
"#;

/// An embedding program: refserver with in-process handlers in front of the demo site.
#[derive(Debug, Parser)]
struct Args {
    /// Configuration file, in the binary's format (default: the demo site).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on, repeatable (port 0 picks a free port, printed); default
    /// the file's, else 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<String>,
    /// Worker threads (0: one per core).
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Access log: `stdout`, `off` or a file path.
    #[arg(long, value_name = "TARGET")]
    access_log: Option<String>,
    /// Where visitor sessions live: `memory` or `redis://HOST:PORT/DB` (default: the
    /// file's `[visitor_sessions] store`, else memory).
    #[arg(long, value_name = "URL")]
    visitor_store: Option<String>,
    /// Visitor sessions end after this long without a request (default: the file's, else
    /// 30 minutes).
    #[arg(long, value_name = "MS")]
    session_idle_ms: Option<u64>,
    /// Visitor sessions end this long after they began, whatever the activity (default:
    /// the file's, else 8 hours).
    #[arg(long, value_name = "MS")]
    session_absolute_ms: Option<u64>,
}

fn text<B: From<&'static str>>(status: u16, body: impl Into<B>) -> http::Response<B> {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap_or_default();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

/// A constant answer: its body is the static text itself, not a copy.
async fn hello(_request: Request) -> http::Response<Full<Bytes>> {
    text(200, "Hello from an in-process handler")
}

/// The request body is the response body: each piece goes out as it arrives, and a
/// client that does not read its echo stops its own upload.
async fn echo(request: Request) -> http::Response<Body> {
    let content_type = request.headers().get(CONTENT_TYPE).cloned();
    let mut response = http::Response::new(request.into_body());
    if let Some(content_type) = content_type {
        response.headers_mut().insert(CONTENT_TYPE, content_type);
    }
    response
}

async fn panics(_request: Request) -> http::Response<String> {
    panic!("this handler panics on purpose")
}

async fn greet(Path(name): Path<String>) -> String {
    format!("Hello, {name}")
}

/// Slow handlers dropped before they finished.
static SLOW_DROPPED: AtomicU64 = AtomicU64::new(0);

/// Counts its own drop unless disarmed: a handler cancelled mid-way.
struct Unfinished;

impl Drop for Unfinished {
    fn drop(&mut self) {
        SLOW_DROPPED.fetch_add(1, Relaxed);
    }
}

async fn slow(request: Request) -> http::Response<String> {
    if request.uri().path() == "/slow/dropped" {
        return text(200, SLOW_DROPPED.load(Relaxed).to_string());
    }
    let ms = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("ms=")))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(5000)
        .min(60_000);
    let unfinished = Unfinished;
    tokio::time::sleep(Duration::from_millis(ms)).await;
    std::mem::forget(unfinished);
    text(200, format!("slept {ms} ms"))
}

async fn visits(request: Request) -> http::Response<String> {
    let Some(visitor) = Visitor::<u64>::of(&request) else {
        return text(500, "no visitor sessions on this route");
    };
    match request.uri().path() {
        "/visits/login" => {
            // A privilege change: new id, same data, the old id dead.
            visitor.rotate();
            text(200, visitor.get().unwrap_or(0).to_string())
        }
        "/visits/logout" => {
            visitor.end();
            text(200, "bye")
        }
        _ => {
            let n = visitor.get().unwrap_or(0) + 1;
            visitor.set(n);
            text(200, n.to_string())
        }
    }
}

/// A filter around every handler: numbers its responses.
fn request_id(mut response: http::Response<ResponseBody>) -> http::Response<ResponseBody> {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // A constant name: `insert("x-request-id", ..)` would copy it for every response.
    const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
    let id = NEXT.fetch_add(1, Relaxed);
    response
        .headers_mut()
        .insert(X_REQUEST_ID, HeaderValue::from(id));
    response
}

/// The configuration: the file's (or the demo site's), the handler routes first, the
/// command line's overrides.
fn configure(args: &Args) -> Result<Config, refserver::ConfigError> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::demo_site(),
    };
    config.add_routes_first(ROUTES)?;
    if !args.listen.is_empty() {
        config.set_listen(args.listen.clone());
    }
    if let Some(workers) = args.workers {
        config.set_workers(workers);
    }
    if let Some(log) = &args.access_log {
        config.set_access_log(log.clone());
    }
    if let Some(store) = &args.visitor_store {
        config.set_visitor_store(store.clone());
    }
    if args.session_idle_ms.is_some() || args.session_absolute_ms.is_some() {
        let (idle, absolute) = config.visitor_timeouts();
        config.set_visitor_timeouts(
            args.session_idle_ms.map_or(idle, Duration::from_millis),
            args.session_absolute_ms
                .map_or(absolute, Duration::from_millis),
        );
    }
    config.validate()?;
    Ok(config)
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    let config = match configure(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("embedded: {e}");
            return ExitCode::from(2);
        }
    };
    // The store `[visitor_sessions]` names: in memory, or in Redis shared with every
    // instance that names the same one.
    let store = match ConfiguredStore::<u64>::from_config(&config) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("embedded: {e}");
            return ExitCode::from(2);
        }
    };

    let app = axum::Router::new().route("/app/greet/{name}", axum::routing::get(greet));
    let sessions = VisitorLayer::with_store(store)
        // The demo is plain HTTP: a browser would not send a `Secure` cookie back.
        .secure(false);

    let running = Builder::new(config)
        .handler("hello", handler_fn(hello))
        .handler("echo", handler_fn(echo))
        .handler("panic", handler_fn(panics))
        .handler("app", app)
        .handler("visits", handler_fn(visits))
        .handler("slow", handler_fn(slow))
        .named_layer("sessions", sessions)
        .layer(tower::util::MapResponseLayer::new(request_id))
        .signals(true)
        .start();
    let running = match running {
        Ok(running) => running,
        Err(e) => {
            eprintln!("embedded: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    for listening in running.listeners() {
        let _ = writeln!(stdout, "listening on {listening}");
    }
    let _ = stdout.flush();
    drop(stdout);
    // SIGTERM or Ctrl-C drains and returns.
    running.wait();
    ExitCode::SUCCESS
}
