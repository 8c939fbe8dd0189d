//! The server: the state every session shares, start-up (listeners, worker runtimes,
//! signals), the SIGHUP reload, and the drain at shutdown.
//!
//! The jobs around it live one per file: accepting and admitting connections
//! (`accept.rs`), the task that moves one session's bytes and timers (`session_task.rs`),
//! routing a request to its route kind (`dispatch.rs`), and the seam every route kind
//! answers through (`exchange.rs`, `response.rs`, `route_kinds/`).

use crate::accept;
use crate::access_log::AccessLog;
use crate::config::{Config, ListenAddr, RuntimeLayout};
use crate::listener;
use crate::route_kinds::fastcgi::Upstreams;
use crate::route_kinds::status::{GatewaySnapshot, StatusSnapshot};
use crate::router::{RouteTable, Router};
use crate::shutdown::{self, SignalKindSeen};
use session_core::Registry;
use std::io::{self, Write};
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

/// What every session task shares, and where route kinds keep state shared by all
/// sessions (pools, counters); each exchange reaches it through `Request::server`.
#[derive(Debug)]
pub(crate) struct Server {
    /// The routes in force.
    pub(crate) routes: RouteTable,
    /// Sessions by phase, admission and the drain signal.
    pub(crate) registry: Registry,
    /// Limits for sessions accepted from now on (a reload replaces them; open sessions
    /// keep the ones they started with).
    pub(crate) limits: RwLock<Arc<session_core::Limits>>,
    /// The access log.
    pub(crate) access_log: AccessLog,
    started: Instant,
    /// Per-gateway counters for the status page.
    pub(crate) counters: Counters,
    /// FastCGI upstreams and their connection pools, kept across reloads.
    pub(crate) upstreams: Upstreams,
    /// Size of one session task's future (it holds the `Session` inline), once known.
    pub(crate) session_task_bytes: AtomicU64,
}

/// The gateways' counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    /// Requests routed to CGI.
    pub(crate) cgi: GatewayCounters,
    /// Requests routed to FastCGI.
    pub(crate) fastcgi: GatewayCounters,
}

/// One gateway's live counts.
#[derive(Debug, Default)]
pub(crate) struct GatewayCounters {
    /// Requests routed to it.
    pub(crate) requests: AtomicU64,
    /// Requests it failed.
    pub(crate) errors: AtomicU64,
    /// Requests that ran past their timeout.
    pub(crate) timeouts: AtomicU64,
    /// Children (or upstream requests) running now.
    pub(crate) running: AtomicU64,
}

impl Server {
    /// Compiles routes and starts the access log.
    pub(crate) fn new(config: &Config) -> Result<Self, Box<dyn std::error::Error>> {
        let router = Router::new(&config.routes)?;
        let upstreams = Upstreams::default();
        router.bind(&upstreams);
        Ok(Self {
            routes: RouteTable::new(router),
            upstreams,
            registry: Registry::new(config.limits.registry_config()),
            limits: RwLock::new(Arc::new(config.limits.session_limits())),
            access_log: AccessLog::start(&config.access_log)
                .map_err(|e| format!("access_log `{}`: {e}", config.access_log))?,
            started: Instant::now(),
            counters: Counters::default(),
            session_task_bytes: AtomicU64::new(0),
        })
    }

    /// The counters the status page shows, now.
    pub(crate) fn status_snapshot(&self) -> StatusSnapshot {
        let s = self.registry.snapshot();
        let gateway = |name, c: &GatewayCounters| GatewaySnapshot {
            name,
            requests: c.requests.load(Relaxed),
            errors: c.errors.load(Relaxed),
            timeouts: c.timeouts.load(Relaxed),
            running: c.running.load(Relaxed),
        };
        let task = self.session_task_bytes.load(Relaxed);
        StatusSnapshot {
            active: s.active as u64,
            phases: s
                .by_phase
                .iter()
                .filter(|(p, _)| *p != session_core::Phase::Closed)
                .map(|(p, n)| (p.name(), *n as u64))
                .collect(),
            accepted: s.accepted + s.rejected,
            handled: s.accepted,
            requests: s.requests,
            gateways: vec![
                gateway("cgi", &self.counters.cgi),
                gateway("fastcgi", &self.counters.fastcgi),
            ],
            fastcgi_upstreams: self.upstreams.snapshot(),
            idle_session_task_bytes: (task > 0).then_some(task),
            uptime_secs: self.started.elapsed().as_secs(),
        }
    }
}

