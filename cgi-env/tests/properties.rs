//! Properties: resolution never leaves the root, for paths http-proto normalized and for
//! raw ones a careless gateway might pass; the response parser gives the same events
//! however its input is split; the environment keeps its invariants for any header list;
//! ISINDEX words round-trip, and a path decoded once by http-proto comes back whole as
//! SCRIPT_NAME + PATH_INFO.

mod strategies;
mod support;

use std::path::{Component, Path};

use cgi_env::{
    CgiRequest, Environment, Error, Limits, ScriptResolution, ScriptResolver, isindex_words,
};
use http_proto::semantics::{EncodedSlash, normalize_path_with};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use strategies::{cgi_output, request_headers, search_words, url_path};
use support::{Fixture, run_chunks};

/// The path a gateway resolves: http-proto's one decoding, `%2F` refused.
fn normalized(raw: &[u8]) -> Option<Vec<u8>> {
    normalize_path_with(raw, EncodedSlash::Refuse)
        .ok()
        .map(std::borrow::Cow::into_owned)
}

fn has_parent_component(path: &Path) -> bool {
    path.components().any(|c| c == Component::ParentDir)
}

fn check_resolution(r: &ScriptResolution, root: &Path, symlinks_allowed: bool) {
    assert!(r.script_filename.starts_with(root), "{r:?}");
    assert!(!has_parent_component(&r.script_filename), "{r:?}");
    if !symlinks_allowed {
        let real = std::fs::canonicalize(&r.script_filename).expect("exists");
        assert!(real.starts_with(root), "{r:?} -> {real:?}");
    }
    if let Some(t) = &r.path_translated {
        assert!(t.starts_with(&r.document_root), "{r:?}");
        assert!(!has_parent_component(t), "{r:?}");
    } else {
        assert!(r.path_info.is_empty());
    }
    for part in [&r.script_name, &r.path_info] {
        assert!(part.is_empty() || part.starts_with(b"/"), "{r:?}");
        assert!(!part.contains(&0), "{r:?}");
        for segment in part.split(|&b| b == b'/') {
            assert!(segment != b".." && segment != b".", "{r:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Single-program form: PATH_INFO stays below the prefix and PATH_TRANSLATED below
    /// the document root, for any path.
    #[test]
    fn single_program_never_leaves_its_prefix(raw in url_path()) {
        let r = ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend")
            .with_document_root("/srv/git");
        for path in std::iter::once(raw.clone()).chain(normalized(&raw)) {
            let Ok(res) = r.resolve(&path) else { continue };
            prop_assert_eq!(&res.script_name, b"/git");
            if let Some(t) = &res.path_translated {
                prop_assert!(t.starts_with("/srv/git"));
                prop_assert!(!has_parent_component(t));
            }
            for segment in res.path_info.split(|&b| b == b'/') {
                prop_assert!(segment != b".." && segment != b".");
            }
            // Pieces of the path it was given, nothing decoded again.
            let mut whole = res.script_name.clone();
            whole.extend_from_slice(&res.path_info);
            prop_assert_eq!(whole, path);
        }
    }

    /// Decoding happens exactly once, in http-proto: any segment, fully percent-encoded,
    /// comes back as itself in PATH_INFO.
    #[test]
    fn percent_decoding_round_trips(
        segments in proptest::collection::vec(
            proptest::collection::vec(1u8..=255, 1..6)
                .prop_filter("no slash, not a dot segment", |s| {
                    !s.contains(&b'/') && s != b"." && s != b".."
                }),
            1..5,
        )
    ) {
        let mut url = b"/app".to_vec();
        let mut expected = Vec::new();
        for s in &segments {
            url.push(b'/');
            expected.push(b'/');
            for b in s {
                url.extend_from_slice(format!("%{b:02X}").as_bytes());
            }
            expected.extend_from_slice(s);
        }
        let r = ScriptResolver::single_program(b"/app", "/bin/app");
        let path = normalized(&url).expect("normalizes");
        prop_assert_eq!(r.resolve(&path).expect("valid").path_info, expected);
    }

    /// The same events however the script's output is chunked (structured inputs).
    #[test]
    fn response_split_anywhere(input in cgi_output()) {
        support::assert_split_anywhere_upto(&input, Limits::default(), 48);
    }

    /// ... and with limits small enough to trip on these inputs.
    #[test]
    fn response_split_anywhere_tight_limits(input in cgi_output(), bytes in 8usize..64, lines in 0usize..4) {
        let limits = Limits { max_header_bytes: bytes, max_headers: lines, ..Limits::default() };
        support::assert_split_anywhere_upto(&input, limits, 32);
    }

    /// Arbitrary bytes: never a panic, and still split-invariant.
    #[test]
    fn response_arbitrary_bytes(input in proptest::collection::vec(any::<u8>(), 0..80)) {
        support::assert_split_anywhere_upto(&input, Limits::default(), 24);
    }

    /// A head, once produced, only holds clean fields; the body is the exact rest.
    #[test]
    fn response_heads_are_clean(input in cgi_output()) {
        let out = run_chunks(&[&input], Limits::default());
        if let Some(head) = out.head {
            for (name, value) in &head.headers {
                prop_assert!(!name.is_empty());
                prop_assert!(name.iter().all(|b| b.is_ascii_graphic() && *b != b':'));
                prop_assert!(value.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)));
                prop_assert!(!name.eq_ignore_ascii_case(b"status") || head.nph_version.is_some());
            }
            prop_assert!((100..=599).contains(&head.status));
            if head.kind != cgi_env::ResponseKind::LocalRedirect {
                prop_assert!(input.ends_with(&out.body));
            }
        }
    }

    /// Environment invariants for any header list.
    #[test]
    fn environment_invariants(headers in request_headers(), https in any::<bool>()) {
        let request = CgiRequest { https, ..CgiRequest::default() };
        let script = ScriptResolution::new(b"/s".to_vec(), b"/p".to_vec(), "/x/s".into(), "/x".into());
        match Environment::build(&request, &script, headers.iter().map(|(n, v)| (n, v))) {
            Ok(env) => {
                let mut names: Vec<&[u8]> = env.iter().map(|(n, _)| n).collect();
                let total = names.len();
                names.sort_unstable();
                names.dedup();
                prop_assert_eq!(names.len(), total, "unique names");
                for (name, value) in env.iter() {
                    prop_assert!(!value.contains(&0));
                    prop_assert!(name.iter().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_'));
                    prop_assert!(name != b"HTTP_PROXY");
                    prop_assert!(name != b"HTTP_AUTHORIZATION" && name != b"HTTP_PROXY_AUTHORIZATION");
                    prop_assert!(name != b"HTTP_CONTENT_TYPE" && name != b"HTTP_CONTENT_LENGTH");
                }
                for required in ["GATEWAY_INTERFACE", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL",
                                 "SERVER_SOFTWARE", "REQUEST_METHOD", "SCRIPT_NAME", "QUERY_STRING",
                                 "REMOTE_ADDR"] {
                    prop_assert!(env.get(required.as_bytes()).is_some(), "{}", required);
                }
            }
            Err(Error::NulInVariable { .. }) => {
                prop_assert!(headers.iter().any(|(_, v)| v.contains(&0)));
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    /// ISINDEX: encode words, join with `+`, get the same words back.
    #[test]
    fn isindex_words_round_trip(words in search_words()) {
        let query: Vec<u8> = words
            .iter()
            .map(|w| w.iter().map(|b| format!("%{b:02x}")).collect::<String>())
            .collect::<Vec<_>>()
            .join("+")
            .into_bytes();
        prop_assert_eq!(isindex_words(b"GET", &query, &Limits::default()), Some(words));
    }

    /// ISINDEX never yields an empty word, a NUL or an option-like word.
    #[test]
    fn isindex_words_are_safe(query in proptest::collection::vec(any::<u8>(), 0..24)) {
        if let Some(words) = isindex_words(b"GET", &query, &Limits::default()) {
            prop_assert!(!query.contains(&b'='));
            for w in words {
                prop_assert!(!w.is_empty());
                prop_assert!(!w.contains(&0));
                prop_assert!(w[0] != b'-');
            }
        }
    }
}

/// Every resolver flavour over one fixture tree, on the raw path (a gateway that forgot
/// to normalize must still not escape) and on the normalized one; returns how many
/// resolved.
fn resolve_everywhere(fx: &Fixture, raw: &[u8]) -> usize {
    let mut resolved = resolve_each(fx, raw);
    if let Some(path) = normalized(raw) {
        resolved += resolve_each(fx, &path);
    }
    resolved
}

fn resolve_each(fx: &Fixture, path: &[u8]) -> usize {
    let mut resolved = 0;
    let strict = ScriptResolver::directory(b"/", &fx.root).expect("root");
    if let Ok(r) = strict.resolve(path) {
        check_resolution(&r, &fx.root, false);
        resolved += 1;
    }
    let php = ScriptResolver::directory(b"/", &fx.root)
        .expect("root")
        .require_executable(false);
    if let Ok(r) = php.resolve(path) {
        check_resolution(&r, &fx.root, false);
        resolved += 1;
    }
    // Under a prefix, with a narrower root.
    let cgi_bin = ScriptResolver::directory(b"/cgi-bin", fx.root.join("cgi-bin")).expect("root");
    if let Ok(r) = cgi_bin.resolve(path) {
        check_resolution(&r, &fx.root.join("cgi-bin"), false);
        assert!(r.script_name.starts_with(b"/cgi-bin/"));
        resolved += 1;
    }
    // Links may leave; `..` still may not climb out of the URL space.
    let lax = ScriptResolver::directory(b"/", &fx.root)
        .expect("root")
        .allow_symlinks_outside_root(true);
    if let Ok(r) = lax.resolve(path) {
        check_resolution(&r, &fx.root, true);
        resolved += 1;
    }
    resolved
}

/// The property: no input resolves to a file outside the root. One fixture
/// tree per test (removed at the end), driven by a hand-held runner.
#[test]
fn resolution_never_leaves_the_root() {
    let fx = Fixture::new("prop-resolve");
    let mut runner = TestRunner::new(Config {
        cases: 2048,
        ..Config::default()
    });
    let hits = std::cell::Cell::new(0);
    runner
        .run(&url_path(), |path| {
            hits.set(hits.get() + resolve_everywhere(&fx, &path));
            Ok::<(), TestCaseError>(())
        })
        .expect("property holds");
    // Not vacuous: a fair share of generated paths reach a script.
    let hits = hits.get();
    assert!(hits > 100, "only {hits} resolutions");
}

/// Arbitrary bytes after the `/`: never a panic, never an escape.
#[test]
fn resolution_of_arbitrary_bytes() {
    let fx = Fixture::new("prop-bytes");
    let mut runner = TestRunner::new(Config {
        cases: 1024,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..40), |tail| {
            let mut path = b"/".to_vec();
            path.extend_from_slice(&tail);
            resolve_everywhere(&fx, &path);
            Ok::<(), TestCaseError>(())
        })
        .expect("property holds");
}

/// The response strategy is not vacuous: it yields heads of every kind and errors.
#[test]
fn response_strategy_reaches_every_kind() {
    let mut runner = TestRunner::new(Config {
        cases: 4096,
        ..Config::default()
    });
    let seen = std::cell::RefCell::new(std::collections::HashSet::new());
    let errors = std::cell::Cell::new(0);
    runner
        .run(&cgi_output(), |input| {
            let out = run_chunks(&[&input], Limits::default());
            match out.head {
                Some(head) => {
                    seen.borrow_mut().insert(head.kind);
                }
                None => errors.set(errors.get() + 1),
            }
            Ok::<(), TestCaseError>(())
        })
        .expect("runs");
    assert_eq!(seen.borrow().len(), 5, "{:?}", seen.borrow());
    assert!(errors.get() > 100);
}
