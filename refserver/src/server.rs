//! The server: the state every session shares, start-up (listeners, worker runtimes,
//! signals), the reload (SIGHUP or the embedding program's handle), and the drain at
//! shutdown. The binary and an embedding program start it the same way ([`start`]).
//!
//! The jobs around it live one per file: accepting and admitting connections
//! (`accept.rs`), the task that moves one session's bytes and timers (`session_task.rs`),
//! routing a request to its route kind (`dispatch.rs`), and the seam every route kind
//! answers through (`exchange.rs`, `response.rs`, `route_kinds/`).

use crate::accept::{self, Serving};
use crate::access_log::AccessLog;
use crate::config::{Config, ListenAddr, RuntimeLayout};
use crate::embed::Listening;
use crate::listener;
use crate::route_kinds::fastcgi::{Gateway, Sticky};
use crate::route_kinds::handler::service::Handlers;
use crate::route_kinds::status::{GatewaySnapshot, HandlerSnapshot, StatusSnapshot};
use crate::router::{RouteTable, Router};
use crate::shutdown::{self, SignalKindSeen};
use crate::tls::TlsCounters;
use crate::tls::acceptor::TlsAcceptor;
use crate::traffic::Traffic;
use session_core::Registry;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
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
    /// FastCGI upstreams, their connection pools and the applications the server spawns,
    /// kept across reloads.
    pub(crate) fastcgi: Gateway,
    /// Bytes in and out, responses by class, requests over the last minute.
    pub(crate) traffic: Traffic,
    /// Reloads applied since start.
    pub(crate) reloads: AtomicU64,
    /// Size of one session task's future (it holds the `Session` inline), once known.
    pub(crate) session_task_bytes: AtomicU64,
    /// The in-process handlers and layers registered by name, with their counters.
    pub(crate) handlers: Arc<Handlers>,
    /// Handshakes on every TLS listener.
    pub(crate) tls: Arc<TlsCounters>,
    /// The TLS listeners by address as configured, for the reload to re-read their
    /// certificates.
    pub(crate) tls_listeners: Mutex<Vec<(String, Arc<TlsAcceptor>)>>,
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
    #[cfg(test)]
    pub(crate) fn new(config: &Config) -> Result<Self, Box<dyn std::error::Error>> {
        Self::with_handlers(config, Arc::default())
    }

    /// Compiles routes (`handler` routes against `handlers`) and starts the access log.
    pub(crate) fn with_handlers(
        config: &Config,
        handlers: Arc<Handlers>,
    ) -> Result<Self, Box<dyn std::error::Error>> {
        let router = Router::with_handlers(&config.routes, &handlers)?;
        let fastcgi = Gateway::new(Sticky::new(&config.visitor_sessions)?);
        fastcgi.install(&router)?;
        fastcgi.retire();
        Ok(Self {
            routes: RouteTable::new(router),
            fastcgi,
            registry: Registry::new(config.limits.registry_config()),
            limits: RwLock::new(Arc::new(config.limits.session_limits())),
            access_log: AccessLog::start(
                &config.access_log,
                config.access_log_format,
                config.access_log_time,
            )
            .map_err(|e| format!("access_log `{}`: {e}", config.access_log))?,
            started: Instant::now(),
            counters: Counters::default(),
            session_task_bytes: AtomicU64::new(0),
            traffic: Traffic::new(),
            reloads: AtomicU64::new(0),
            handlers,
            tls: Arc::default(),
            tls_listeners: Mutex::default(),
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
            fastcgi_upstreams: self.fastcgi.upstreams.snapshot(),
            fastcgi_apps: self.fastcgi.apps.snapshot(),
            handlers: self
                .handlers
                .handlers
                .iter()
                .map(|(name, h)| HandlerSnapshot::of(name, &h.counters))
                .collect(),
            idle_session_task_bytes: (task > 0).then_some(task),
            uptime_secs: self.started.elapsed().as_secs(),
            traffic: self.traffic.snapshot(),
            reloads: self.reloads.load(Relaxed),
            routes: self.routes.get().route_counts(),
            tls: self.has_tls().then(|| self.tls.snapshot()),
            visitor_store: self.fastcgi.sticky.health(),
        }
    }

    /// Whether any listener serves TLS.
    fn has_tls(&self) -> bool {
        !self
            .tls_listeners
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// Reads the configuration again (the file and the command line's overrides), for SIGHUP.
pub(crate) type ReloadConfig = Box<dyn Fn() -> Result<Config, Box<dyn std::error::Error>> + Send>;

/// How a server is started, beyond its configuration.
pub(crate) struct Launch {
    /// The in-process handlers, by name.
    pub(crate) handlers: Arc<Handlers>,
    /// React to SIGTERM/SIGINT (drain and stop) and SIGHUP (reload from `reload`).
    pub(crate) signals: bool,
    /// Where SIGHUP reads the configuration again; without it SIGHUP is logged only.
    pub(crate) reload: Option<ReloadConfig>,
}

/// What the running server's handle asks of its control thread.
pub(crate) enum Command {
    /// Apply this configuration; the outcome goes back on the channel.
    Reload(Box<Config>, std::sync::mpsc::Sender<Result<(), String>>),
    /// Drain and stop.
    Stop,
}

/// A started server: where it listens, and its control thread.
pub(crate) struct Started {
    pub(crate) listeners: Vec<Listening>,
    pub(crate) commands: tokio::sync::mpsc::UnboundedSender<Command>,
    /// Ends once the drain is over and the workers have stopped.
    pub(crate) control: std::thread::JoinHandle<()>,
}

/// How long a stopped server waits for its worker threads to finish before leaving them
/// (a handler blocking its thread would hold them forever).
const WORKER_JOIN: Duration = Duration::from_secs(2);

/// Compiles the routes, binds every listener, starts the workers and the control thread
/// (signals if asked, reloads, the drain at stop), and returns where it listens.
pub(crate) fn start(
    config: &Config,
    launch: Launch,
) -> Result<Started, Box<dyn std::error::Error>> {
    let control = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    // Registered before the listeners are announced, so a SIGTERM sent right after
    // `listening on` is never the default (killing) action.
    let mut signals = if launch.signals {
        let _context = control.enter();
        Some(shutdown::Signals::register()?)
    } else {
        None
    };
    let server = Arc::new(Server::with_handlers(config, launch.handlers)?);
    let workers = config.effective_workers();
    let per_worker = config.runtime == RuntimeLayout::PerWorker;
    let sets = if per_worker { workers } else { 1 };
    let mut listeners: Vec<Vec<StdListener>> = (0..sets).map(|_| Vec::new()).collect();
    let mut bound = Vec::new();
    for (listen, addr) in config.listen.iter().zip(config.listen_addrs()?) {
        match addr {
            ListenAddr::Tcp(addr) => {
                // Certificates first: a bad file fails the start before a port is taken.
                let serving = match listen.tls() {
                    Some(tls) => {
                        let acceptor = Arc::new(TlsAcceptor::new(tls, Arc::clone(&server.tls))?);
                        server
                            .tls_listeners
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push((listen.addr().to_owned(), Arc::clone(&acceptor)));
                        Serving::Tls(acceptor)
                    }
                    None => Serving::Plain {
                        redirect_https: listen.redirect_https(),
                    },
                };
                let first = listener::bind_tcp(addr, config.backlog, per_worker)
                    .map_err(|e| format!("listen {addr}: {e}"))?;
                let local = first.local_addr()?;
                bound.push(match serving {
                    Serving::Tls(_) => Listening::Tls(local),
                    Serving::Plain { .. } => Listening::Tcp(local),
                });
                listeners[0].push(StdListener::Tcp(first, serving.clone()));
                for set in &mut listeners[1..] {
                    let more = listener::bind_tcp_sibling(local, config.backlog)
                        .map_err(|e| format!("listen {local}: {e}"))?;
                    set.push(StdListener::Tcp(more, serving.clone()));
                }
            }
            ListenAddr::Unix(path) => {
                let first = listener::bind_unix(&path, config.backlog)
                    .map_err(|e| format!("listen unix:{}: {e}", path.display()))?;
                for set in &mut listeners[1..] {
                    set.push(StdListener::Unix(first.try_clone()?));
                }
                listeners[0].push(StdListener::Unix(first));
                bound.push(Listening::Unix(path));
            }
        }
    }

    let (trigger, signal) = shutdown::channel();
    tracing::info!(
        workers,
        runtime = ?config.runtime,
        routes = server.routes.get().routes().len(),
        "refserver {} started",
        env!("CARGO_PKG_VERSION")
    );
    let mut worker_threads = Vec::new();
    for (i, set) in listeners.into_iter().enumerate() {
        let server = Arc::clone(&server);
        let signal = signal.clone();
        let builder = std::thread::Builder::new().name(format!("worker-{i}"));
        worker_threads.push(builder.spawn(move || {
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
        })?);
    }

    let (commands, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    let mut running = config.clone();
    let reload_config = launch.reload;
    let control = std::thread::Builder::new()
        .name("control".to_owned())
        .spawn(move || {
            control.block_on(async {
                let name = loop {
                    let signal = async {
                        match &mut signals {
                            Some(signals) => signals.wait().await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        seen = signal => match seen {
                            SignalKindSeen::Stop(name) => break name,
                            SignalKindSeen::Reload => match &reload_config {
                                Some(read) => match read() {
                                    Ok(new) => {
                                        let _ = reload(&server, &mut running, new);
                                    }
                                    Err(e) => tracing::error!(
                                        "SIGHUP: configuration not reloaded, the running one stays: {e}"
                                    ),
                                },
                                None => tracing::warn!("SIGHUP: no configuration source to reload from"),
                            },
                        },
                        command = inbox.recv() => match command {
                            Some(Command::Reload(new, reply)) => {
                                let _ = reply.send(reload(&server, &mut running, *new));
                            }
                            // Every handle dropped counts as a stop too.
                            Some(Command::Stop) | None => break "stop",
                        },
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
                    tracing::info!("drained; stopping");
                }
            });
            trigger.finish();
            let until = Instant::now() + WORKER_JOIN;
            for worker in worker_threads {
                while !worker.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                if worker.is_finished() {
                    let _ = worker.join();
                }
            }
            // Spawned applications go with the server: stopped and reaped.
            server.fastcgi.apps.stop_all();
            server.access_log.stop();
            if server.access_log.dropped() > 0 {
                tracing::warn!(
                    "access log dropped {} entries (writer behind)",
                    server.access_log.dropped()
                );
            }
        })?;
    Ok(Started {
        listeners: bound,
        commands,
        control,
    })
}

/// A reload (SIGHUP or the handle's): applies a new configuration without dropping
/// sessions.
///
/// Routes, the access log (also reopened, for log rotation), the drain deadline and the
/// limits of sessions accepted from now on change at once; sessions already open keep
/// their limits. Listeners, workers, the runtime layout, the backlog and the registry's
/// `max_sessions`/`overload` need a restart: a change there is logged and not applied.
/// A configuration that does not compile leaves the running one in force (the error is
/// logged and returned).
fn reload(server: &Server, running: &mut Config, mut new: Config) -> Result<(), String> {
    let compiled = new
        .validate()
        .and_then(|()| Router::with_handlers(&new.routes, &server.handlers));
    let router = match compiled {
        Ok(router) => router,
        Err(e) => {
            tracing::error!("reload: configuration not reloaded, the running one stays: {e}");
            return Err(e.to_string());
        }
    };
    // New spawned applications start now; those unchanged keep running untouched.
    if let Err(e) = server.fastcgi.install(&router) {
        tracing::error!("reload: configuration not reloaded, the running one stays: {e}");
        return Err(e);
    }
    let mut needs_restart = Vec::new();
    let shapes = |c: &Config| {
        c.listen
            .iter()
            .map(|l| {
                let (addr, tls, redirect) = l.shape();
                (addr.to_owned(), tls, redirect)
            })
            .collect::<Vec<_>>()
    };
    if shapes(&new) != shapes(running) {
        needs_restart.push("listen");
    }
    reload_certificates(server, &new);
    if new.workers != running.workers {
        needs_restart.push("workers");
    }
    if new.runtime != running.runtime {
        needs_restart.push("runtime");
    }
    if new.backlog != running.backlog {
        needs_restart.push("backlog");
    }
    if new.visitor_sessions != running.visitor_sessions {
        needs_restart.push("visitor_sessions");
    }
    if new.limits.max_sessions != running.limits.max_sessions
        || new.limits.overload != running.limits.overload
    {
        needs_restart.push("limits.max_sessions/overload");
    }
    if let Err(e) =
        server
            .access_log
            .reopen(&new.access_log, new.access_log_format, new.access_log_time)
    {
        tracing::error!(
            "reload: access log `{}` not opened, keeping the current one: {e}",
            new.access_log
        );
        new.access_log.clone_from(&running.access_log);
    }
    let routes = router.routes().len();
    server.routes.replace(router);
    server.reloads.fetch_add(1, Relaxed);
    // Requests dispatched from now on use the new applications; the old ones go.
    server.fastcgi.retire();
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
    new.visitor_sessions.clone_from(&running.visitor_sessions);
    *running = new;
    tracing::info!("reload: configuration reloaded: {routes} routes; open sessions kept");
    if !needs_restart.is_empty() {
        tracing::warn!(
            "reload: {} changed and takes effect only on restart",
            needs_restart.join(", ")
        );
    }
    Ok(())
}

/// Reads every TLS listener's certificates again, from the files `new` names for its
/// address: new sessions get them, open ones keep theirs. A listener whose new files do not
/// load keeps its running certificates, and the error log says why.
fn reload_certificates(server: &Server, new: &Config) {
    let listeners = server
        .tls_listeners
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    for (addr, acceptor) in listeners.iter() {
        let Some(tls) = new
            .listen
            .iter()
            .find(|l| l.addr() == addr)
            .and_then(|l| l.tls())
        else {
            continue; // no longer TLS: a restart's business, warned about with `listen`
        };
        match acceptor.reload(tls) {
            Ok(()) => tracing::info!("reload: listen {addr}: certificates reloaded"),
            Err(e) => tracing::error!(
                "reload: listen {addr}: certificates not reloaded, the running ones stay: {e}"
            ),
        }
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
    /// TCP, plain or TLS.
    Tcp(std::net::TcpListener, Serving),
    /// A Unix domain socket.
    Unix(std::os::unix::net::UnixListener),
}
