//! Precompressed variants (nginx's `gzip_static` and `brotli_static`): `a.css.br` and
//! `a.css.gz` beside `a.css`, sent to a client whose `Accept-Encoding` takes them.
//!
//! The negotiation itself (q-values, `*`, `q=0`) is http-proto's
//! ([`preferred_coding`](http_proto::semantics::preferred_coding)); this file finds the
//! variants on disk, keeps them inside the root, and picks one.

use crate::config::Precompressed;
use http_proto::RequestHead;
use http_proto::semantics::preferred_coding;
use std::fs::{File, Metadata};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

impl Precompressed {
    /// The `Content-Encoding` token.
    pub(crate) fn coding(self) -> &'static str {
        match self {
            Self::Br => "br",
            Self::Gzip => "gzip",
        }
    }

    /// What the variant's file name adds to the original's.
    fn suffix(self) -> &'static [u8] {
        match self {
            Self::Br => b".br",
            Self::Gzip => b".gz",
        }
    }
}

/// A variant chosen for the response.
#[derive(Debug)]
pub(super) struct Variant {
    /// The variant's canonical path.
    pub(super) path: PathBuf,
    /// The open variant file.
    pub(super) file: File,
    /// Its metadata (its own length and date make its validators).
    pub(super) meta: Metadata,
    /// Its coding.
    pub(super) coding: Precompressed,
}

/// What the route found beside a file.
#[derive(Debug, Default)]
pub(super) struct Negotiation {
    /// Some variant exists, so every response for this file varies on `Accept-Encoding`
    /// (a cache must not give the plain answer to a client that accepts `br`, or back).
    pub(super) varies: bool,
    /// The variant to send, if the client accepts one.
    pub(super) chosen: Option<Variant>,
}

/// Looks for `offered` variants of `path` (canonical, under the canonical `root`) and
/// picks the one `head`'s `Accept-Encoding` prefers; ties go to `offered`'s order. A
/// variant that is not a regular file, cannot be opened, or resolves outside the root
/// (a symlink) is treated as absent.
pub(super) fn negotiate(
    root: &Path,
    path: &Path,
    offered: &[Precompressed],
    head: &RequestHead,
) -> Negotiation {
    let present: Vec<(Precompressed, PathBuf)> = offered
        .iter()
        .filter_map(|&coding| {
            let mut name = path.as_os_str().as_bytes().to_vec();
            name.extend_from_slice(coding.suffix());
            let candidate = PathBuf::from(std::ffi::OsStr::from_bytes(&name));
            let canonical = candidate.canonicalize().ok()?;
            (canonical.starts_with(root) && canonical.is_file()).then_some((coding, canonical))
        })
        .collect();
    if present.is_empty() {
        return Negotiation::default();
    }
    let fields: Vec<&[u8]> = head.headers().get_all("accept-encoding").collect();
    let names: Vec<&str> = present.iter().map(|(c, _)| c.coding()).collect();
    let chosen = preferred_coding(&fields.iter().copied(), &names).and_then(|name| {
        let (coding, path) = present.iter().find(|(c, _)| c.coding() == name)?;
        let file = File::open(path).ok()?;
        let meta = file.metadata().ok().filter(Metadata::is_file)?;
        Some(Variant {
            path: path.clone(),
            file,
            meta,
            coding: *coding,
        })
    });
    Negotiation {
        varies: true,
        chosen,
    }
}