/// Reads the configuration again (the file and the command line's overrides).
pub(crate) type ReloadConfig<'a> = &'a dyn Fn() -> Result<Config, Box<dyn std::error::Error>>;

/// Binds every listener, prints where it listens, runs the workers, reloads on SIGHUP
/// with `reload_config`, and returns once a SIGTERM/SIGINT drain is over (the caller
/// exits 0).
pub(crate) fn run(
    config: &Config,
    reload_config: ReloadConfig<'_>,
) -> Result<(), Box<dyn std::error::Error>> {
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut signals = {
        let _context = control.enter();
        shutdown::Signals::register()?
    };
    let workers = config.effective_workers();
    let per_worker = config.runtime == RuntimeLayout::PerWorker;
    let sets = if per_worker { workers } else { 1 };
    let mut listeners: Vec<Vec<StdListener>> = (0..sets).map(|_| Vec::new()).collect();
    let mut stdout = io::stdout().lock();
    for addr in config.listen_addrs()? {
        match addr {
            ListenAddr::Tcp(addr) => {
                let first = listener::bind_tcp(addr, config.backlog, per_worker)
                    .map_err(|e| format!("listen {addr}: {e}"))?;
                let bound = first.local_addr()?;
                writeln!(stdout, "listening on http://{bound}/")?;
                listeners[0].push(StdListener::Tcp(first));
                for set in &mut listeners[1..] {
                    let more = listener::bind_tcp(bound, config.backlog, true)
                        .map_err(|e| format!("listen {bound}: {e}"))?;
                    set.push(StdListener::Tcp(more));
                }
            }
            ListenAddr::Unix(path) => {
                let first = listener::bind_unix(&path, config.backlog)
                    .map_err(|e| format!("listen unix:{}: {e}", path.display()))?;
                writeln!(stdout, "listening on unix:{}", path.display())?;
                for set in &mut listeners[1..] {
                    set.push(StdListener::Unix(first.try_clone()?));
                }
                listeners[0].push(StdListener::Unix(first));
            }
        }
    }
    stdout.flush()?;
    drop(stdout);

    let server = Arc::new(Server::new(config)?);
    let (trigger, signal) = shutdown::channel();
    tracing::info!(
        workers,
        runtime = ?config.runtime,
        routes = server.routes.get().routes().len(),
        "refserver {} started",
        env!("CARGO_PKG_VERSION")
    );
    for (i, set) in listeners.into_iter().enumerate() {
        let server = Arc::clone(&server);
        let signal = signal.clone();
        let builder = std::thread::Builder::new().name(format!("worker-{i}"));
        builder.spawn(move || {
            let runtime = if per_worker {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            } else {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
            };
            match runtime {
                Ok(rt) => rt.block_on(accept::worker(set, server, signal)),
                Err(e) => tracing::error!("worker {i}: cannot start a runtime: {e}"),
            }
        })?;
    }

    let mut running = config.clone();
    control.block_on(async {
        let name = loop {
            match signals.wait().await {
                SignalKindSeen::Stop(name) => break name,
                SignalKindSeen::Reload => reload(&server, &mut running, reload_config),
            }
        };
        let active = server.registry.active();
        tracing::info!("{name}: stopped accepting, draining {active} sessions");
        trigger.trigger(&server.registry);
        let deadline = Duration::from_millis(running.shutdown_timeout_ms);
        let left = shutdown::drain(deadline, || busy_sessions(&server.registry)).await;
        if left > 0 {
            tracing::warn!("shutdown deadline passed with {left} sessions open; closing them");
        } else {
            tracing::info!("drained; exiting");
        }
    });
    server.access_log.stop();
    if server.access_log.dropped() > 0 {
        tracing::warn!(
            "access log dropped {} entries (writer behind)",
            server.access_log.dropped()
        );
    }
    Ok(())
}

