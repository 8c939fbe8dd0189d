//! FastCGI upstreams: where an application listens, its pool of connections shared by
//! every session of the server, what it said it allows (`GET_VALUES`), and its health.
//!
//! A request begins on an open connection with room (one on its own thread first, so its
//! wake-ups stay local), else on a new connection while the upstream's cap allows, else
//! waits for a request slot to free up. The cap is the route's `max_conns`, else what the
//! application answered for `FCGI_MAX_CONNS` (at least its spawned process count), else
//! none. On a multiplexing application, one connection is opened at a time: the
//! requests waiting meanwhile share it rather than each opening its own.
//!
//! Connections are kept (`FCGI_KEEP_CONN`) only when the cap is known. A kept connection
//! holds one application process (a php-fpm child serves one connection at a time), so
//! with more connections than processes a new one would wait in the listen backlog behind
//! idle kept ones; php-fpm does not answer `FCGI_MAX_CONNS`, so for it `max_conns` (its
//! `pm.max_children`) turns keep-alive on. Without it each request has its own
//! connection, as with nginx's default `fastcgi_keep_conn off`.

use super::conn::Conn;
use crate::route_kinds::status::UpstreamSnapshot;
use fcgi_proto::params::EncodedParams;
use fcgi_proto::{AppValues, Param, ServerConn};
use std::collections::HashMap;
use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::Notify;

/// Where an application listens.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Address {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

impl Address {
    /// `unix:/path`, `IP:PORT` or `HOST:PORT` (resolved now, first address).
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(format!("upstream `{text}`: `unix:` needs a path"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let mut addrs = text.to_socket_addrs().map_err(|e| {
            format!("upstream `{text}`: not `IP:PORT`, `HOST:PORT` or `unix:/path`: {e}")
        })?;
        addrs
            .next()
            .map(Self::Tcp)
            .ok_or_else(|| format!("upstream `{text}`: resolves to no address"))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// How a route uses its upstreams; upstreams with different settings are pooled apart.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Settings {
    pub(crate) keep_conn: bool,
    pub(crate) multiplex: bool,
    /// 0: the application's `FCGI_MAX_CONNS`, else unbounded.
    pub(crate) max_conns: usize,
    /// Processes the server spawned behind this address (0 for an external one).
    pub(crate) processes: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) fail_timeout: Duration,
}

/// Live counts of one upstream, for the status page.
#[derive(Debug, Default)]
pub(crate) struct UpstreamStats {
    pub(crate) requests: AtomicU64,
    pub(crate) errors: AtomicU64,
    pub(crate) timeouts: AtomicU64,
    /// Requests begun or waiting for a connection, now.
    pub(crate) active: AtomicUsize,
    /// Open connections, now.
    pub(crate) open: AtomicUsize,
}

/// What the application answered to `GET_VALUES`.
#[derive(Debug, Default, Clone, Copy)]
struct Values {
    asked: bool,
    known: bool,
    max_conns: Option<usize>,
    max_reqs: Option<usize>,
    mpxs: bool,
}

/// Why a request found no connection.
#[derive(Debug)]
pub(crate) struct Unreachable {
    pub(crate) message: String,
    /// Past the connect timeout (504), rather than refused or down (502).
    pub(crate) timed_out: bool,
}

/// One application address and its connection pool.
pub(crate) struct Upstream {
    /// The address, for logs and the status page.
    pub(crate) name: String,
    address: Address,
    settings: Settings,
    conns: Mutex<Vec<Arc<Conn>>>,
    opening: AtomicUsize,
    values: Mutex<Values>,
    /// A request slot or a connection freed up, or the values arrived.
    freed: Notify,
    down_until: Mutex<Option<Instant>>,
    pub(crate) stats: UpstreamStats,
}

impl fmt::Debug for Upstream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Upstream({})", self.name)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Upstream {
    fn new(address: Address, settings: Settings) -> Self {
        Self {
            name: address.to_string(),
            address,
            settings,
            conns: Mutex::new(Vec::new()),
            opening: AtomicUsize::new(0),
            values: Mutex::new(Values::default()),
            freed: Notify::new(),
            down_until: Mutex::new(None),
            stats: UpstreamStats::default(),
        }
    }

    /// Whether it failed recently and is being skipped.
    pub(crate) fn is_down(&self) -> bool {
        lock(&self.down_until).is_some_and(|until| Instant::now() < until)
    }

    /// When it comes back into use, if it is down.
    fn down_until(&self) -> Option<Instant> {
        *lock(&self.down_until)
    }

    /// Skips it for the fail timeout (a passive health check); `why` names it.
    pub(crate) fn mark_down(&self, why: &str) {
        let mut until = lock(&self.down_until);
        let was_up = until.is_none_or(|t| Instant::now() >= t);
        *until = Some(Instant::now() + self.settings.fail_timeout);
        drop(until);
        if was_up {
            tracing::warn!("{why}; skipped for {:?}", self.settings.fail_timeout);
        }
    }

