//! The driver: runtimes, accept loops, and one task per session that moves bytes and
//! timers for session-core and nothing else.
//!
//! Every protocol decision (framing, keep-alive, pipelining order, `100 Continue`,
//! deadlines, 408/413/431 answers, back-pressure, drain) is made by
//! [`session_core::Session`]; a session task reads when the session `wants_read`, writes
//! its `pending_output`, sleeps until its `poll_timeout`, and hands each request to a
//! route kind, which plans a [`Reply`].

use crate::access_log::{AccessLog, Entry};
use crate::config::{Config, ListenAddr, RuntimeLayout};
use crate::listener::{self, AcceptError};
use crate::reply::{Body, Reply};
use crate::router::{FixedResponse, RouteKind, Router};
use crate::shutdown::{self, ShutdownSignal, SignalKindSeen};
use crate::static_files;
use crate::status::{GatewayCounts, StatusSnapshot};
use bytes::BytesMut;
use http_proto::{DateCache, Method, RequestHead, Response};
use session_core::{Admission, Event, OverloadPolicy, Registry, Session, Ticket};
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::net::IpAddr;
use std::os::unix::fs::FileExt;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{Interest, Ready};
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// Bytes of a file body read per chunk, and the output level below which the next one is read.
const FILE_CHUNK: usize = 64 * 1024;

/// What every session task shares.
#[derive(Debug)]
pub(crate) struct Server {
    routes: RouteTable,
    registry: Registry,
    /// Limits for sessions accepted from now on (a reload replaces them; open sessions
    /// keep the ones they started with).
    limits: RwLock<Arc<session_core::Limits>>,
    access_log: AccessLog,
    started: Instant,
    cgi: GatewayCounters,
    fastcgi: GatewayCounters,
    /// Size of one session task's future (it holds the `Session` inline), once known.
    session_task_bytes: AtomicU64,
}

/// The routes in force. A reload swaps them without putting a lock on the request path:
/// each worker thread caches the current `&'static Router` and re-reads it only when the
/// generation number moved. Routes are leaked on purpose (`Box::leak`): a request in
/// flight may still use the previous ones, and a reload is rare, so each one keeps its
/// predecessor's few kilobytes for the life of the process.
#[derive(Debug)]
struct RouteTable {
    generation: AtomicU64,
    current: RwLock<&'static Router>,
}

/// Generation numbers, unique in the process so a thread's cache never mistakes one
/// table's routes for another's.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CACHED_ROUTES: Cell<(u64, Option<&'static Router>)> = const { Cell::new((0, None)) };
}

impl RouteTable {
    fn new(router: Router) -> Self {
        Self {
            generation: AtomicU64::new(GENERATIONS.fetch_add(1, Relaxed)),
            current: RwLock::new(Box::leak(Box::new(router))),
        }
    }

    /// The routes in force: one atomic load on the common path.
    fn get(&self) -> &'static Router {
        let generation = self.generation.load(Acquire);
        CACHED_ROUTES.with(|cache| match cache.get() {
            (cached, Some(router)) if cached == generation => router,
            _ => {
                let router = *self.current.read().unwrap_or_else(PoisonError::into_inner);
                cache.set((generation, Some(router)));
                router
            }
        })
    }

    fn replace(&self, router: Router) {
        let router: &'static Router = Box::leak(Box::new(router));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = router;
        self.generation
            .store(GENERATIONS.fetch_add(1, Relaxed), Release);
    }
}

#[derive(Debug, Default)]
struct GatewayCounters {
    requests: AtomicU64,
    errors: AtomicU64,
}

impl Server {
    /// Compiles routes and starts the access log.
    pub(crate) fn new(config: &Config) -> Result<Self, Box<dyn std::error::Error>> {
        Ok(Self {
            routes: RouteTable::new(Router::new(&config.routes)?),
            registry: Registry::new(config.limits.registry_config()),
            limits: RwLock::new(Arc::new(config.limits.session_limits())),
            access_log: AccessLog::start(&config.access_log)
                .map_err(|e| format!("access_log `{}`: {e}", config.access_log))?,
            started: Instant::now(),
            cgi: GatewayCounters::default(),
            fastcgi: GatewayCounters::default(),
            session_task_bytes: AtomicU64::new(0),
        })
    }