/// SIGHUP: applies a new configuration without dropping sessions.
///
/// Routes, the access log (also reopened, for log rotation), the drain deadline and the
/// limits of sessions accepted from now on change at once; sessions already open keep
/// their limits. Listeners, workers, the runtime layout, the backlog and the registry's
/// `max_sessions`/`overload` need a restart: a change there is logged and not applied.
/// A configuration that does not load leaves the running one in force.
fn reload(server: &Server, running: &mut Config, reload_config: ReloadConfig<'_>) {
    let mut new = match reload_config() {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("SIGHUP: configuration not reloaded, the running one stays: {e}");
            return;
        }
    };
    let router = match Router::new(&new.routes) {
        Ok(router) => router,
        Err(e) => {
            tracing::error!("SIGHUP: configuration not reloaded, the running one stays: {e}");
            return;
        }
    };
    let mut needs_restart = Vec::new();
    if new.listen != running.listen {
        needs_restart.push("listen");
    }
    if new.workers != running.workers {
        needs_restart.push("workers");
    }
    if new.runtime != running.runtime {
        needs_restart.push("runtime");
    }
    if new.backlog != running.backlog {
        needs_restart.push("backlog");
    }
    if new.limits.max_sessions != running.limits.max_sessions
        || new.limits.overload != running.limits.overload
    {
        needs_restart.push("limits.max_sessions/overload");
    }
    if let Err(e) = server.access_log.reopen(&new.access_log) {
        tracing::error!(
            "SIGHUP: access log `{}` not opened, keeping the current one: {e}",
            new.access_log
        );
        new.access_log.clone_from(&running.access_log);
    }
    let routes = router.routes().len();
    router.bind(&server.upstreams);
    server.routes.replace(router);
    *server
        .limits
        .write()
        .unwrap_or_else(PoisonError::into_inner) = Arc::new(new.limits.session_limits());
    // What needs a restart keeps its running value, so the next reload compares alike.
    new.listen.clone_from(&running.listen);
    new.workers = running.workers;
    new.runtime = running.runtime;
    new.backlog = running.backlog;
    new.limits.max_sessions = running.limits.max_sessions;
    new.limits.overload = running.limits.overload;
    *running = new;
    tracing::info!("SIGHUP: configuration reloaded: {routes} routes; open sessions kept");
    if !needs_restart.is_empty() {
        tracing::warn!(
            "SIGHUP: {} changed and takes effect only on restart",
            needs_restart.join(", ")
        );
    }
}

/// Sessions the drain waits for: those with a request in flight or output to flush.
///
/// Idle and head-reading sessions are not counted: session-core closes them at once when
/// it sees the drain (RFC 9112 §9.6 lets a server close an idle connection at any time),
/// so exiting closes them the same way, without keeping a wake-up in every session. A
/// session with a request in flight notices the drain on its next poll and ends that
/// response with `Connection: close`.
fn busy_sessions(registry: &Registry) -> usize {
    use session_core::Phase;
    registry
        .snapshot()
        .by_phase
        .iter()
        .filter(|(p, _)| {
            matches!(
                p,
                Phase::ReadingBody | Phase::Handling | Phase::Writing | Phase::Draining
            )
        })
        .map(|(_, n)| n)
        .sum()
}

/// A listening socket before it is registered with a runtime.
#[derive(Debug)]
pub(crate) enum StdListener {
    /// TCP.
    Tcp(std::net::TcpListener),
    /// A Unix domain socket.
    Unix(std::os::unix::net::UnixListener),
}