    fn mark_up(&self) {
        let mut until = lock(&self.down_until);
        if until.take().is_some() {
            tracing::info!("fastcgi upstream {}: answering again", self.name);
        }
    }

    /// Most connections open at once.
    fn cap(&self) -> usize {
        let values = *lock(&self.values);
        if self.settings.max_conns > 0 {
            return self.settings.max_conns;
        }
        values
            .max_conns
            .map_or(usize::MAX, |n| n.max(self.settings.processes).max(1))
    }

    /// Whether several requests go on one connection.
    fn multiplexes(&self) -> bool {
        self.settings.multiplex && lock(&self.values).mpxs
    }

    /// Whether requests ask the application to keep the connection (see the module docs).
    fn keep_conn(&self) -> bool {
        self.settings.keep_conn
            && (self.settings.max_conns > 0 || lock(&self.values).max_conns.is_some())
    }

    /// The application's `GET_VALUES` answer (`&[]`: it gave none).
    pub(crate) fn learn(&self, answer: &[Param]) {
        let answer = AppValues::from_pairs(answer);
        let mut values = lock(&self.values);
        if values.known {
            return;
        }
        values.known = true;
        values.max_conns = answer.max_conns.filter(|&n| n > 0);
        values.max_reqs = answer.max_reqs.filter(|&n| n > 0);
        values.mpxs = answer.mpxs_conns == Some(true);
        let v = *values;
        drop(values);
        tracing::info!(
            "fastcgi upstream {}: FCGI_MAX_CONNS={:?} FCGI_MAX_REQS={:?} FCGI_MPXS_CONNS={}",
            self.name,
            v.max_conns,
            v.max_reqs,
            u8::from(v.mpxs)
        );
        self.freed.notify_waiters();
    }

    /// A request on one of its connections ended.
    pub(crate) fn request_slot_freed(&self) {
        if !lock(&self.values).known {
            // It ended a request without answering the GET_VALUES sent before it.
            self.learn(&[]);
        }
        self.freed.notify_one();
    }

    /// A connection closed.
    pub(crate) fn closed(&self, conn: &Arc<Conn>) {
        let mut conns = lock(&self.conns);
        if let Some(i) = conns.iter().position(|c| Arc::ptr_eq(c, conn)) {
            conns.swap_remove(i);
            self.stats.open.fetch_sub(1, Relaxed);
        }
        drop(conns);
        self.freed.notify_waiters();
    }

    /// Begins a request with `params` on a connection: an open one with room, a new one
    /// while the cap allows, or the next one to free up.
    pub(crate) async fn begin(
        self: Arc<Self>,
        params: EncodedParams,
        name: Arc<str>,
    ) -> Result<(Arc<Conn>, u64), Unreachable> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let keep_conn = self.keep_conn();
            if let Some(found) = self.begin_on_open(&params, &name, keep_conn) {
                tracing::debug!("fastcgi {}: {name}: begun on an open connection", self.name);
                return Ok(found);
            }
            let open = lock(&self.conns).len();
            let opening = self.opening.load(Relaxed);
            if open + opening < self.cap() && !(opening > 0 && self.multiplexes()) {
                self.opening.fetch_add(1, Relaxed);
                let connected = self.connect().await;
                self.opening.fetch_sub(1, Relaxed);
                match connected {
                    Ok(conn) => {
                        self.mark_up();
                        // Requests waiting for a connection with room may use this one.
                        self.freed.notify_waiters();
                        if let Some(id) = conn.begin(&params, keep_conn, &name) {
                            tracing::debug!(
                                "fastcgi {}: {name}: begun on a new connection",
                                self.name
                            );
                            return Ok((conn, id));
                        }
                        continue;
                    }
                    Err(e) => {
                        self.freed.notify_waiters();
                        self.mark_down(&e.message);
                        return Err(e);
                    }
                }
            }
            tracing::debug!(
                "fastcgi {}: {name}: waiting for a connection ({open} open, {opening} opening)",
                self.name
            );
            freed.await;
        }
    }

    fn begin_on_open(
        &self,
        params: &EncodedParams,
        name: &Arc<str>,
        keep_conn: bool,
    ) -> Option<(Arc<Conn>, u64)> {
        let conns = lock(&self.conns);
        let here = std::thread::current().id();
        let mut candidates: Vec<&Arc<Conn>> = conns.iter().filter(|c| c.has_room()).collect();
        // This thread's first (local wake-ups), then the least busy.
        candidates.sort_by_key(|c| (c.thread != here, c.active()));
        for conn in candidates {
            if let Some(id) = conn.begin(params, keep_conn, name) {
                return Some((Arc::clone(conn), id));
            }
        }
        None
    }

    async fn connect(self: &Arc<Self>) -> Result<Arc<Conn>, Unreachable> {
        let values = *lock(&self.values);
        let mut limits = fcgi_proto::Limits::default();
        if !self.settings.multiplex {
            limits = limits.with_max_concurrent_requests(1);
        }
        let mut fcgi = ServerConn::new(limits);
        if values.known && values.mpxs && self.settings.multiplex {
            fcgi.set_app_max_requests(values.max_reqs.unwrap_or(usize::MAX));
        }
        let conn = Conn::new(fcgi);
        if !values.asked {
            lock(&self.values).asked = true;
            conn.ask_values();
        }
        let timeout = self.settings.connect_timeout;
        let fail = |e: String, timed_out| Unreachable {
            message: format!("fastcgi upstream {}: connect: {e}", self.name),
            timed_out,
        };
        match &self.address {
            Address::Tcp(addr) => {
                match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
                    Ok(Ok(socket)) => {
                        let _ = socket.set_nodelay(true);
                        tokio::spawn(Arc::clone(&conn).drive(socket, Arc::clone(self)));
                    }
                    Ok(Err(e)) => return Err(fail(e.to_string(), false)),
                    Err(_) => return Err(fail(format!("no answer within {timeout:?}"), true)),
                }
            }
            Address::Unix(path) => {
                if let Some(socket) = connect_unix_now(path) {
                    tokio::spawn(Arc::clone(&conn).drive(socket, Arc::clone(self)));
                    lock(&self.conns).push(Arc::clone(&conn));
                    self.stats.open.fetch_add(1, Relaxed);
                    return Ok(conn);
                }
                match tokio::time::timeout(timeout, UnixStream::connect(path)).await {
                    Ok(Ok(socket)) => {
                        tokio::spawn(Arc::clone(&conn).drive(socket, Arc::clone(self)));
                    }
                    Ok(Err(e)) => return Err(fail(e.to_string(), false)),
                    Err(_) => return Err(fail(format!("no answer within {timeout:?}"), true)),
                }
            }
        }
        lock(&self.conns).push(Arc::clone(&conn));
        self.stats.open.fetch_add(1, Relaxed);
        Ok(conn)
    }
}

