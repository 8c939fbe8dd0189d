//! Static files: from a route and a request head to a [`Reply`] plan.
//!
//! The plan opens the file and says which bytes to send; the driver streams them in
//! chunks, so a large file is never loaded whole. Nothing here touches a socket.
//!
//! No escape from the root: the path arrives decoded and normalized by
//! [`normalize_path`](http_proto::semantics::normalize_path) (which answers 400 for a `..`
//! above the root or a NUL byte); a `..` segment is refused again here in case a caller
//! forgot; and
//! the resolved file is canonicalised and must still lie under the canonical root, so a
//! symlink pointing out of it answers 403.
//!
//! The conditional (RFC 9110 §13) and range (RFC 9110 §14) rules are http-proto's
//! ([`http_proto::semantics`]); this file only chooses the validators (the entity tag is
//! `"mtime-len"` in hex, with `-br`/`-gzip` for a precompressed variant: a policy) and
//! acts on the outcomes.
//!
//! | job | file |
//! |---|---|
//! | resolving the path, the file's answer (validators, conditionals, ranges) | `mod.rs` |
//! | `a.css.br`/`a.css.gz` beside `a.css` (`precompressed`) | `precompressed.rs` |
//! | directory listings (`autoindex`) | `listing.rs` |
//! | several ranges: `multipart/byteranges` and its caps | `ranges.rs` |
//! | `headers` and `expires` added to every response | `route_fields.rs` |
//! | open files and their fields kept per worker, checked by one `stat` | `open_files.rs` |

mod listing;
mod open_files;
mod precompressed;
mod ranges;
mod route_fields;

use crate::route_kinds::reply::{Body, Reply};

use crate::config::{ConfigError, Precompressed, StaticConfig};
use crate::exchange::{Exchange, Request};
use http_proto::semantics::{
    Precondition, Preconditions, RangeSet, Validators, if_range_allows, parse_range_set,
};
use http_proto::{Method, RequestHead};
use open_files::OpenFile;
use route_fields::RouteFields;
use std::borrow::Cow;
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

/// A `static` route's directory, canonicalised at start-up.
#[derive(Debug)]
pub(crate) struct StaticRoute {
    /// The served directory, canonical (no symlinks, absolute).
    pub(crate) root: PathBuf,
    /// Index file names tried for a directory.
    pub(crate) index: Vec<String>,
    /// Precompressed variants looked for, in the server's order of preference.
    pub(crate) precompressed: Vec<Precompressed>,
    /// Directory listings: `None` (403 without an index), or whether dot-files show.
    pub(crate) autoindex: Option<bool>,
    /// Ranges one request may ask for (more: the whole file).
    pub(crate) max_ranges: usize,
    /// `headers` and `expires`, checked.
    pub(crate) fields: RouteFields,
    /// How long a cached open file is trusted before its path is checked again.
    pub(crate) file_cache_valid: std::time::Duration,
    /// Files larger than the kept ones go out with `sendfile` on plain connections.
    pub(crate) sendfile: bool,
}

impl StaticRoute {
    /// Compiles route `n`'s `static` table; a directory that does not exist is an error.
    pub(crate) fn new(n: usize, config: &StaticConfig) -> Result<Self, ConfigError> {
        let root = config.dir.canonicalize().map_err(|e| {
            ConfigError::new(format!(
                "route {n}: static dir `{}`: {e}",
                config.dir.display()
            ))
        })?;
        if !root.is_dir() {
            return Err(ConfigError::new(format!(
                "route {n}: static dir `{}` is not a directory",
                config.dir.display()
            )));
        }
        Ok(Self {
            root,
            index: config.index.clone(),
            precompressed: config.precompressed.clone(),
            autoindex: config.autoindex.then_some(config.autoindex_hidden),
            max_ranges: config.max_ranges,
            fields: RouteFields::new(n, config)?,
            file_cache_valid: std::time::Duration::from_millis(config.file_cache_valid_ms),
            sendfile: config.sendfile,
        })
    }
}

/// Starts the exchange for a request on a `static` route.
pub(crate) fn start(route: &StaticRoute, request: &Request<'_>) -> Box<dyn Exchange> {
    plan(route, request.rest(), request.head).into_exchange()
}

