//! Reading a certificate chain and its key from PEM files, and the checks `--check`,
//! start-up and reload make before a certificate is served: the key matches the
//! certificate, and the certificate is valid now. Every error names the file.

use crate::tls::config::CertKeyConfig;
use rustls::crypto::CryptoProvider;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;
use x509_parser::extensions::GeneralName;

/// A certificate ready to serve, with the DNS names it is valid for (lower case;
/// `*.example.com` for a wildcard).
#[derive(Debug)]
pub(crate) struct LoadedCert {
    /// The chain and signing key rustls serves.
    pub(crate) key: Arc<CertifiedKey>,
    /// Its subject alternative names (the subject's common name when it has none).
    pub(crate) names: Vec<String>,
}

/// Reads and checks one certificate and key, valid at `now`.
pub(crate) fn load(
    pair: &CertKeyConfig,
    provider: &CryptoProvider,
    now: SystemTime,
) -> Result<LoadedCert, String> {
    let chain = read_chain(&pair.cert)?;
    let key = PrivateKeyDer::from_pem_file(&pair.key)
        .map_err(|e| format!("tls key `{}`: {}", pair.key.display(), pem_error(&e)))?;
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("tls key `{}`: {e}", pair.key.display()))?;
    let names = check_leaf(&pair.cert, &chain[0], now)?;
    let certified = CertifiedKey::new(chain, signer);
    certified.keys_match().map_err(|_| {
        format!(
            "tls key `{}` does not match certificate `{}`",
            pair.key.display(),
            pair.cert.display()
        )
    })?;
    Ok(LoadedCert {
        key: Arc::new(certified),
        names,
    })
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let fail = |e: &rustls_pki_types::pem::Error| {
        format!("tls cert `{}`: {}", path.display(), pem_error(e))
    };
    let chain = CertificateDer::pem_file_iter(path)
        .map_err(|e| fail(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| fail(&e))?;
    if chain.is_empty() {
        return Err(format!(
            "tls cert `{}`: no CERTIFICATE in it",
            path.display()
        ));
    }
    Ok(chain)
}

/// `pem::Error`'s text, with the I/O error spelled out (`No such file or directory`).
fn pem_error(e: &rustls_pki_types::pem::Error) -> String {
    match e {
        rustls_pki_types::pem::Error::Io(io) => io.to_string(),
        rustls_pki_types::pem::Error::NoItemsFound => {
            "no PEM section of that kind in it".to_owned()
        }
        other => format!("{other:?}"),
    }
}

/// The leaf's validity at `now` and its names.
fn check_leaf(
    path: &Path,
    leaf: &CertificateDer<'_>,
    now: SystemTime,
) -> Result<Vec<String>, String> {
    let shown = path.display();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("tls cert `{shown}`: not an X.509 certificate: {e}"))?;
    let now = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let validity = cert.validity();
    if now > validity.not_after.timestamp() {
        return Err(format!(
            "tls cert `{shown}`: expired on {}",
            validity.not_after
        ));
    }
    if now < validity.not_before.timestamp() {
        return Err(format!(
            "tls cert `{shown}`: not valid before {}",
            validity.not_before
        ));
    }
    let mut names: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(name) => Some(name.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        // Only for certificates without SANs (old private CAs): the common name.
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_ascii_lowercase),
        );
    }
    Ok(names)
}