/// A Unix-socket connect that completed at once, as a local one does while the listen
/// backlog has room: the request goes out in this same turn, where tokio's `connect`
/// would wait a turn of the reactor for writability first. `None`: not now (tokio's
/// `connect` then says why, or waits, within the connect timeout).
fn connect_unix_now(path: &std::path::Path) -> Option<UnixStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let addr = SockAddr::unix(path).ok()?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None).ok()?;
    socket.connect(&addr).ok()?;
    UnixStream::from_std(std::os::unix::net::UnixStream::from(
        std::os::fd::OwnedFd::from(socket),
    ))
    .ok()
}

/// The upstreams of one route: requests go to the least busy one that is up.
#[derive(Debug)]
pub(crate) struct UpstreamSet {
    pub(crate) upstreams: Vec<Arc<Upstream>>,
}

impl UpstreamSet {
    /// The upstreams to try, best first: those up by how busy they are, then those down
    /// by how soon they come back (when all are down, one is tried anyway, as nginx does).
    pub(crate) fn order(&self) -> Vec<Arc<Upstream>> {
        let mut order: Vec<Arc<Upstream>> = self.upstreams.clone();
        order.sort_by_key(|u| {
            let down = u.down_until().filter(|&t| Instant::now() < t);
            (down.is_some(), down, u.stats.active.load(Relaxed))
        });
        order
    }
}

/// Every upstream of the server, kept across reloads so that pools and health survive.
#[derive(Debug, Default)]
pub(crate) struct Upstreams {
    by_key: Mutex<HashMap<(Address, Settings), Arc<Upstream>>>,
}

impl Upstreams {
    /// The upstream at `address` with `settings`, shared with every route that names it.
    pub(crate) fn get(&self, address: Address, settings: Settings) -> Arc<Upstream> {
        let mut by_key = lock(&self.by_key);
        Arc::clone(
            by_key
                .entry((address.clone(), settings.clone()))
                .or_insert_with(|| Arc::new(Upstream::new(address, settings))),
        )
    }

    /// Each one's counters, by name, for the status page.
    pub(crate) fn snapshot(&self) -> Vec<UpstreamSnapshot> {
        let mut all: Vec<UpstreamSnapshot> = lock(&self.by_key)
            .values()
            .map(|u| UpstreamSnapshot {
                name: u.name.clone(),
                up: !u.is_down(),
                requests: u.stats.requests.load(Relaxed),
                errors: u.stats.errors.load(Relaxed),
                timeouts: u.stats.timeouts.load(Relaxed),
                active: u.stats.active.load(Relaxed) as u64,
                connections: u.stats.open.load(Relaxed) as u64,
            })
            .collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }
}
