//! The `tls` table of a listener: its certificates (one, or several chosen by SNI) and
//! the optional `Strict-Transport-Security` field of its responses.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `tls = { cert = "fullchain.pem", key = "key.pem" }`, or several certificates chosen by
/// the names in each: `tls = { certs = [{ cert = "a.pem", key = "a.key" }, ..] }`. The
/// first is the default for clients that send no SNI (or a name none has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TlsConfig {
    /// The certificate chain (PEM, leaf first), with `key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cert: Option<PathBuf>,
    /// The private key of `cert` (PEM: PKCS#8, PKCS#1 or SEC1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) key: Option<PathBuf>,
    /// More certificates, after `cert`; each picked by the names it is valid for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) certs: Vec<CertKeyConfig>,
    /// The `Strict-Transport-Security` value added to every response on this listener,
    /// e.g. `"max-age=63072000; includeSubDomains"`. None is sent without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) hsts: Option<String>,
}

/// One certificate chain and its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertKeyConfig {
    /// The certificate chain (PEM, leaf first).
    pub(crate) cert: PathBuf,
    /// Its private key (PEM).
    pub(crate) key: PathBuf,
}

impl TlsConfig {
    /// Every certificate and key, the default first.
    pub(crate) fn pairs(&self) -> Vec<CertKeyConfig> {
        let first = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(CertKeyConfig {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        first
            .into_iter()
            .chain(self.certs.iter().cloned())
            .collect()
    }

    /// What serde cannot check: a certificate with its key, and a field value.
    pub(crate) fn validate(&self) -> Result<(), String> {
        match (&self.cert, &self.key) {
            (Some(_), None) => return Err("tls: `cert` needs its `key`".to_owned()),
            (None, Some(_)) => return Err("tls: `key` needs its `cert`".to_owned()),
            _ => {}
        }
        if self.pairs().is_empty() {
            return Err("tls: needs `cert` and `key`, or `certs`".to_owned());
        }
        if let Some(hsts) = &self.hsts
            && (hsts.is_empty() || hsts.bytes().any(|b| b.is_ascii_control()))
        {
            return Err(format!("tls: hsts `{hsts}` is not a field value"));
        }
        Ok(())
    }

    /// Makes relative paths relative to `base` (the configuration file's directory).
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        let absolute = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for p in [&mut self.cert, &mut self.key].into_iter().flatten() {
            absolute(p);
        }
        for pair in &mut self.certs {
            absolute(&mut pair.cert);
            absolute(&mut pair.key);
        }
    }
}