/// Plans the answer for `rest` (the normalized path after the route's prefix: decoded, see
/// [`normalize_path`](http_proto::semantics::normalize_path)) of request `head`, with the
/// route's added fields.
pub(crate) fn plan(route: &StaticRoute, rest: &[u8], head: &RequestHead) -> Reply {
    let mut reply = plan_resource(route, rest, head);
    route.fields.apply(&mut reply, SystemTime::now());
    reply
}

fn plan_resource(route: &StaticRoute, rest: &[u8], head: &RequestHead) -> Reply {
    let method = head.method();
    if !matches!(method, Method::Get | Method::Head) {
        return Reply::error(405).with_header(b"allow", "GET, HEAD");
    }
    // A file named by its own path (not a directory's index), with no variants to look
    // for: the open-file cache answers it.
    let cacheable = route.precompressed.is_empty() && !rest.is_empty() && !rest.ends_with(b"/");
    if cacheable && let Some(open) = open_files::lookup(&route.root, rest, route.file_cache_valid) {
        return file_reply(&open, head, route);
    }
    let relative = match decode_relative_path(rest) {
        Ok(p) => p,
        Err(status) => return Reply::error(status),
    };
    let found = match resolve(&route.root, &relative) {
        Ok(found) => found,
        Err(status) => return Reply::error(status),
    };
    let is_dir = found.1.is_dir();
    let (path, meta) = if is_dir {
        let path = head.path();
        if !path.ends_with(b"/") {
            // A relative link in the index must resolve inside the directory.
            let mut location = path.to_vec();
            location.push(b'/');
            if let Some(q) = head.query() {
                location.push(b'?');
                location.extend_from_slice(q);
            }
            return Reply::error(301).with_header(b"location", location);
        }
        match (
            find_index(&route.root, &found.0, &route.index),
            route.autoindex,
        ) {
            (Some(found), _) => found,
            (None, Some(show_hidden)) => {
                let url_path = http_proto::semantics::normalize_path(path)
                    .map_or_else(|_| path.to_vec(), Cow::into_owned);
                return listing::listing(&found.0, &url_path, show_hidden, head);
            }
            (None, None) => return Reply::error(403),
        }
    } else if rest.ends_with(b"/") {
        // A file is not a directory: `/file.txt/` names nothing (nginx answers 404).
        return Reply::error(404);
    } else {
        found
    };
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) => return Reply::error(status_for(&e)),
    };
    // The open file's own metadata: what we send is what we describe.
    let meta = file.metadata().unwrap_or(meta);
    if !meta.is_file() {
        return Reply::error(404);
    }
    let content_type = content_type(&path);
    let negotiation = precompressed::negotiate(&route.root, &path, &route.precompressed, head);
    let mut reply = match negotiation.chosen {
        Some(variant) => {
            let coding = variant.coding.coding();
            let open = OpenFile::new(
                variant.path,
                variant.file,
                &variant.meta,
                content_type,
                Some(coding),
            );
            let mut reply = file_reply(&Arc::new(open), head, route);
            if reply.status != 304 {
                reply.headers.push((
                    Cow::Borrowed(b"content-encoding"),
                    coding.as_bytes().to_vec(),
                ));
            }
            reply
        }
        None => {
            let open = OpenFile::new(path, file, &meta, content_type, None);
            let open = if cacheable && !is_dir {
                open_files::insert(&route.root, rest, open)
            } else {
                Arc::new(open)
            };
            file_reply(&open, head, route)
        }
    };
    if negotiation.varies {
        reply
            .headers
            .push((Cow::Borrowed(b"vary"), b"Accept-Encoding".to_vec()));
    }
    reply
}