    fn status_snapshot(&self) -> StatusSnapshot {
        let s = self.registry.snapshot();
        let gateway = |name, c: &GatewayCounters| GatewayCounts {
            name,
            requests: c.requests.load(Relaxed),
            errors: c.errors.load(Relaxed),
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
            gateways: vec![gateway("cgi", &self.cgi), gateway("fastcgi", &self.fastcgi)],
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
                Ok(rt) => rt.block_on(worker(set, server, signal)),
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
enum StdListener {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener),
}

/// One worker: an accept loop per listener; sessions run as tasks on this runtime.
async fn worker(listeners: Vec<StdListener>, server: Arc<Server>, signal: ShutdownSignal) {
    for l in listeners {
        let server = Arc::clone(&server);
        let signal = signal.clone();
        match l {
            StdListener::Tcp(l) => match TcpListener::from_std(l) {
                Ok(l) => {
                    tokio::spawn(accept_tcp(l, server, signal));
                }
                Err(e) => tracing::error!("cannot register listener: {e}"),
            },
            StdListener::Unix(l) => match UnixListener::from_std(l) {
                Ok(l) => {
                    tokio::spawn(accept_unix(l, server, signal));
                }
                Err(e) => tracing::error!("cannot register listener: {e}"),
            },
        }
    }
    // Sessions keep running here until the process exits after the drain.
    std::future::pending::<()>().await;
}

async fn accept_tcp(listener: TcpListener, server: Arc<Server>, mut signal: ShutdownSignal) {
    let mut streak = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            () = signal.begun() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, peer)) => {
                accept_recovered(&mut streak);
                let _ = stream.set_nodelay(true);
                if let Some(ticket) = admit(&server, &stream) {
                    spawn_session(stream, Some(peer.ip()), &server, ticket);
                }
            }
            Err(e) => accept_failed(&e, &mut streak).await,
        }
    }
    // Dropping the listener closes it: nothing new is accepted during the drain.
}

async fn accept_unix(listener: UnixListener, server: Arc<Server>, mut signal: ShutdownSignal) {
    let mut streak = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            () = signal.begun() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((stream, _)) => {
                accept_recovered(&mut streak);
                if let Some(ticket) = admit(&server, &stream) {
                    spawn_session(stream, None, &server, ticket);
                }
            }
            Err(e) => accept_failed(&e, &mut streak).await,
        }
    }
}

/// Out of descriptors (EMFILE) and the like: log, sleep, accept again. Never spin.
///
/// `streak` counts consecutive failures: only the first of a streak is logged (with the
/// count when it ends), so a long descriptor shortage does not flood the error log.
async fn accept_failed(e: &io::Error, streak: &mut u64) {
    match listener::classify_accept_error(e) {
        AcceptError::Retry => {}
        AcceptError::Backoff => {
            if *streak == 0 {
                tracing::warn!(
                    "accept: {e}; pausing {} ms between attempts until it clears",
                    listener::ACCEPT_BACKOFF.as_millis()
                );
            }
            *streak += 1;
            tokio::time::sleep(listener::ACCEPT_BACKOFF).await;
        }
    }
}

/// Logs the end of a streak of accept failures.
fn accept_recovered(streak: &mut u64) {
    if *streak > 0 {
        tracing::warn!("accept: recovered after {streak} failed attempts");
        *streak = 0;
    }
}

/// Registry admission; a rejected connection gets the 503 bytes (or nothing) and is dropped.
fn admit<T: Transport>(server: &Server, stream: &T) -> Option<Ticket> {
    match server.registry.admit() {
        Admission::Accepted(ticket) => Some(ticket),
        Admission::Rejected(OverloadPolicy::Reject503) => {
            // A fresh socket's send buffer takes these bytes in one write.
            let _ = stream.try_write(session_core::OVERLOAD_RESPONSE);
            None
        }
        Admission::Rejected(_) => None,
    }
}

