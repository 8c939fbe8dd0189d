//! Accepting connections: one accept loop per listener on each worker runtime,
//! admission through session-core's registry (503 or a silent close past `max_sessions`),
//! back-off when descriptors run out, and one spawned session task per connection.

use crate::listener::{self, AcceptError};
use crate::server::{Server, StdListener};
use crate::session_task;
use crate::shutdown::ShutdownSignal;
use crate::tls::acceptor::TlsAcceptor;
use crate::tls::transport::TlsStream;
use crate::transport::{ConnInfo, Transport};
use session_core::{Admission, OverloadPolicy, Session, Ticket};
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, PoisonError};
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream, UnixListener, UnixStream};

/// One worker: an accept loop per listener; sessions run as tasks on this runtime until
/// the drain is over.
pub(crate) async fn worker(
    listeners: Vec<StdListener>,
    server: Arc<Server>,
    mut signal: ShutdownSignal,
) {
    for l in listeners {
        let server = Arc::clone(&server);
        let signal = signal.clone();
        match l {
            StdListener::Tcp(l, serving) => match (TcpListener::from_std(l), serving) {
                (Ok(tcp), Serving::Tls(tls)) => {
                    tokio::spawn(accept_loop(TlsListener { tcp, tls }, server, signal));
                }
                (Ok(tcp), Serving::Plain { redirect_https }) => {
                    let l = PlainTcp {
                        tcp,
                        redirect_https,
                    };
                    tokio::spawn(accept_loop(l, server, signal));
                }
                (Err(e), _) => tracing::error!("cannot register listener: {e}"),
            },
            StdListener::Unix(l) => match UnixListener::from_std(l) {
                Ok(l) => {
                    tokio::spawn(accept_loop(l, server, signal));
                }
                Err(e) => tracing::error!("cannot register listener: {e}"),
            },
        }
    }
    // Sessions keep running here until the drain is over; dropping the runtime then
    // closes what is left.
    signal.over().await;
}

/// What a TCP listener serves.
#[derive(Debug, Clone)]
pub(crate) enum Serving {
    /// Plain HTTP; with `redirect_https`, every request is answered 301 to HTTPS on that
    /// port.
    Plain {
        /// The HTTPS port redirected to.
        redirect_https: Option<u16>,
    },
    /// HTTPS with this listener's certificates.
    Tls(Arc<TlsAcceptor>),
}

/// A listening socket an accept loop takes connections from.
trait Listener {
    type Stream: Transport + Send + Sync + 'static;
    /// The next connection and, for TCP, the client's address; with `TCP_NODELAY` set.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, Option<SocketAddr>)>>;
    /// What the listener tells every connection's routes (a redirect, the HSTS field).
    fn conn_info(&self) -> ConnInfo {
        ConnInfo::default()
    }
}

/// A plain TCP listener.
struct PlainTcp {
    tcp: TcpListener,
    redirect_https: Option<u16>,
}

impl Listener for PlainTcp {
    type Stream = TcpStream;
    async fn accept(&self) -> io::Result<(TcpStream, Option<SocketAddr>)> {
        let (stream, peer) = self.tcp.accept().await?;
        let _ = stream.set_nodelay(true);
        Ok((stream, Some(peer)))
    }
    fn conn_info(&self) -> ConnInfo {
        ConnInfo {
            redirect_https: self.redirect_https,
            ..ConnInfo::default()
        }
    }
}

/// A TLS listener: each connection starts with the certificates in force when accepted.
struct TlsListener {
    tcp: TcpListener,
    tls: Arc<TlsAcceptor>,
}

impl Listener for TlsListener {
    type Stream = TlsStream;
    async fn accept(&self) -> io::Result<(TlsStream, Option<SocketAddr>)> {
        let (stream, peer) = self.tcp.accept().await?;
        let _ = stream.set_nodelay(true);
        let config = self.tls.current().config;
        let stream = TlsStream::new(stream, config, Arc::clone(&self.tls.counters))?;
        Ok((stream, Some(peer)))
    }
    fn conn_info(&self) -> ConnInfo {
        ConnInfo {
            hsts: self.tls.current().hsts,
            ..ConnInfo::default()
        }
    }
}

impl Listener for UnixListener {
    type Stream = UnixStream;
    async fn accept(&self) -> io::Result<(UnixStream, Option<SocketAddr>)> {
        let (stream, _) = UnixListener::accept(self).await?;
        Ok((stream, None))
    }
}

async fn accept_loop<L: Listener>(listener: L, server: Arc<Server>, mut signal: ShutdownSignal) {
    let mut streak = 0;
    loop {
        let accepted = tokio::select! {
            biased;
            () = signal.begun() => break,
            r = listener.accept() => r,
        };
        match accepted {
            Ok((mut stream, peer)) => {
                accept_recovered(&mut streak);
                if let Some(ticket) = admit(&server, &mut stream) {
                    let conn = ConnInfo {
                        peer,
                        local: stream.local_ip_addr(),
                        ..listener.conn_info()
                    };
                    spawn_session(stream, conn, &server, ticket);
                }
            }
            Err(e) => accept_failed(&e, &mut streak).await,
        }
    }
    // Dropping the listener closes it: nothing new is accepted during the drain.
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
fn admit<T: Transport>(server: &Server, stream: &mut T) -> Option<Ticket> {
    match server.registry.admit() {
        Admission::Accepted(ticket) => Some(ticket),
        Admission::Rejected(OverloadPolicy::Reject503) => {
            stream.refuse_overloaded();
            None
        }
        Admission::Rejected(_) => None,
    }
}

fn spawn_session<T: Transport + Send + Sync + 'static>(
    io: T,
    conn: ConnInfo,
    server: &Arc<Server>,
    ticket: Ticket,
) {
    let limits = Arc::clone(&server.limits.read().unwrap_or_else(PoisonError::into_inner));
    let session = if io.is_handshaking() {
        Session::with_handshake(limits, ticket, Instant::now())
    } else {
        Session::new(limits, ticket, Instant::now())
    };
    let task = session_task::serve(io, conn, Arc::clone(server), session);
    if server.session_task_bytes.load(Relaxed) == 0 {
        server
            .session_task_bytes
            .store(std::mem::size_of_val(&task) as u64, Relaxed);
    }
    tokio::spawn(task);
}
