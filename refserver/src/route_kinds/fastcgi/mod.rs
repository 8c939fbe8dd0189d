//! The `fastcgi` route kind: requests handed to persistent FastCGI applications over
//! pooled, multiplexed connections, through the seam.
//!
//! | step | where |
//! |---|---|
//! | which script (`root`: a file with the suffix; `program`: one for the prefix), `PATH_INFO`, the params | cgi-env (`ScriptResolver`, `Environment`), via `gateway.rs` |
//! | upstream choice (least busy that is up), pools, `GET_VALUES`, health | `upstream.rs` |
//! | one connection's bytes, requests multiplexed on it, `ABORT_REQUEST` | `conn.rs` |
//! | request body to `STDIN`, `STDOUT` parsed and streamed out, failures | `exchange.rs` |
//!
//! | applications the server spawns and supervises (`spawn = { .. }`) | `spawn.rs` |
//! | visitors kept on one upstream (`sticky_cookie`) | `sticky.rs` |
//!
//! Routes are compiled without the server; [`Gateway::install`] starts the applications
//! they spawn and attaches them to the server's upstreams. Both are kept across reloads,
//! so pools, health and unchanged applications survive a SIGHUP.

mod conn;
mod exchange;
pub(crate) mod spawn;
mod sticky;
mod upstream;

pub(crate) use sticky::Sticky;

use crate::config::{ConfigError, FastCgiConfig, UnknownLength};
use crate::exchange::{Exchange, Request};
use crate::route_kinds::gateway;
use crate::router::Router;
use bytes::Bytes;
use cgi_env::ScriptResolver;
use spawn::{Apps, SpawnConfig};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;
pub(crate) use upstream::Upstreams;
use upstream::{Address, Settings, UpstreamSet};

/// A compiled `fastcgi` route.
#[derive(Debug)]
pub(crate) struct FastCgiRoute {
    resolver: ScriptResolver,
    extra_env: Vec<(Bytes, Bytes)>,
    addresses: Vec<Address>,
    settings: Settings,
    read_timeout: Duration,
    send_timeout: Duration,
    unknown_length: UnknownLength,
    spawn: Option<SpawnConfig>,
    sticky_cookie: Option<String>,
    upstreams: OnceLock<UpstreamSet>,
}