fn spawn_session<T: Transport + Send + Sync + 'static>(
    io: T,
    peer: Option<IpAddr>,
    server: &Arc<Server>,
    ticket: Ticket,
) {
    let limits = Arc::clone(&server.limits.read().unwrap_or_else(PoisonError::into_inner));
    let session = Session::new(limits, ticket, Instant::now());
    let task = serve(io, peer, Arc::clone(server), session);
    if server.session_task_bytes.load(Relaxed) == 0 {
        server
            .session_task_bytes
            .store(std::mem::size_of_val(&task) as u64, Relaxed);
    }
    tokio::spawn(task);
}

/// A stream the session task can wait on and move bytes through without blocking.
pub(crate) trait Transport {
    /// Waits until the socket is ready for one of `interest`.
    fn ready(&self, interest: Interest) -> impl Future<Output = io::Result<Ready>> + Send;
    /// Reads what is there into `buf`'s spare capacity.
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Writes what the socket takes now.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
}

macro_rules! transport {
    ($t:ty) => {
        impl Transport for $t {
            fn ready(&self, interest: Interest) -> impl Future<Output = io::Result<Ready>> + Send {
                <$t>::ready(self, interest)
            }
            fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
                <$t>::try_read_buf(self, buf)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
        }
    };
}
transport!(TcpStream);
transport!(UnixStream);

/// A request dispatched to a route, answered when its body has been read.
///
/// Small on purpose: it lives in every session task's future, so the rare large parts
/// (a planned reply, a log entry) are boxed.
struct Exchange<'s> {
    answer: Answer<'s>,
    head_only: bool,
    log: Option<Box<Entry>>,
}

enum Answer<'s> {
    Fixed(&'s FixedResponse),
    Planned(Box<Reply>),
}

/// A file body being sent, chunk by chunk.
struct FileBody {
    file: std::fs::File,
    offset: u64,
    remaining: u64,
    log: Option<Box<Entry>>,
}

/// One session: move bytes and timers for session-core until it says close.
///
/// Everything here lives in the task's future for the session's whole life, so its size is
/// the memory of an idle session: keep new state small or boxed. (The session arrives
/// built, so no argument slot outlives its move into it; no wake-up for the drain is kept
/// either, see [`busy_sessions`].)
// Not an `async fn`: its parameters would be moved into locals, and the `Session` (the
// bulk of the task) would take two slots in the future. An `async move` block captures it once.
#[allow(clippy::manual_async_fn)]
fn serve<T: Transport>(
    io: T,
    peer: Option<IpAddr>,
    server: Arc<Server>,
    mut session: Session,
) -> impl Future<Output = ()> {
    async move {
        let mut exchange: Option<Exchange<'_>> = None;
        let mut file_body: Option<Box<FileBody>> = None;
        let first = session.poll_timeout().unwrap_or_else(Instant::now);
        let sleep = tokio::time::sleep_until(first.into());
        tokio::pin!(sleep);
        loop {
            let now = Instant::now();
            // 1. Everything session-core has for us now.
            loop {
                match session.poll_event(now) {
                    Event::Request(head) => exchange = Some(dispatch(&server, &head, peer)),
                    Event::BodyData(_) => {} // no route kind here reads request bodies yet
                    Event::BodyEnd => {
                        if let Some(ex) = exchange.take() {
                            match answer(&mut session, ex, &server.access_log, now) {
                                Ok(body) => file_body = body,
                                Err(e) => {
                                    tracing::error!("response refused by http-proto: {e}");
                                    return;
                                }
                            }
                        }
                    }
                    Event::Idle => break,
                    Event::Close => return,
                }
            }
            // 2. The next piece of a file body, when the output has room for it.
            if let Some(body) = &mut file_body
                && session.pending_output().len() < FILE_CHUNK
            {
                match send_file_chunk(&mut session, body, now) {
                    Ok(false) => {}
                    Ok(true) => {
                        if let Some(entry) = file_body.take().and_then(|b| b.log) {
                            server.access_log.log(*entry);
                        }
                    }
                    Err(e) => {
                        tracing::error!("static: reading a file failed mid-response: {e}");
                        return;
                    }
                }
                continue;
            }
            // 3. Write what is pending, as far as the socket takes it.
            let mut wrote = false;
            while !session.pending_output().is_empty() {
                match io.try_write(session.pending_output()) {
                    Ok(0) => return,
                    Ok(n) => {
                        session.handle_written(n, now);
                        wrote = true;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(_) => return,
                }
            }
            if wrote {
                continue;
            }
            // 4. Wait for the socket or the next deadline.
            let Some(deadline) = session.poll_timeout() else {
                return;
            };
            // Lazy re-arming: the keep-alive deadline moves later with every request, and
            // resetting the timer each time costs more than an early wake-up, after which
            // `handle_timeout` finds nothing due and the real deadline is armed.
            if sleep.is_elapsed() || deadline < sleep.deadline().into_std() {
                sleep.as_mut().reset(deadline.into());
            }
            let mut interest = None;
            if session.wants_read() {
                interest = Some(Interest::READABLE);
            }
            if !session.pending_output().is_empty() {
                interest = Some(interest.map_or(Interest::WRITABLE, |i| i | Interest::WRITABLE));
            }
            tokio::select! {
                biased;
                ready = io.ready(interest.unwrap_or(Interest::READABLE)), if interest.is_some() => {
                    let Ok(ready) = ready else { return };
                    if ready.is_readable() || ready.is_read_closed() {
                        match io.try_read_buf(session.read_buf()) {
                            Ok(n) => session.handle_read(n, Instant::now()),
                            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                                // Readiness was stale (seen right after accept, and on a
                                // keep-alive socket until a read finds it empty).
                                session.handle_read_nothing();
                            }
                            Err(_) => return,
                        }
                    }
                }
                () = &mut sleep => session.handle_timeout(Instant::now()),
            }
        }
    }
}

