//! The route chosen and the script resolved agree, for the same raw request targets.
//!
//! One rule owner: http-proto parses the target (every form, RFC 9112 §3.2) and decodes
//! its path once. The router matches a prefix on `normalize_path(head.path())`
//! (`%2F` decoded); the CGI gateway resolves with cgi-env's
//! `ScriptResolver::resolve_request`, which takes `normalize_path_with(head.path(),
//! EncodedSlash::Refuse)` (the same decoding, `%2F` refused, RFC 3875 §4.1.5) and decodes
//! nothing again. So whenever the route matches, the resolver
//! either finds a script under the same prefix whose SCRIPT_NAME + PATH_INFO is the very
//! path the router matched, or refuses with a typed error that answers 400 or 404; and a
//! script is never found for a path the route would not take. QUERY_STRING is
//! `head.query()`, never a fragment.
//!
//! Self-contained on purpose (http-proto, cgi-env and bytes only): the prefix match is
//! the router's rule, a byte `starts_with` on the normalized path, written out here.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use cgi_env::{CgiRequest, Environment, ScriptResolver};
use http_proto::semantics::{EncodedSlash, normalize_path, normalize_path_with};
use http_proto::{Limits, RequestHead};

/// The route's prefix, as a route table writes it.
const ROUTE_PREFIX: &[u8] = b"/cgi-bin/";

/// What the server does with a request-target.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    /// The CGI route matched and this script runs.
    Script {
        script_name: String,
        path_info: String,
        query: String,
    },
    /// Refused with this status: by the parser, the path normalization (routing or
    /// script), or the resolver.
    Refused(u16),
    /// Some other route (or none) answers.
    NotThisRoute,
}

fn script(script_name: &str, path_info: &str, query: &str) -> Outcome {
    Outcome::Script {
        script_name: script_name.to_owned(),
        path_info: path_info.to_owned(),
        query: query.to_owned(),
    }
}

use Outcome::{NotThisRoute, Refused};

/// A root holding one executable script, `x.cgi`, removed on drop.
struct ScriptDir(PathBuf);

