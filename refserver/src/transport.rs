//! What a session task needs of its socket: readiness to wait on, non-blocking reads and
//! writes, and a half-close for the lingering close. TCP and Unix streams alike.

use bytes::BytesMut;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};
use tokio::net::{TcpStream, UnixStream};

/// The two ends of a connection, for logs and gateways (`None` on a Unix socket).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Addrs {
    /// The client's address.
    pub(crate) peer: Option<SocketAddr>,
    /// The server's address on this connection.
    pub(crate) local: Option<SocketAddr>,
}

/// A stream the session task can wait on and move bytes through without blocking.
pub(crate) trait Transport {
    /// Registers for, or reports, read readiness (also EOF and errors).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Registers for, or reports, write readiness.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is there into `buf`'s spare capacity (`WouldBlock` clears readiness).
    fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Writes what the socket takes now.
    fn try_write(&self, buf: &[u8]) -> io::Result<usize>;
    /// Shuts down the sending side: the client reads EOF after the last response.
    fn shutdown_write(&self) -> io::Result<()>;
    /// The server's address on this connection, if it has an IP one.
    fn local_ip_addr(&self) -> Option<SocketAddr>;
}

macro_rules! transport {
    ($t:ty) => {
        impl Transport for $t {
            fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_read_ready(self, cx)
            }
            fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                <$t>::poll_write_ready(self, cx)
            }
            fn try_read_buf(&self, buf: &mut BytesMut) -> io::Result<usize> {
                <$t>::try_read_buf(self, buf)
            }
            fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
            fn shutdown_write(&self) -> io::Result<()> {
                socket2::SockRef::from(self).shutdown(Shutdown::Write)
            }
            fn local_ip_addr(&self) -> Option<SocketAddr> {
                socket2::SockRef::from(self).local_addr().ok()?.as_socket()
            }
        }
    };
}
transport!(TcpStream);
transport!(UnixStream);
