//! Open files and what a response says of them (validators, type), kept per worker
//! thread, as h2o keeps its file cache: a hit costs one `stat` of the resolved path instead
//! of resolving it again (a `lstat` per component), opening, `fstat`, reading and closing;
//! a small file's bytes are kept too, so its body needs no read at all.
//!
//! An entry is checked once its route's validity window (`file_cache_valid_ms`, 1 s by
//! default; 0: every request) has passed since the last check: the path's `stat` must
//! still show the same device, inode, size, modification and change times, or the entry is
//! dropped and the request resolved afresh. So an edited, replaced, renamed, chmod-ed or
//! deleted file is seen within the window, as with nginx's `open_file_cache_valid`; a small
//! file is served meanwhile from its kept copy, whole and consistent. A path whose
//! component became a symlink since is caught the same way: the `stat` then reaches
//! another inode.
//!
//! Bounded: at most [`ENTRIES`] open files and [`CONTENT_BUDGET`] bytes of contents per
//! worker; when full, the cache starts again empty. Directory requests (index files) are
//! not cached, so a new index file is seen at once.

use bytes::Bytes;
use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, Metadata};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Most open files kept per worker thread.
pub(super) const ENTRIES: usize = 256;
/// Files up to this size are kept in memory as well.
pub(super) const SMALL_FILE: u64 = 64 << 10;
/// Most bytes of file contents kept per worker thread.
pub(super) const CONTENT_BUDGET: usize = 16 << 20;

/// An open regular file and the fields that describe it.
#[derive(Debug)]
pub(crate) struct OpenFile {
    /// The resolved path (canonical, under the route's root).
    path: PathBuf,
    /// The open file; shared, since reads are positional.
    pub(crate) file: Arc<File>,
    /// Its length in bytes.
    pub(crate) len: u64,
    /// Its modification time in whole seconds (the `Last-Modified` precision).
    pub(crate) mtime_secs: u64,
    /// The entity tag, quoted: `"mtime-len"` in hex, with `-coding` for a precompressed
    /// variant.
    pub(crate) etag: String,
    /// `Last-Modified`, formatted.
    pub(crate) last_modified: String,
    /// `Content-Type`.
    pub(crate) content_type: String,
    /// The whole contents, for a small file.
    pub(crate) contents: Option<Bytes>,
    identity: Identity,
}

/// What `stat` says that changes when the file does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Identity {
    fn of(meta: &Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl OpenFile {
    /// Describes `file` (open at `path`, with its own `meta`); `coding` marks a
    /// precompressed variant's entity tag.
    pub(crate) fn new(
        path: PathBuf,
        file: File,
        meta: &Metadata,
        content_type: String,
        coding: Option<&str>,
    ) -> Self {
        let len = meta.len();
        let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
        let mtime_secs = mtime.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let etag = match coding {
            None => format!("\"{mtime_secs:x}-{len:x}\""),
            Some(coding) => format!("\"{mtime_secs:x}-{len:x}-{coding}\""),
        };
        Self {
            path,
            file: Arc::new(file),
            len,
            mtime_secs,
            etag,
            last_modified: httpdate::fmt_http_date(mtime),
            content_type,
            contents: None,
            identity: Identity::of(meta),
        }
    }

    /// Reads the whole file into memory if it is small; a short or failed read keeps
    /// nothing (the body is then read from the file, which reports the error).
    fn keep_contents(&mut self) {
        if self.len > SMALL_FILE {
            return;
        }
        let mut buf = vec![0; usize::try_from(self.len).unwrap_or(0)];
        if self.file.read_exact_at(&mut buf, 0).is_ok() {
            self.contents = Some(Bytes::from(buf));
        }
    }

    fn content_bytes(&self) -> usize {
        self.contents.as_ref().map_or(0, Bytes::len)
    }
}

/// A cached file and when its path was last checked.
struct Kept {
    open: Arc<OpenFile>,
    checked: Instant,
}

#[derive(Default)]
struct Cache {
    /// By route root, then by the request's path after the route prefix.
    by_root: HashMap<PathBuf, HashMap<Vec<u8>, Kept>>,
    entries: usize,
    content_bytes: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
}

/// The cached file for `rest` under `root`, if it is still the file at its path (checked
/// again once `valid` has passed since the last check).
pub(crate) fn lookup(root: &Path, rest: &[u8], valid: Duration) -> Option<Arc<OpenFile>> {
    let (entry, checked) = CACHE.with(|c| {
        let c = c.borrow();
        let kept = c.by_root.get(root)?.get(rest)?;
        Some((Arc::clone(&kept.open), kept.checked))
    })?;
    let now = Instant::now();
    if now.duration_since(checked) < valid {
        return Some(entry);
    }
    let meta = std::fs::metadata(&entry.path).ok();
    let same = meta.is_some_and(|m| Identity::of(&m) == entry.identity);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let Some(by_rest) = c.by_root.get_mut(root) else {
            return;
        };
        if same {
            if let Some(kept) = by_rest.get_mut(rest) {
                kept.checked = now;
            }
        } else if let Some(removed) = by_rest.remove(rest) {
            c.entries -= 1;
            c.content_bytes -= removed.open.content_bytes();
        }
    });
    same.then_some(entry)
}

/// Keeps `open` (a regular file just opened for `rest` under `root`), with its contents if
/// it is small, and returns it for this response.
pub(crate) fn insert(root: &Path, rest: &[u8], mut open: OpenFile) -> Arc<OpenFile> {
    open.keep_contents();
    let open = Arc::new(open);
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        let adding = open.content_bytes();
        if c.entries >= ENTRIES || c.content_bytes + adding > CONTENT_BUDGET {
            *c = Cache::default();
        }
        let kept = Kept {
            open: Arc::clone(&open),
            checked: Instant::now(),
        };
        let previous = c
            .by_root
            .entry(root.to_path_buf())
            .or_default()
            .insert(rest.to_vec(), kept);
        match previous {
            Some(old) => c.content_bytes -= old.open.content_bytes(),
            None => c.entries += 1,
        }
        c.content_bytes += adding;
    });
    open
}

/// Entries kept on this thread now (tests).
#[cfg(test)]
pub(crate) fn len() -> usize {
    CACHE.with(|c| c.borrow().entries)
}