impl FastCgiRoute {
    /// Compiles route `n`'s `fastcgi` table; `prefix` is the route's path prefix.
    pub(crate) fn new(
        n: usize,
        prefix: Option<&str>,
        c: &FastCgiConfig,
    ) -> Result<Self, ConfigError> {
        let err = |m: String| ConfigError::new(format!("route {n}: fastcgi: {m}"));
        let prefix = prefix.unwrap_or("/").as_bytes();
        let mut resolver = match (&c.root, &c.program) {
            (Some(root), None) => ScriptResolver::directory(prefix, root)
                .map_err(|e| err(format!("root `{}`: {e}", root.display())))?
                .require_executable(false)
                .with_script_suffix(c.script_suffix.as_bytes())
                .with_index(c.index.as_bytes()),
            // The program runs where the application runs, maybe on another host: not
            // checked here.
            (None, Some(program)) => ScriptResolver::single_program(prefix, program),
            _ => return Err(err("needs exactly one of `root` and `program`".to_owned())),
        };
        if let Some(root) = &c.document_root {
            resolver = resolver.with_document_root(root);
        }
        if c.upstreams.is_empty() && c.spawn.is_none() {
            return Err(err("needs `upstreams` or `spawn`".to_owned()));
        }
        if let Some(spawn) = &c.spawn {
            spawn.validate().map_err(|e| err(format!("spawn: {e}")))?;
        }
        if let Some(cookie) = &c.sticky_cookie {
            session_core::visitor::SetCookie::new(cookie, "0")
                .secure(false)
                .encode()
                .map_err(|e| err(format!("sticky_cookie `{cookie}`: {e}")))?;
        }
        let addresses = c
            .upstreams
            .iter()
            .map(|a| Address::parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?;
        Ok(Self {
            resolver,
            extra_env: gateway::extra_env(&c.env).map_err(err)?,
            addresses,
            settings: Settings {
                keep_conn: c.keep_conn,
                multiplex: c.multiplex,
                max_conns: c.max_conns,
                processes: c.spawn.as_ref().map_or(0, |s| s.processes),
                connect_timeout: Duration::from_millis(c.connect_timeout_ms),
                fail_timeout: Duration::from_millis(c.fail_timeout_ms),
            },
            read_timeout: Duration::from_millis(c.read_timeout_ms),
            send_timeout: Duration::from_millis(c.send_timeout_ms),
            unknown_length: c.unknown_length,
            spawn: c.spawn.clone(),
            sticky_cookie: c.sticky_cookie.clone(),
            upstreams: OnceLock::new(),
        })
    }

    /// Attaches the route to the server's upstreams (once, before it serves): its
    /// spawned application's socket first, then its `upstreams`.
    fn bind(&self, upstreams: &Upstreams, app: Option<&Arc<spawn::App>>) {
        let spawned = app.map(|a| Address::Unix(a.socket_path().to_path_buf()));
        let set = UpstreamSet {
            upstreams: spawned
                .into_iter()
                .chain(self.addresses.iter().cloned())
                .map(|a| upstreams.get(a, self.settings.clone()))
                .collect(),
        };
        let _ = self.upstreams.set(set);
    }

    /// Starts the exchange for a request.
    pub(crate) fn start(&'static self, request: &Request<'_>) -> Box<dyn Exchange> {
        let counters = &request.server.counters.fastcgi;
        counters.requests.fetch_add(1, Relaxed);
        let fail = |status: u16, message: String| {
            gateway::refuse(request, counters, "fastcgi", status, &message)
        };
        let Some(upstreams) = self.upstreams.get() else {
            return fail(500, "route not bound to the server's upstreams".to_owned());
        };
        let script = match self.resolver.resolve_request(request.head) {
            Ok(script) => script,
            Err(e) => return fail(e.status_code(), e.to_string()),
        };
        let name = script.script_filename.display().to_string();
        if request.head.framing() == http_proto::Framing::Chunked
            && self.unknown_length == UnknownLength::Refuse
        {
            return fail(411, format!("{name}: a body of unknown length is refused"));
        }
        let env = match gateway::environment(request, &script, &self.extra_env) {
            Ok(env) => env,
            Err(e) => return fail(e.status, format!("{name}: {}", e.message)),
        };
        let sticky = self
            .sticky_cookie
            .as_deref()
            .map(|cookie| (cookie, Sticky::presented(request.head, cookie)));
        Box::new(exchange::FastCgiExchange::new(
            self,
            request,
            upstreams.order(),
            name,
            env,
            sticky,
        ))
    }
}

/// The FastCGI state of a server: upstreams with their pools, and spawned applications.
#[derive(Debug)]
pub(crate) struct Gateway {
    pub(crate) upstreams: Upstreams,
    pub(crate) apps: Apps,
    /// Which upstream each sticky visitor is kept on.
    pub(crate) sticky: Sticky,
    /// What the routes in force spawn.
    wanted: Mutex<Vec<SpawnConfig>>,
}

impl Gateway {
    /// No upstreams or applications yet; sticky visitors kept in `sticky`.
    pub(crate) fn new(sticky: Sticky) -> Self {
        Self {
            upstreams: Upstreams::default(),
            apps: Apps::default(),
            sticky,
            wanted: Mutex::default(),
        }
    }

    /// Starts the applications `router`'s routes spawn (those already running with the
    /// same settings are kept as they are) and attaches its FastCGI routes to their
    /// upstreams. The applications of the routes still in force keep running until
    /// [`retire`](Self::retire). On an error nothing the new routes started is left.
    pub(crate) fn install(&self, router: &Router) -> Result<(), String> {
        let routes: Vec<&FastCgiRoute> = router.fastcgi_routes().collect();
        let specs: Vec<SpawnConfig> = routes.iter().filter_map(|r| r.spawn.clone()).collect();
        let old = self
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        // The old ones stay until retire, unless a new one takes over their socket path.
        let taken: Vec<_> = specs.iter().filter_map(|s| s.socket.clone()).collect();
        let mut keep = specs.clone();
        keep.extend(
            old.iter()
                .filter(|o| {
                    !specs.contains(o) && o.socket.as_ref().is_none_or(|p| !taken.contains(p))
                })
                .cloned(),
        );
        let mut apps = Vec::with_capacity(specs.len());
        for (spec, started) in specs.iter().zip(self.apps.reconcile(&keep)) {
            match started {
                Ok(app) => apps.push(app),
                Err(e) => {
                    self.apps.reconcile(&old);
                    return Err(format!("fastcgi spawn `{}`: {e}", spec.command.join(" ")));
                }
            }
        }
        for route in routes {
            let app = route
                .spawn
                .as_ref()
                .and_then(|s| specs.iter().position(|x| x == s))
                .map(|i| &apps[i]);
            route.bind(&self.upstreams, app);
        }
        *self.wanted.lock().unwrap_or_else(PoisonError::into_inner) = specs;
        Ok(())
    }

    /// Stops the applications no route in force spawns any more.
    pub(crate) fn retire(&self) {
        let wanted = self
            .wanted
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        self.apps.reconcile(&wanted);
    }
}
