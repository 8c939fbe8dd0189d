//! What a TLS listener holds: its rustls configuration (certificates, ALPN, rustls's safe
//! defaults for TLS 1.2 and 1.3), swapped whole by a reload so new sessions get new
//! certificates while open ones keep the configuration they started with.

use crate::tls::certs;
use crate::tls::config::TlsConfig;
use crate::tls::resolver::SniResolver;
use crate::tls::{ALPN, TlsCounters};
use bytes::Bytes;
use rustls::ServerConfig;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

/// One TLS listener's state, shared by its accept loops on every worker.
#[derive(Debug)]
pub(crate) struct TlsAcceptor {
    current: RwLock<Current>,
    /// Every TLS listener's counters (the server's).
    pub(crate) counters: Arc<TlsCounters>,
}

/// What new sessions get.
#[derive(Debug, Clone)]
pub(crate) struct Current {
    /// The rustls configuration.
    pub(crate) config: Arc<ServerConfig>,
    /// The `Strict-Transport-Security` value for responses, if configured.
    pub(crate) hsts: Option<Bytes>,
}

impl TlsAcceptor {
    /// Reads and checks the certificates of `tls`: an error names the file.
    pub(crate) fn new(tls: &TlsConfig, counters: Arc<TlsCounters>) -> Result<Self, String> {
        Ok(Self {
            current: RwLock::new(build(tls)?),
            counters,
        })
    }

    /// The configuration for a connection accepted now.
    pub(crate) fn current(&self) -> Current {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the certificates again (SIGHUP: certbot or acme.sh renewed them). A file that
    /// does not load keeps the running certificates, and the error says why.
    pub(crate) fn reload(&self, tls: &TlsConfig) -> Result<(), String> {
        let new = build(tls)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = new;
        Ok(())
    }
}

/// The rustls configuration for `tls`, its certificates checked now.
pub(crate) fn build(tls: &TlsConfig) -> Result<Current, String> {
    tls.validate()?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let now = SystemTime::now();
    let loaded = tls
        .pairs()
        .iter()
        .map(|pair| certs::load(pair, &provider, now))
        .collect::<Result<Vec<_>, _>>()?;
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SniResolver::new(loaded)));
    config.alpn_protocols = ALPN.iter().map(|p| p.as_bytes().to_vec()).collect();
    Ok(Current {
        config: Arc::new(config),
        hsts: tls.hsts.clone().map(Bytes::from),
    })
}
