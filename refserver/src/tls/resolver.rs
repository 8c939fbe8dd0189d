//! Choosing the certificate for a handshake by the name the client asked for (SNI),
//! against the names in each certificate; the first certificate for a client that asked
//! for none, or for a name no certificate has (as nginx's default server).

use crate::tls::certs::LoadedCert;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// A listener's certificates, the default first.
#[derive(Debug)]
pub(crate) struct SniResolver {
    certs: Vec<LoadedCert>,
}

impl SniResolver {
    /// Over `certs`, which must not be empty (the configuration guarantees one).
    pub(crate) fn new(certs: Vec<LoadedCert>) -> Self {
        Self { certs }
    }

    /// The certificate for `server_name`: an exact name first, then a wildcard, then the
    /// default.
    pub(crate) fn pick(&self, server_name: Option<&str>) -> Option<&LoadedCert> {
        let default = self.certs.first();
        let Some(name) = server_name else {
            return default;
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let exact = self.certs.iter().find(|c| c.names.contains(&name));
        exact
            .or_else(|| {
                self.certs
                    .iter()
                    .find(|c| c.names.iter().any(|n| wildcard_matches(n, &name)))
            })
            .or(default)
    }
}

/// RFC 6125 §6.4.3, the common subset: `*.example.com` matches one whole leftmost label
/// (`www.example.com`, not `example.com` nor `a.b.example.com`).
fn wildcard_matches(pattern: &str, name: &str) -> bool {
    let Some(suffix) = pattern.strip_prefix("*.") else {
        return false;
    };
    name.strip_suffix(suffix)
        .and_then(|label| label.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

impl ResolvesServerCert for SniResolver {
    fn resolve(&self, client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.pick(client_hello.server_name())
            .map(|c| Arc::clone(&c.key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_one_label() {
        assert!(wildcard_matches("*.example.com", "www.example.com"));
        assert!(!wildcard_matches("*.example.com", "example.com"));
        assert!(!wildcard_matches("*.example.com", "a.b.example.com"));
        assert!(!wildcard_matches("*.example.com", "wwwexample.com"));
        assert!(!wildcard_matches("example.com", "example.com"));
    }
}
