//! TLS listeners with rustls: HTTPS as users deploy it.
//!
//! rustls's own Sans-IO `ServerConnection` is driven by the session task through the
//! same readiness-based [`Transport`](crate::transport::Transport) a plain socket uses:
//! ciphertext is read from the socket into the connection, plaintext read out of it into
//! session-core's buffer, and session-core's output written into it and out to the
//! socket. No second async stream layer (tokio-rustls) sits between the task and the
//! socket, so a TLS session waits, deadlines and back-pressures exactly as a plain one.
//!
//! | job | file | entry point |
//! |---|---|---|
//! | the `tls = { .. }` table of a listener | `config.rs` | [`TlsConfig`] |
//! | reading and checking certificate and key files | `certs.rs` | [`certs::load`] |
//! | choosing a certificate by SNI | `resolver.rs` | [`resolver::SniResolver`] |
//! | a TLS listener's rustls configuration, swapped by reload | `acceptor.rs` | [`acceptor::TlsAcceptor`] |
//! | the session's transport over a rustls connection | `transport.rs` | [`transport::TlsStream`] |
//!
//! Handshakes, failures by reason and timeouts are counted in [`TlsCounters`] for the
//! status page; the handshake deadline itself is session-core's (`handshake_timeout`).

pub(crate) mod acceptor;
pub(crate) mod certs;
pub(crate) mod config;
pub(crate) mod resolver;
pub(crate) mod transport;

pub(crate) use config::TlsConfig;

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;

/// Application protocols offered in ALPN, in order of preference: `h2` goes first here
/// once HTTP/2 is served.
pub(crate) const ALPN: &[&str] = &["http/1.1"];

/// What a TLS connection negotiated; in every handler request's extensions on a TLS
/// connection (absent on plain ones).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The name the client asked for in SNI, if it sent one.
    pub server_name: Option<String>,
    /// The protocol version: `TLSv1.2` or `TLSv1.3`.
    pub protocol: &'static str,
    /// The cipher suite, by its IANA name (`TLS13_AES_256_GCM_SHA384`).
    pub cipher: &'static str,
    /// The application protocol agreed in ALPN (`http/1.1`), if the client offered one.
    pub alpn: Option<&'static str>,
}

/// Why a handshake failed, as the status page counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeFailure {
    /// The client closed the connection before the handshake ended.
    Closed,
    /// The bytes were not TLS (a plain-text HTTP request to a TLS port, say).
    NotTls,
    /// Nothing in common: versions, cipher suites, signature schemes or ALPN protocols.
    Incompatible,
    /// The client sent an alert (it did not trust the certificate, typically).
    AlertReceived,
    /// The client broke the protocol.
    ProtocolViolation,
    /// The socket failed (reset).
    Io,
    /// Anything else rustls reported.
    Other,
}

impl HandshakeFailure {
    /// Every reason, in the status page's order.
    pub(crate) const ALL: [Self; 7] = [
        Self::Closed,
        Self::NotTls,
        Self::Incompatible,
        Self::AlertReceived,
        Self::ProtocolViolation,
        Self::Io,
        Self::Other,
    ];

    /// Its name on the status page.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::NotTls => "not_tls",
            Self::Incompatible => "incompatible",
            Self::AlertReceived => "alert_received",
            Self::ProtocolViolation => "protocol_violation",
            Self::Io => "io",
            Self::Other => "other",
        }
    }

    /// The reason for a rustls error met during the handshake.
    pub(crate) fn of(e: &rustls::Error) -> Self {
        use rustls::Error as E;
        match e {
            E::InvalidMessage(_) => Self::NotTls,
            E::PeerIncompatible(_) | E::NoApplicationProtocol | E::NoCertificatesPresented => {
                Self::Incompatible
            }
            E::AlertReceived(_) => Self::AlertReceived,
            E::PeerMisbehaved(_)
            | E::InappropriateMessage { .. }
            | E::InappropriateHandshakeMessage { .. }
            | E::DecryptError
            | E::PeerSentOversizedRecord => Self::ProtocolViolation,
            _ => Self::Other,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Every TLS listener's handshake counts, for the status page.
#[derive(Debug, Default)]
pub(crate) struct TlsCounters {
    /// Handshakes completed.
    pub(crate) handshakes: AtomicU64,
    /// Handshakes that failed, by [`HandshakeFailure`].
    failures: [AtomicU64; HandshakeFailure::ALL.len()],
    /// Sessions closed at the handshake deadline.
    pub(crate) timeouts: AtomicU64,
}

impl TlsCounters {
    /// Counts a failed handshake.
    pub(crate) fn failed(&self, why: HandshakeFailure) {
        self.failures[why.index()].fetch_add(1, Relaxed);
    }

    /// The counts now.
    pub(crate) fn snapshot(&self) -> TlsSnapshot {
        TlsSnapshot {
            handshakes: self.handshakes.load(Relaxed),
            failures: HandshakeFailure::ALL
                .iter()
                .map(|&f| (f.name(), self.failures[f.index()].load(Relaxed)))
                .collect(),
            timeouts: self.timeouts.load(Relaxed),
        }
    }
}

/// The TLS counts on the status page.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct TlsSnapshot {
    /// Handshakes completed.
    pub(crate) handshakes: u64,
    /// Failed handshakes by reason: `(reason, count)`.
    pub(crate) failures: Vec<(&'static str, u64)>,
    /// Sessions closed at the handshake deadline.
    pub(crate) timeouts: u64,
}
