//! The programs loadbench measures beside refserver or drives it with, and the Debian
//! package that brings each one. Nothing is installed: a missing peer is named, with its
//! package, and the rows that need it are skipped in the report.

use std::path::{Path, PathBuf};

/// A program loadbench runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer {
    /// Names it may be installed under, tried in order on PATH and in the sbin directories.
    pub(crate) programs: &'static [&'static str],
    /// The Debian package that brings it.
    pub(crate) package: &'static str,
}

pub(crate) const WRK: Peer = Peer {
    programs: &["wrk"],
    package: "wrk",
};
pub(crate) const NGINX: Peer = Peer {
    programs: &["nginx"],
    package: "nginx-light",
};
pub(crate) const LIGHTTPD: Peer = Peer {
    programs: &["lighttpd"],
    package: "lighttpd",
};
pub(crate) const H2O: Peer = Peer {
    programs: &["h2o"],
    package: "h2o",
};
pub(crate) const PHP_FPM: Peer = Peer {
    programs: &["php-fpm8.2", "php-fpm"],
    package: "php-fpm",
};
pub(crate) const OPENSSL: Peer = Peer {
    programs: &["openssl"],
    package: "openssl",
};
pub(crate) const REDIS: Peer = Peer {
    programs: &["redis-server"],
    package: "redis-server",
};
pub(crate) const FCGIWRAP: Peer = Peer {
    programs: &["fcgiwrap"],
    package: "fcgiwrap",
};

impl Peer {
    /// Its path, or why it cannot be run (with the package to install).
    pub(crate) fn find(&self) -> Result<PathBuf, String> {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let dirs: Vec<PathBuf> = std::env::split_paths(&path)
            .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
            .collect();
        self.programs
            .iter()
            .flat_map(|p| dirs.iter().map(move |d| d.join(p)))
            .find(|p| is_executable(p))
            .ok_or_else(|| {
                format!(
                    "{} not found: apt-get install {}",
                    self.programs[0], self.package
                )
            })
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
