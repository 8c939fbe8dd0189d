//! Listening sockets (socket2): backlog, `SO_REUSEPORT`, IPv4/IPv6, Unix sockets, and
//! what to do when `accept` fails.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

/// How long an accept loop sleeps when the process or system is out of descriptors or
/// memory: long enough not to spin, short enough to pick up again as soon as sessions close.
pub(crate) const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Binds a non-blocking TCP listener.
///
/// `reuse_port` sets `SO_REUSEPORT` so each per-worker runtime binds its own socket on the
/// same address and the kernel spreads connections over them. An IPv6 address listens on
/// IPv6 only (`IPV6_V6ONLY`), so `0.0.0.0:80` and `[::]:80` can both be configured.
///
/// The port is owned, as with nginx: with `SO_REUSEPORT` a second server could bind beside
/// one already listening and silently take most of its connections, so an address any
/// process listens on is refused (`AddrInUse`) before the first of our sockets binds.
/// Only this process's own workers share a port.
pub(crate) fn bind_tcp(
    addr: SocketAddr,
    backlog: u32,
    reuse_port: bool,
) -> io::Result<std::net::TcpListener> {
    if reuse_port && addr.port() != 0 {
        ensure_unused(addr)?;
    }
    bind_tcp_socket(addr, backlog, reuse_port)
}

/// Another of this process's sockets on the address `bind_tcp` bound first (per-worker
/// runtimes: `SO_REUSEPORT`).
pub(crate) fn bind_tcp_sibling(
    addr: SocketAddr,
    backlog: u32,
) -> io::Result<std::net::TcpListener> {
    bind_tcp_socket(addr, backlog, true)
}

/// Fails with `AddrInUse` when a socket listens on `addr` already: a probe without
/// `SO_REUSEPORT` cannot bind beside a listener (Linux lets `SO_REUSEADDR` bind over
/// `TIME_WAIT` only).
fn ensure_unused(addr: SocketAddr) -> io::Result<()> {
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    if addr.is_ipv6() {
        probe.set_only_v6(true)?;
    }
    probe.bind(&addr.into()).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                "address already in use (another process listens on it)",
            )
        } else {
            e
        }
    })
}

fn bind_tcp_socket(
    addr: SocketAddr,
    backlog: u32,
    reuse_port: bool,
) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// Binds a non-blocking Unix stream listener, replacing a stale socket file left by an
/// earlier run (but never a regular file, nor a socket a live process listens on: that is
/// `AddrInUse`, as for TCP).
pub(crate) fn bind_unix(path: &Path, backlog: u32) -> io::Result<UnixListener> {
    if let Ok(meta) = std::fs::symlink_metadata(path)
        && meta.file_type().is_socket()
    {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "address already in use (another process listens on it)",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.set_nonblocking(true)?;
    socket.bind(&socket2::SockAddr::unix(path)?)?;
    socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
    Ok(socket.into())
}

/// What an accept loop does after `accept` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AcceptError {
    /// The connection died before we took it (ECONNABORTED, EINTR, ...): accept again now.
    Retry,
    /// Out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM): log, sleep
    /// [`ACCEPT_BACKOFF`], then accept again. Never spin, never exit.
    Backoff,
}

/// Classifies an accept error.
pub(crate) fn classify_accept_error(err: &io::Error) -> AcceptError {
    match err.raw_os_error() {
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM) => AcceptError::Backoff,
        _ if matches!(
            err.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
        ) =>
        {
            AcceptError::Retry
        }
        // Anything else is unexpected: back off too rather than spin on it.
        _ => AcceptError::Backoff,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_workers_share_a_port_and_nobody_else_joins() {
        let a = bind_tcp("127.0.0.1:0".parse().unwrap(), 128, true).unwrap();
        let addr = a.local_addr().unwrap();
        let b = bind_tcp_sibling(addr, 128).unwrap();
        assert_eq!(b.local_addr().unwrap(), addr);
        // A second server on the same address, with or without SO_REUSEPORT: refused.
        for reuse_port in [true, false] {
            let e = bind_tcp(addr, 128, reuse_port).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::AddrInUse, "{e}");
        }
    }

    #[test]
    fn ipv6_loopback_binds_when_available() {
        if let Ok(l) = bind_tcp("[::1]:0".parse().unwrap(), 16, false) {
            assert!(l.local_addr().unwrap().is_ipv6());
        }
    }

    #[test]
    fn unix_sockets_replace_stale_files_only() {
        let path = std::env::temp_dir().join(format!("refserver-{}.sock", std::process::id()));
        let first = bind_unix(&path, 16).unwrap();
        assert_eq!(
            bind_unix(&path, 16).unwrap_err().kind(),
            io::ErrorKind::AddrInUse
        );
        drop(first);
        let second = bind_unix(&path, 16).unwrap();
        drop(second);
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "not a socket").unwrap();
        assert!(bind_unix(&path, 16).is_err());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn descriptor_exhaustion_backs_off() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert_eq!(classify_accept_error(&emfile), AcceptError::Backoff);
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert_eq!(classify_accept_error(&aborted), AcceptError::Retry);
    }
}