/// Routes a request and plans its answer (sent once its body has been read).
fn dispatch(server: &Server, head: &RequestHead, peer: Option<IpAddr>) -> Exchange<'static> {
    let path = http_proto::semantics::normalize_path(head.path()).map_err(|e| e.status());
    let route = match &path {
        Ok(path) => server.routes.get().find(head.headers().get("host"), path),
        Err(_) => None,
    };
    let answer = match route.map(|r| (r, &r.kind)) {
        None => Answer::Planned(Box::new(Reply::error(match path {
            Err(status) => status,
            Ok(_) => 404,
        }))),
        Some((_, RouteKind::Respond(fixed))) => Answer::Fixed(fixed),
        Some((r, RouteKind::Static(s))) => {
            let path = path.as_deref().unwrap_or_default();
            Answer::Planned(Box::new(static_files::plan(s, r.rest_of(path), head)))
        }
        Some((_, RouteKind::Status)) => Answer::Planned(Box::new(crate::status::reply(
            &server.status_snapshot(),
            head,
        ))),
        Some((r, RouteKind::Cgi(_))) => {
            server.cgi.requests.fetch_add(1, Relaxed);
            server.cgi.errors.fetch_add(1, Relaxed);
            tracing::warn!(
                "route {}: cgi routes arrive with the CGI gateway issue; answering 501",
                r.describe()
            );
            Answer::Planned(Box::new(Reply::error(501)))
        }
        Some((r, RouteKind::FastCgi(_))) => {
            server.fastcgi.requests.fetch_add(1, Relaxed);
            server.fastcgi.errors.fetch_add(1, Relaxed);
            tracing::warn!(
                "route {}: fastcgi routes arrive with the FastCGI gateway issue; answering 501",
                r.describe()
            );
            Answer::Planned(Box::new(Reply::error(501)))
        }
    };
    let log = server.access_log.enabled().then(|| {
        Box::new(Entry {
            remote: peer,
            time: SystemTime::UNIX_EPOCH, // set when the response is sent
            request_line: Entry::request_line_of(head),
            status: 0,
            bytes: 0,
            referer: head.headers().get_bytes("referer"),
            user_agent: head.headers().get_bytes("user-agent"),
        })
    });
    Exchange {
        answer,
        head_only: head.method() == Method::Head,
        log,
    }
}

thread_local! {
    static DATE: RefCell<DateCache> = RefCell::new(DateCache::new(SystemTime::now()));
}

/// Runs `f` with this thread's `Date` value, re-formatted when the second changes.
fn with_date<R>(f: impl FnOnce(&DateCache) -> R) -> R {
    DATE.with(|cell| {
        let mut date = cell.borrow_mut();
        date.update(SystemTime::now());
        f(&date)
    })
}