impl ScriptDir {
    fn new() -> Self {
        use std::os::unix::fs::PermissionsExt;
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "refserver-target-agreement-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("x.cgi");
        std::fs::write(&file, "#!/bin/sh\necho 'Content-Type: text/plain'\necho\n")
            .expect("script");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        Self(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScriptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The router's rule for a prefix route: bytes of the normalized path.
fn route_matches(normalized: &[u8]) -> bool {
    normalized.starts_with(ROUTE_PREFIX)
}

/// Everything the server decides for `GET <target>`, checking the agreement on the way.
fn outcome(resolver: &ScriptResolver, target: &[u8]) -> Outcome {
    let mut raw = b"GET ".to_vec();
    raw.extend_from_slice(target);
    raw.extend_from_slice(b" HTTP/1.1\r\nHost: h.test\r\n\r\n");
    let head = match RequestHead::parse(&Bytes::from(raw), &Limits::default()) {
        Ok(Some((head, _))) => head,
        Ok(None) => panic!("incomplete head for {}", show(target)),
        Err(e) => return Refused(e.status()),
    };
    // Routing.
    let routed = match normalize_path(head.path()) {
        Ok(path) => path,
        Err(e) => return Refused(e.status()),
    };
    // The script the same path names.
    if let Ok(path) = normalize_path_with(head.path(), EncodedSlash::Refuse) {
        assert_eq!(path, routed, "one decoding: {}", show(target));
    }
    let resolved = resolver
        .resolve_request(&head)
        .map_err(|e| (e.status_code(), Some(e)));
    if !route_matches(&routed) {
        assert!(
            resolved.is_err(),
            "{}: a script the route does not take: {resolved:?}",
            show(target)
        );
        return NotThisRoute;
    }
    let found = match resolved {
        Ok(found) => found,
        Err((status, error)) => {
            assert!(
                matches!(status, 400 | 404),
                "{}: refused with {status} ({error:?})",
                show(target)
            );
            assert_ne!(
                error,
                Some(cgi_env::Error::PrefixMismatch),
                "{}: the route matched but the resolver's prefix did not",
                show(target)
            );
            return Refused(status);
        }
    };
    assert!(found.script_name.starts_with(ROUTE_PREFIX), "{found:?}");
    let mut whole = found.script_name.clone();
    whole.extend_from_slice(&found.path_info);
    assert_eq!(
        whole,
        &routed[..],
        "SCRIPT_NAME + PATH_INFO: {}",
        show(target)
    );

    let request = CgiRequest::from_head(&head);
    let env = Environment::build(&request, &found, head.headers().iter()).expect("environment");
    let query = env
        .get(b"QUERY_STRING")
        .expect("QUERY_STRING is always set");
    assert_eq!(query, head.query().unwrap_or_default(), "{}", show(target));
    assert!(!query.contains(&b'#'), "a fragment in QUERY_STRING");
    assert_eq!(env.get(b"REQUEST_URI"), Some(head.target()));
    Outcome::Script {
        script_name: text(&found.script_name),
        path_info: text(&found.path_info),
        query: text(query),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(target: &[u8]) -> String {
    format!("{:?}", text(target))
}

#[test]
fn the_route_and_the_script_agree_on_every_target() {
    let dir = ScriptDir::new();
    let resolver = ScriptResolver::directory(b"/cgi-bin", dir.path()).expect("resolver");
    let table: &[(&[u8], Outcome)] = &[
        // The plain spellings.
        (b"/cgi-bin/x.cgi", script("/cgi-bin/x.cgi", "", "")),
        (
            b"/cgi-bin/x.cgi/extra/path?a=1&b",
            script("/cgi-bin/x.cgi", "/extra/path", "a=1&b"),
        ),
        (b"/cgi-bin/x.cgi/", script("/cgi-bin/x.cgi", "/", "")),
        // Other spellings of the same path: one decoding, dot-segments, merged slashes.
        (b"/%63gi-bin/x.cgi", script("/cgi-bin/x.cgi", "", "")),
        (b"/cgi-bin/x%2Ecgi", script("/cgi-bin/x.cgi", "", "")),
        (
            b"/cgi-bin/../cgi-bin/x.cgi",
            script("/cgi-bin/x.cgi", "", ""),
        ),
        (b"//cgi-bin/x.cgi", script("/cgi-bin/x.cgi", "", "")),
        (b"/cgi-bin//x.cgi///p", script("/cgi-bin/x.cgi", "/p", "")),
        (b"/cgi-bin/./x.cgi/q/.", script("/cgi-bin/x.cgi", "/q/", "")),
        (b"/cgi-bin/x.cgi/a/../b", script("/cgi-bin/x.cgi", "/b", "")),
        (
            b"/cgi-bin/x.cgi/a%20b",
            script("/cgi-bin/x.cgi", "/a b", ""),
        ),
        // Decoded once: `%252F` is the three bytes `%2F`, a name, not a separator.
        (
            b"/cgi-bin/x.cgi/a%252Fb",
            script("/cgi-bin/x.cgi", "/a%2Fb", ""),
        ),
        (b"/cgi-bin/%252e%252e/x.cgi", Refused(404)),
        // An encoded slash: routed (decoded), refused for scripts (RFC 3875 §4.1.5).
        (b"/cgi-bin/x.cgi%2Fp", Refused(400)),
        (b"/cgi-bin%2Fx.cgi", Refused(400)),
        (b"/cgi-bin/x.cgi/a%2fb", Refused(400)),
        // A fragment is neither path nor query.
        (
            b"/cgi-bin/x.cgi?q=1#frag",
            script("/cgi-bin/x.cgi", "", "q=1"),
        ),
        (b"/cgi-bin/x.cgi#frag?not", script("/cgi-bin/x.cgi", "", "")),
        (b"/cgi-bin/x.cgi/p#f", script("/cgi-bin/x.cgi", "/p", "")),
        // Absolute-form: the same path and query as origin-form.
        (
            b"http://h.test/cgi-bin/x.cgi?q",
            script("/cgi-bin/x.cgi", "", "q"),
        ),
        (
            b"HTTPS://h.test:8443/cgi-bin/x.cgi/p?q#f",
            script("/cgi-bin/x.cgi", "/p", "q"),
        ),
        (b"http://h.test", NotThisRoute),
        (b"http://h.test?cgi-bin/x.cgi", NotThisRoute),
        (b"ftp://h.test/cgi-bin/x.cgi", Refused(400)),
        (b"http://user@h.test/cgi-bin/x.cgi", Refused(400)),
        (b"http:///cgi-bin/x.cgi", Refused(400)),
        // Escapes above the root, and NUL.
        (b"/cgi-bin/../../etc/passwd", Refused(400)),
        (b"/cgi-bin/%2e%2e/%2e%2e/etc/passwd", Refused(400)),
        (b"/cgi-bin/x.cgi/../../../x", Refused(400)),
        (b"/cgi-bin/..%2F..%2Fetc", Refused(400)),
        (b"/cgi-bin/x.cgi%00", Refused(400)),
        (b"/cgi-bin/x\0.cgi", Refused(400)),
        // Under the prefix, but no script.
        (b"/cgi-bin/", Refused(404)),
        (b"/cgi-bin/missing.cgi", Refused(404)),
        (b"/cgi-bin/missing.cgi/x.cgi", Refused(404)),
        // Not under the prefix: another route's business, and no script either.
        (b"/cgi-bin", NotThisRoute),
        (b"/cgi-binx/x.cgi", NotThisRoute),
        (b"/CGI-BIN/x.cgi", NotThisRoute),
        (b"/other/x.cgi", NotThisRoute),
        (b"/cgi-bin/x.cgi/../..", NotThisRoute),
        (b"/cgi-bin/..", NotThisRoute),
        (b"/x.cgi", NotThisRoute),
        (b"/", NotThisRoute),
    ];
    for (target, expected) in table {
        assert_eq!(&outcome(&resolver, target), expected, "{}", show(target));
    }
}