/// The answer from one open file (the original or a precompressed variant):
/// validators, conditionals, then the range or ranges asked for.
fn file_reply(open: &Arc<OpenFile>, head: &RequestHead, route: &StaticRoute) -> Reply {
    let len = open.len;
    let conditions = Preconditions::from_headers(head.headers());
    let ours = Validators {
        etag: Some(open.etag.as_bytes()),
        last_modified: Some(open.mtime_secs),
    };

    let validators = |status: u16| Reply {
        status,
        headers: vec![
            (Cow::Borrowed(&b"etag"[..]), open.etag.as_bytes().to_vec()),
            (
                Cow::Borrowed(b"last-modified"),
                open.last_modified.as_bytes().to_vec(),
            ),
        ],
        body_len: 0,
        body: Body::Empty,
    };
    match conditions.evaluate(head.method(), &ours) {
        Precondition::NotModified => return validators(304),
        Precondition::Failed => return Reply::error(412),
        _ => {}
    }

    let mut ranges = RangeSet::Full;
    if head.method() == Method::Get
        && let Some(value) = head.headers().get("range")
        && if_range_allows(conditions.if_range, &ours)
    {
        ranges = parse_range_set(value, len, route.max_ranges);
    }

    let mut reply = validators(200);
    reply.headers.insert(
        0,
        (
            Cow::Borrowed(b"content-type"),
            open.content_type.as_bytes().to_vec(),
        ),
    );
    reply
        .headers
        .push((Cow::Borrowed(b"accept-ranges"), b"bytes".to_vec()));
    let head_only = head.method() == Method::Head;
    let (offset, body_len) = match ranges {
        RangeSet::Unsatisfiable => {
            return Reply::error(416).with_header(b"content-range", format!("bytes */{len}"));
        }
        RangeSet::Ranges(ranges) if ranges.len() == 1 => {
            let range = ranges[0];
            reply.status = 206;
            reply.headers.push((
                Cow::Borrowed(b"content-range"),
                range.content_range(len).into_bytes(),
            ));
            (range.start, range.len())
        }
        RangeSet::Ranges(ranges) => {
            if let Some(multipart) =
                ranges::plan_multipart(&ranges, open.content_type.as_bytes(), len)
            {
                reply.status = 206;
                reply.headers[0].1 = multipart.content_type.into_bytes();
                reply.body_len = multipart.body_len;
                reply.body = Body::Segments {
                    file: Arc::clone(&open.file),
                    segments: multipart.segments,
                };
                return reply;
            }
            (0, len)
        }
        _ => (0, len),
    };
    reply.body_len = body_len;
    reply.body = if head_only || body_len == 0 {
        Body::Empty
    } else if let Some(contents) = open
        .contents
        .as_ref()
        .filter(|c| usize::try_from(offset + body_len).is_ok_and(|end| end <= c.len()))
    {
        let start = usize::try_from(offset).unwrap_or(0);
        Body::Bytes(contents.slice(start..start + usize::try_from(body_len).unwrap_or(0)))
    } else {
        Body::File {
            file: Arc::clone(&open.file),
            offset,
            len: body_len,
            sendfile: route.sendfile,
        }
    };
    reply
}

/// Splits the (already decoded) path into segments; `..` and NUL are refused.
fn decode_relative_path(rest: &[u8]) -> Result<PathBuf, u16> {
    if rest.contains(&0) {
        return Err(400);
    }
    let mut path = PathBuf::new();
    for segment in rest.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => return Err(400),
            s => path.push(std::ffi::OsStr::from_bytes(s)),
        }
    }
    Ok(path)
}

/// Canonicalises `root/relative` and checks it stays under `root` (which is canonical).
fn resolve(root: &Path, relative: &Path) -> Result<(PathBuf, Metadata), u16> {
    let joined = root.join(relative);
    let canonical = joined.canonicalize().map_err(|e| status_for(&e))?;
    if !canonical.starts_with(root) {
        tracing::warn!(path = %joined.display(), "static: refused a path leaving the root");
        return Err(403);
    }
    let meta = std::fs::metadata(&canonical).map_err(|e| status_for(&e))?;
    Ok((canonical, meta))
}

fn find_index(root: &Path, dir: &Path, index: &[String]) -> Option<(PathBuf, Metadata)> {
    index.iter().find_map(|name| {
        let found = resolve(root, &dir.strip_prefix(root).ok()?.join(name)).ok()?;
        found.1.is_file().then_some(found)
    })
}

fn status_for(e: &io::Error) -> u16 {
    match e.kind() {
        io::ErrorKind::PermissionDenied => 403,
        _ => 404,
    }
}

