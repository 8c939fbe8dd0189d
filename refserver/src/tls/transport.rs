//! A session's transport over TLS: rustls's Sans-IO `ServerConnection` between the
//! session task and the TCP socket.
//!
//! Reads take ciphertext from the socket into the connection (`read_tls`), let rustls
//! process it (`process_new_packets`: handshake messages, alerts, decryption) and hand
//! out the plaintext; what the handshake has to say goes out at the session task's next
//! flush. Writes encrypt
//! session-core's output into records (`writer().write`), queued up to one buffer limit
//! and sent (`write_tls`) when the session task flushes, so the tickets, a response and
//! the `close_notify` after it leave in one write; once the socket refuses records, no
//! plaintext is accepted until they are out, so a client that stops reading stops the
//! producer, as on a plain socket.

use crate::tls::{ALPN, HandshakeFailure, TlsCounters, TlsInfo};
use crate::transport::Transport;
use bytes::BytesMut;
use rustls::ServerConnection;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use tokio::net::TcpStream;

/// Ciphertext (and plaintext waiting for the handshake) rustls buffers per direction.
/// 64 KiB is rustls's default; a `write` takes at most this much plaintext at once.
const BUFFER_LIMIT: usize = 64 * 1024;

/// A TLS server connection over a TCP stream.
pub(crate) struct TlsStream {
    tcp: TcpStream,
    /// Boxed: the session task's future holds the transport inline, and an idle plain
    /// session should not pay for the TLS state's size.
    conn: Box<ServerConnection>,
    /// Plaintext rustls has decrypted that was not read yet.
    plaintext: usize,
    /// The client sent `close_notify`, or its TCP side ended.
    peer_closed: bool,
    /// The TCP read side ended.
    tcp_eof: bool,
    /// The write side is to be shut down once the records (the `close_notify`) are out.
    shutdown_pending: bool,
    /// The socket refused records: none is accepted until they are out.
    socket_full: bool,
    /// Not counted in the status page yet (done or failed).
    uncounted: bool,
    counters: Arc<TlsCounters>,
}

impl std::fmt::Debug for TlsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsStream")
            .field("handshaking", &self.conn.is_handshaking())
            .finish_non_exhaustive()
    }
}

/// The socket as `io::Read`/`io::Write` for rustls, without blocking.
struct NonBlocking<'a>(&'a TcpStream);

impl Read for NonBlocking<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.try_read(buf)
    }
}

impl Write for NonBlocking<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.0.try_write_vectored(bufs)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl TlsStream {
    /// A connection accepted on a TLS listener, before its handshake.
    pub(crate) fn new(
        tcp: TcpStream,
        config: Arc<rustls::ServerConfig>,
        counters: Arc<TlsCounters>,
    ) -> io::Result<Self> {
        let mut conn = ServerConnection::new(config).map_err(io::Error::other)?;
        conn.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(Self {
            tcp,
            conn: Box::new(conn),
            plaintext: 0,
            peer_closed: false,
            tcp_eof: false,
            shutdown_pending: false,
            socket_full: false,
            uncounted: true,
            counters,
        })
    }

    /// Counts the handshake once it is over (or failed with `failure`).
    fn count(&mut self, failure: Option<HandshakeFailure>) {
        if !self.uncounted {
            return;
        }
        match failure {
            Some(why) if self.conn.is_handshaking() => {
                self.uncounted = false;
                self.counters.failed(why);
            }
            None if !self.conn.is_handshaking() => {
                self.uncounted = false;
                self.counters.handshakes.fetch_add(1, Relaxed);
            }
            _ => {}
        }
    }

