//! What a session task needs of its socket: readiness to wait on, non-blocking reads and
//! writes, and a half-close for the lingering close. TCP and Unix streams alike, and TLS
//! over TCP (`tls/transport.rs`), whose records and handshake are the transport's own
//! business: the task sees plaintext, plus whether the transport has bytes of its own to
//! flush ([`Transport::wants_write`]) and whether its handshake is over.

use crate::tls::TlsInfo;
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::Interest;
use tokio::net::{TcpStream, UnixStream};

/// What routes and logs learn of the connection a request came on.
#[derive(Debug, Clone, Default)]
pub(crate) struct ConnInfo {
    /// The client's address (`None` on a Unix socket).
    pub(crate) peer: Option<SocketAddr>,
    /// The server's address on this connection.
    pub(crate) local: Option<SocketAddr>,
    /// What TLS negotiated, on a TLS connection once its handshake is over.
    pub(crate) tls: Option<Arc<TlsInfo>>,
    /// The `Strict-Transport-Security` value for this connection's responses.
    pub(crate) hsts: Option<Bytes>,
    /// A plain-text listener that redirects every request to HTTPS on this port.
    pub(crate) redirect_https: Option<u16>,
}

/// A stream the session task can wait on and move bytes through without blocking.
pub(crate) trait Transport {
    /// Registers for, or reports, read readiness (also EOF and errors, and plaintext a
    /// TLS transport holds already).
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Registers for, or reports, write readiness.
    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;
    /// Reads what is there into `buf`'s spare capacity (`WouldBlock` clears readiness).
    fn try_read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Writes what the socket takes now.
    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Shuts down the sending side: the client reads EOF after the last response.
    fn shutdown_write(&mut self) -> io::Result<()>;
    /// The server's address on this connection, if it has an IP one.
    fn local_ip_addr(&self) -> Option<SocketAddr>;
    /// Whether the transport holds bytes of its own to write (TLS records, a handshake
    /// message): the task waits for write readiness and calls [`try_flush`](Self::try_flush)
    /// while it does. Changes after every read, write and flush.
    fn wants_write(&self) -> bool {
        false
    }
    /// Writes the transport's own bytes as far as the socket takes them.
    fn try_flush(&mut self) -> io::Result<()> {
        Ok(())
    }
    /// Whether a handshake must finish before any plaintext flows (TLS). Changes after a
    /// read.
    fn is_handshaking(&self) -> bool {
        false
    }
    /// What TLS negotiated, once the handshake is over; `None` on a plain stream.
    fn tls_info(&self) -> Option<TlsInfo> {
        None
    }
    /// Sends up to `len` bytes of `file` from `offset` straight to the socket, without
    /// blocking and without copying them through user space (`sendfile`); `None` when
    /// this transport cannot (TLS: the bytes must be encrypted first).
    fn try_send_file(
        &mut self,
        _file: &File,
        _offset: u64,
        _len: usize,
    ) -> Option<io::Result<usize>> {
        None
    }
    /// Turns away a connection past `max_sessions`: the 503 where plain text can carry it.
    fn refuse_overloaded(&mut self) {
        // A fresh socket's send buffer takes these bytes in one write.
        let _ = self.try_write(session_core::OVERLOAD_RESPONSE);
    }
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
            fn try_read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
                <$t>::try_read_buf(self, buf)
            }
            fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
                <$t>::try_write(self, buf)
            }
            fn shutdown_write(&mut self) -> io::Result<()> {
                socket2::SockRef::from(&*self).shutdown(Shutdown::Write)
            }
            fn local_ip_addr(&self) -> Option<SocketAddr> {
                socket2::SockRef::from(self).local_addr().ok()?.as_socket()
            }
            fn try_send_file(
                &mut self,
                file: &File,
                offset: u64,
                len: usize,
            ) -> Option<io::Result<usize>> {
                // Through tokio, so that `WouldBlock` clears the write readiness and the
                // next `poll_write_ready` waits for the socket for real.
                Some(self.try_io(Interest::WRITABLE, || {
                    let mut offset = offset;
                    rustix::fs::sendfile(&*self, file, Some(&mut offset), len)
                        .map_err(io::Error::from)
                }))
            }
        }
    };
}
transport!(TcpStream);
transport!(UnixStream);