fn content_type(path: &Path) -> String {
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    if mime.type_() == mime_guess::mime::TEXT
        || mime.essence_str() == "application/javascript"
        || mime.essence_str() == "application/json"
    {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::route_kinds::reply::Segment;
    use bytes::Bytes;
    use http_proto::Limits;
    use std::io::Write;

    struct Site {
        dir: PathBuf,
        route: StaticRoute,
    }

    impl Drop for Site {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn site(name: &str) -> Site {
        let dir =
            std::env::temp_dir().join(format!("refserver-static-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::create_dir_all(root.join("empty")).unwrap();
        std::fs::write(root.join("index.html"), "<h1>hi</h1>").unwrap();
        std::fs::write(root.join("a b.txt"), "0123456789").unwrap();
        std::fs::write(root.join("sub/index.html"), "sub").unwrap();
        std::fs::write(root.join("style.css"), "body{}").unwrap();
        std::fs::write(dir.join("secret"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("secret"), root.join("escape")).unwrap();
        std::os::unix::fs::symlink(root.join("a b.txt"), root.join("inside")).unwrap();
        let mut config = StaticConfig::serving(root);
        config.file_cache_valid_ms = 0;
        let route = StaticRoute::new(1, &config).unwrap();
        Site { dir, route }
    }

    fn head(raw: &str) -> RequestHead {
        let bytes = Bytes::from(raw.replace('\n', "\r\n") + "\r\n");
        RequestHead::parse(&bytes, &Limits::default())
            .unwrap()
            .unwrap()
            .0
    }

    fn get(site: &Site, target: &str, extra: &str) -> Reply {
        let h = head(&format!("GET {target} HTTP/1.1\nHost: x\n{extra}"));
        match http_proto::semantics::normalize_path(h.path()) {
            Ok(path) => plan(&site.route, &path, &h),
            Err(refusal) => Reply::error(refusal.status()),
        }
    }

    fn body_of(reply: &Reply) -> Vec<u8> {
        match &reply.body {
            Body::Empty => Vec::new(),
            Body::Bytes(b) => b.to_vec(),
            Body::File {
                file, offset, len, ..
            } => read_at(file, *offset, *len),
            Body::Segments { file, segments } => segments
                .iter()
                .flat_map(|s| match s {
                    Segment::Bytes(b) => b.to_vec(),
                    Segment::File { offset, len } => read_at(file, *offset, *len),
                })
                .collect(),
        }
    }

    fn read_at(file: &File, offset: u64, len: u64) -> Vec<u8> {
        use std::os::unix::fs::FileExt;
        let mut buf = vec![0; usize::try_from(len).unwrap()];
        file.read_exact_at(&mut buf, offset).unwrap();
        buf
    }

    #[test]
    fn files_come_with_type_length_and_validators() {
        let s = site("basic");
        let r = get(&s, "/style.css", "");
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some(&b"text/css; charset=utf-8"[..])
        );
        assert_eq!(r.body_len, 6);
        assert_eq!(body_of(&r), b"body{}");
        assert!(r.header("etag").is_some());
        assert!(r.header("last-modified").is_some());
        assert_eq!(r.header("accept-ranges"), Some(&b"bytes"[..]));
        let r = get(&s, "/a%20b.txt", "");
        assert_eq!((r.status, body_of(&r)), (200, b"0123456789".to_vec()));
    }

    #[test]
    fn directories_serve_their_index_or_redirect_to_the_slash() {
        let s = site("dirs");
        let r = get(&s, "/", "");
        assert_eq!((r.status, body_of(&r)), (200, b"<h1>hi</h1>".to_vec()));
        assert_eq!(
            r.header("content-type"),
            Some(&b"text/html; charset=utf-8"[..])
        );
        let r = get(&s, "/sub?x=1", "");
        assert_eq!(r.status, 301);
        assert_eq!(r.header("location"), Some(&b"/sub/?x=1"[..]));
        assert_eq!(body_of(&get(&s, "/sub/", "")), b"sub");
        assert_eq!(get(&s, "/empty/", "").status, 403);
    }

    #[test]
    fn nothing_leaves_the_root() {
        let s = site("escape");
        for target in [
            "/../secret",
            "/%2e%2e/secret",
            "/sub/..%2f..%2fsecret",
            "/%2E%2E/secret",
            "/a%00b",
        ] {
            assert_eq!(get(&s, target, "").status, 400, "{target}");
        }
        assert_eq!(get(&s, "/escape", "").status, 403);
        assert_eq!(get(&s, "/inside", "").status, 200);
        assert_eq!(get(&s, "/missing", "").status, 404);
        assert_eq!(get(&s, "//etc/passwd", "").status, 404);
        // A caller that skips normalization still cannot climb out.
        let h = head("GET / HTTP/1.1\nHost: x\n");
        assert_eq!(plan(&s.route, b"/../secret", &h).status, 400);
        assert_eq!(plan(&s.route, b"/a\0b", &h).status, 400);
    }

    #[test]
    fn conditional_requests_answer_304() {
        let s = site("cond");
        let r = get(&s, "/style.css", "");
        let etag = String::from_utf8(r.header("etag").unwrap().to_vec()).unwrap();
        let lm = String::from_utf8(r.header("last-modified").unwrap().to_vec()).unwrap();
        let r = get(&s, "/style.css", &format!("If-None-Match: \"x\", {etag}\n"));
        assert_eq!(r.status, 304);
        assert_eq!(r.header("etag"), Some(etag.as_bytes()));
        assert_eq!(
            get(&s, "/style.css", &format!("If-None-Match: W/{etag}\n")).status,
            304
        );
        assert_eq!(
            get(&s, "/style.css", "If-None-Match: \"other\"\n").status,
            200
        );
        assert_eq!(
            get(&s, "/style.css", &format!("If-Modified-Since: {lm}\n")).status,
            304
        );
        assert_eq!(
            get(
                &s,
                "/style.css",
                "If-Modified-Since: Sat, 01 Jan 2000 00:00:00 GMT\n"
            )
            .status,
            200
        );
        // If-None-Match wins over If-Modified-Since.
        let both = format!("If-None-Match: \"other\"\nIf-Modified-Since: {lm}\n");
        assert_eq!(get(&s, "/style.css", &both).status, 200);
    }

    #[test]
    fn failed_preconditions_answer_412() {
        let s = site("precond");
        let etag =
            String::from_utf8(get(&s, "/style.css", "").header("etag").unwrap().to_vec()).unwrap();
        let r = get(&s, "/style.css", &format!("If-Match: {etag}\n"));
        assert_eq!(r.status, 200);
        assert_eq!(get(&s, "/style.css", "If-Match: \"other\"\n").status, 412);
        let old = "If-Unmodified-Since: Sat, 01 Jan 2000 00:00:00 GMT\n";
        assert_eq!(get(&s, "/style.css", old).status, 412);
    }

    #[test]
    fn single_ranges_answer_206_or_416() {
        let s = site("range");
        let r = get(&s, "/a%20b.txt", "Range: bytes=2-4\n");
        assert_eq!(r.status, 206);
        assert_eq!(r.header("content-range"), Some(&b"bytes 2-4/10"[..]));
        assert_eq!(body_of(&r), b"234");
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "Range: bytes=-3\n")), b"789");
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "Range: bytes=7-\n")), b"789");
        assert_eq!(
            body_of(&get(&s, "/a%20b.txt", "Range: bytes=8-100\n")),
            b"89"
        );
        let r = get(&s, "/a%20b.txt", "Range: bytes=10-\n");
        assert_eq!(r.status, 416);
        assert_eq!(r.header("content-range"), Some(&b"bytes */10"[..]));
        assert_eq!(get(&s, "/a%20b.txt", "Range: bytes=0-1,3-4\n").status, 200);
        assert_eq!(get(&s, "/a%20b.txt", "Range: lines=1-2\n").status, 200);
        assert_eq!(get(&s, "/a%20b.txt", "Range: bytes=5-1\n").status, 200);
        let stale = "Range: bytes=0-1\nIf-Range: \"stale\"\n";
        assert_eq!(get(&s, "/a%20b.txt", stale).status, 200);
        let etag =
            String::from_utf8(get(&s, "/a%20b.txt", "").header("etag").unwrap().to_vec()).unwrap();
        let fresh = format!("Range: bytes=0-1\nIf-Range: {etag}\n");
        assert_eq!(get(&s, "/a%20b.txt", &fresh).status, 206);
    }

    #[test]
    fn head_describes_without_a_body_and_other_methods_get_405() {
        let s = site("head");
        let h = head("HEAD /a%20b.txt HTTP/1.1\nHost: x\n");
        let r = plan(&s.route, b"/a b.txt", &h);
        assert_eq!((r.status, r.body_len), (200, 10));
        assert!(matches!(r.body, Body::Empty));
        let h = head("DELETE /a%20b.txt HTTP/1.1\nHost: x\n");
        let r = plan(&s.route, b"/a b.txt", &h);
        assert_eq!(r.status, 405);
        assert_eq!(r.header("allow"), Some(&b"GET, HEAD"[..]));
    }

    #[test]
    fn large_files_are_planned_not_loaded() {
        let s = site("large");
        let mut f = File::create(s.route.root.join("big.bin")).unwrap();
        let chunk = vec![7u8; 1 << 20];
        for _ in 0..8 {
            f.write_all(&chunk).unwrap();
        }
        drop(f);
        let r = get(&s, "/big.bin", "");
        assert_eq!(r.body_len, 8 << 20);
        assert!(matches!(r.body, Body::File { offset: 0, len, .. } if len == 8 << 20));
        assert_eq!(
            r.header("content-type"),
            Some(&b"application/octet-stream"[..])
        );
    }

    #[test]
    fn a_file_is_served_from_the_open_file_cache_until_it_changes() {
        let s = site("cache");
        let before = open_files::len();
        let first = get(&s, "/a%20b.txt", "");
        assert_eq!(open_files::len(), before + 1);
        let again = get(&s, "/a%20b.txt", "");
        assert_eq!(open_files::len(), before + 1);
        assert_eq!(body_of(&again), b"0123456789");
        assert_eq!(again.header("etag"), first.header("etag"));
        assert!(
            matches!(again.body, Body::Bytes(_)),
            "a small file's bytes are kept"
        );

        // Same length, new bytes: the change time moves, so the entry is dropped.
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(s.route.root.join("a b.txt"), "abcdefghij").unwrap();
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "")), b"abcdefghij");
        // A new length: new validators.
        std::fs::write(s.route.root.join("a b.txt"), "short").unwrap();
        let changed = get(&s, "/a%20b.txt", "");
        assert_eq!(body_of(&changed), b"short");
        assert_ne!(changed.header("etag"), first.header("etag"));
        // A range of a cached file comes from the kept bytes.
        let range = get(&s, "/a%20b.txt", "Range: bytes=1-2\n");
        assert_eq!((range.status, body_of(&range)), (206, b"ho".to_vec()));
    }

    #[test]
    fn a_cached_file_that_is_deleted_or_replaced_by_an_escaping_symlink_is_seen_at_once() {
        let s = site("cache-gone");
        assert_eq!(get(&s, "/style.css", "").status, 200);
        std::fs::remove_file(s.route.root.join("style.css")).unwrap();
        assert_eq!(get(&s, "/style.css", "").status, 404);

        assert_eq!(get(&s, "/a%20b.txt", "").status, 200);
        std::fs::remove_file(s.route.root.join("a b.txt")).unwrap();
        std::os::unix::fs::symlink(s.dir.join("secret"), s.route.root.join("a b.txt")).unwrap();
        assert_eq!(get(&s, "/a%20b.txt", "").status, 403);
    }

    #[test]
    fn directory_indexes_and_large_files_keep_no_bytes_in_memory() {
        let s = site("cache-dirs");
        let before = open_files::len();
        assert_eq!(get(&s, "/sub/", "").status, 200);
        assert_eq!(open_files::len(), before, "an index file is not cached");
        let big = vec![1u8; usize::try_from(open_files::SMALL_FILE).unwrap() + 1];
        std::fs::write(s.route.root.join("big.bin"), &big).unwrap();
        get(&s, "/big.bin", "");
        let again = get(&s, "/big.bin", "");
        assert!(matches!(again.body, Body::File { .. }));
        assert_eq!(body_of(&again), big);
    }

    #[test]
    fn within_its_validity_window_a_cached_file_is_not_checked_again() {
        let mut s = site("cache-window");
        s.route.file_cache_valid = std::time::Duration::from_millis(300);
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "")), b"0123456789");
        std::fs::write(s.route.root.join("a b.txt"), "changed!").unwrap();
        // The kept copy, whole and consistent, until the window ends.
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "")), b"0123456789");
        std::thread::sleep(std::time::Duration::from_millis(350));
        assert_eq!(body_of(&get(&s, "/a%20b.txt", "")), b"changed!");
    }
}