    /// Plaintext rustls holds, into `buf`'s spare capacity. `None`: none there now.
    fn read_plaintext(&mut self, buf: &mut BytesMut) -> Option<io::Result<usize>> {
        if buf.capacity() == buf.len() {
            buf.reserve(4096);
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        let read = self.conn.reader().read(&mut buf[start..]);
        let n = *read.as_ref().unwrap_or(&0);
        buf.truncate(start + n);
        match read {
            Ok(n) => {
                self.plaintext = self.plaintext.saturating_sub(n);
                // Ok(0) is the client's close_notify: a clean end.
                Some(Ok(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.plaintext = 0;
                None
            }
            // The TCP side ended without close_notify: an end all the same (HTTP framing
            // says whether a request was cut short).
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Some(Ok(0)),
            Err(e) => Some(Err(e)),
        }
    }

    /// Writes the records rustls has ready; `WouldBlock` when the socket is full.
    fn flush_records(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if let Err(e) = self.conn.write_tls(&mut NonBlocking(&self.tcp)) {
                self.socket_full = e.kind() == io::ErrorKind::WouldBlock;
                return Err(e);
            }
        }
        self.socket_full = false;
        if self.shutdown_pending {
            self.shutdown_pending = false;
            socket2::SockRef::from(&self.tcp).shutdown(Shutdown::Write)?;
        }
        Ok(())
    }

    /// Flushes what it can, leaving what the socket did not take for later.
    fn flush_some(&mut self) -> io::Result<()> {
        match self.flush_records() {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            other => other,
        }
    }
}

impl Transport for TlsStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.plaintext > 0 || self.peer_closed || self.tcp_eof {
            return Poll::Ready(Ok(()));
        }
        self.tcp.poll_read_ready(cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.tcp.poll_write_ready(cx)
    }

    fn try_read_buf(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        loop {
            if (self.plaintext > 0 || self.peer_closed)
                && let Some(read) = self.read_plaintext(buf)
            {
                return read;
            }
            if self.tcp_eof {
                return Ok(0);
            }
            match self.conn.read_tls(&mut NonBlocking(&self.tcp)) {
                Ok(0) => {
                    self.tcp_eof = true;
                    self.peer_closed = true;
                    self.count(Some(HandshakeFailure::Closed));
                }
                Ok(_) => match self.conn.process_new_packets() {
                    Ok(state) => {
                        self.plaintext = state.plaintext_bytes_to_read();
                        self.peer_closed |= state.peer_has_closed();
                        self.count(None);
                        // The handshake's answer, or the session tickets sent once it is
                        // over, go out when the session task flushes: tickets with the
                        // first response, in one write, when a request came with the
                        // client's Finished (as it does).
                    }
                    Err(e) => {
                        self.count(Some(HandshakeFailure::of(&e)));
                        // rustls queued an alert saying why: send it, then close.
                        let _ = self.flush_some();
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.flush_some()?;
                    return Err(e);
                }
                Err(e) => {
                    self.count(Some(HandshakeFailure::Io));
                    return Err(e);
                }
            }
        }
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // A full socket takes no new plaintext (back-pressure): its records go first.
        if self.socket_full {
            self.flush_records()?;
        }
        // Records are queued, up to the buffer limit, and sent when the session task
        // flushes (`try_flush`), so a response goes out with the records before it and
        // the close after it in one write.
        let n = self.conn.writer().write(buf)?;
        if n < buf.len() {
            self.flush_some()?;
        }
        if n == 0 && !buf.is_empty() {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(n)
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.shutdown_pending = true;
        self.flush_some()
    }

    fn local_ip_addr(&self) -> Option<SocketAddr> {
        self.tcp.local_addr().ok()
    }

    fn wants_write(&self) -> bool {
        self.conn.wants_write() || self.shutdown_pending
    }

    fn try_flush(&mut self) -> io::Result<()> {
        self.flush_records()
    }

    fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    fn tls_info(&self) -> Option<TlsInfo> {
        if self.conn.is_handshaking() {
            return None;
        }
        let protocol = match self.conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLSv1.3",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLS",
        };
        let cipher = self
            .conn
            .negotiated_cipher_suite()
            .and_then(|s| s.suite().as_str())
            .unwrap_or("unknown");
        let alpn = self
            .conn
            .alpn_protocol()
            .and_then(|p| ALPN.iter().copied().find(|a| a.as_bytes() == p));
        Some(TlsInfo {
            server_name: self.conn.server_name().map(str::to_owned),
            protocol,
            cipher,
            alpn,
        })
    }

    fn refuse_overloaded(&mut self) {
        // No plain text on a TLS port: the connection just closes.
    }
}

impl Drop for TlsStream {
    fn drop(&mut self) {
        // A clean end for the client: close_notify, if the socket takes it now.
        if !self.conn.is_handshaking() && !self.tcp_eof {
            self.conn.send_close_notify();
            let _ = self.flush_records();
        }
    }
}