const SERVER_FIELD: (&[u8], &[u8]) = (b"server", b"refserver");

/// Writes the response into the session and logs it; a file body is returned to be
/// streamed (and logged when complete).
fn answer(
    session: &mut Session,
    ex: Exchange<'_>,
    access_log: &AccessLog,
    now: Instant,
) -> Result<Option<Box<FileBody>>, http_proto::Error> {
    let Exchange {
        answer,
        head_only,
        mut log,
    } = ex;
    let file_body = match answer {
        Answer::Fixed(fixed) => {
            let len = fixed.body.len() as u64;
            let content_type = fixed.content_type.as_deref().unwrap_or_default();
            let fields = [SERVER_FIELD, (b"content-type", content_type)];
            let fields = if fixed.content_type.is_some() {
                &fields[..]
            } else {
                &fields[..1]
            };
            with_date(|date| {
                let response = Response::new(fixed.status)
                    .headers(fields)
                    .body_len(len)
                    .date(date);
                session.send_response(&response, now)
            })?;
            session.send_data(&fixed.body, now)?;
            session.send_end(now)?;
            finish_log(&mut log, fixed.status, if head_only { 0 } else { len });
            None
        }
        Answer::Planned(reply) => answer_planned(session, *reply, head_only, &mut log, now)?,
    };
    match file_body {
        Some(mut body) => {
            body.log = log;
            Ok(Some(body))
        }
        None => {
            if let Some(entry) = log {
                access_log.log(*entry);
            }
            Ok(None)
        }
    }
}

fn finish_log(log: &mut Option<Box<Entry>>, status: u16, bytes: u64) {
    if let Some(entry) = log {
        entry.status = status;
        entry.bytes = bytes;
        entry.time = SystemTime::now();
    }
}

fn answer_planned(
    session: &mut Session,
    reply: Reply,
    head_only: bool,
    log: &mut Option<Box<Entry>>,
    now: Instant,
) -> Result<Option<Box<FileBody>>, http_proto::Error> {
    let mut fields: Vec<(&[u8], &[u8])> = Vec::with_capacity(reply.headers.len() + 1);
    fields.push(SERVER_FIELD);
    fields.extend(reply.headers.iter().map(|(n, v)| (*n, v.as_slice())));
    with_date(|date| {
        let response = Response::new(reply.status)
            .headers(&fields)
            .body_len(reply.body_len)
            .date(date);
        session.send_response(&response, now)
    })?;
    let has_body = http_proto::response_has_body(head_only, false, reply.status);
    finish_log(log, reply.status, if has_body { reply.body_len } else { 0 });
    match reply.body {
        Body::Empty => session.send_end(now)?,
        Body::Bytes(bytes) => {
            session.send_data(&bytes, now)?;
            session.send_end(now)?;
        }
        Body::File { file, offset, len } => {
            return Ok(Some(Box::new(FileBody {
                file,
                offset,
                remaining: len,
                log: None,
            })));
        }
    }
    Ok(None)
}

thread_local! {
    static CHUNK: RefCell<Vec<u8>> = RefCell::new(vec![0; FILE_CHUNK]);
}

/// Reads the next chunk of a file body into the session's output; `Ok(true)` once the
/// body is complete (the response has been ended).
fn send_file_chunk(session: &mut Session, body: &mut FileBody, now: Instant) -> io::Result<bool> {
    if body.remaining > 0 {
        CHUNK.with(|chunk| {
            let mut chunk = chunk.borrow_mut();
            let want = usize::try_from(body.remaining).map_or(FILE_CHUNK, |r| r.min(FILE_CHUNK));
            let n = body.file.read_at(&mut chunk[..want], body.offset)?;
            if n == 0 {
                // The file shrank under us: the promised length cannot be sent.
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file shrank"));
            }
            session
                .send_data(&chunk[..n], now)
                .map_err(|e| io::Error::other(e.to_string()))?;
            body.offset += n as u64;
            body.remaining -= n as u64;
            Ok(())
        })?;
    }
    if body.remaining == 0 {
        session
            .send_end(now)
            .map_err(|e| io::Error::other(e.to_string()))?;
        return Ok(true);
    }
    Ok(false)
}
