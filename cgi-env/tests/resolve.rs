//! Script resolution against a real directory tree (see `support::Fixture`).
//!
//! Paths go through what a gateway does with a request's path: http-proto's one
//! decoding with the policy for scripts (`normalize_path_with(.., EncodedSlash::Refuse)`),
//! then the resolver. A refusal is http-proto's (decoding, `..` above the root, NUL,
//! `%2F`) or cgi-env's (prefix, files, symlinks, a path not in normal form).
#![allow(clippy::type_complexity)] // Rule tables read best as inline literals.

mod support;

use std::path::PathBuf;

use cgi_env::{Error, Limits, ScriptResolution, ScriptResolver};
use http_proto::ErrorKind;
use http_proto::semantics::{EncodedSlash, normalize_path_with};
use support::Fixture;

fn site(fx: &Fixture) -> ScriptResolver {
    ScriptResolver::directory(b"/", &fx.root).expect("root")
}

/// Who refused a request path, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Refusal {
    /// http-proto's normalization (all 400).
    Http(ErrorKind),
    /// The resolver.
    Cgi(Error),
}

/// A raw request path as a gateway resolves it.
fn resolve(r: &ScriptResolver, raw: &[u8]) -> Result<ScriptResolution, Refusal> {
    let path =
        normalize_path_with(raw, EncodedSlash::Refuse).map_err(|e| Refusal::Http(e.kind()))?;
    r.resolve(&path).map_err(Refusal::Cgi)
}

/// (url path, SCRIPT_NAME, PATH_INFO, file under root) for a site rooted at `/`.
#[test]
fn directory_walk_finds_the_first_file() {
    let fx = Fixture::new("walk");
    let r = site(&fx);
    let table: &[(&[u8], &[u8], &[u8], &str)] = &[
        (b"/hello.cgi", b"/hello.cgi", b"", "hello.cgi"),
        (b"/hello.cgi/", b"/hello.cgi", b"/", "hello.cgi"),
        (b"/hello.cgi/a/b", b"/hello.cgi", b"/a/b", "hello.cgi"),
        (b"/hello.cgi/a/b/", b"/hello.cgi", b"/a/b/", "hello.cgi"),
        (
            b"/hello.cgi/a%20b/c%3Fd",
            b"/hello.cgi",
            b"/a b/c?d",
            "hello.cgi",
        ),
        (b"/hello.cgi/x/../y", b"/hello.cgi", b"/y", "hello.cgi"),
        (b"/hello.cgi/x/..", b"/hello.cgi", b"/", "hello.cgi"),
        (b"//hello.cgi//a//b", b"/hello.cgi", b"/a/b", "hello.cgi"),
        (b"/./hello.cgi", b"/hello.cgi", b"", "hello.cgi"),
        (b"/docs/../hello.cgi/p", b"/hello.cgi", b"/p", "hello.cgi"),
        (b"/%68ello.cgi", b"/hello.cgi", b"", "hello.cgi"),
        (
            b"/cgi-bin/env.cgi/extra",
            b"/cgi-bin/env.cgi",
            b"/extra",
            "cgi-bin/env.cgi",
        ),
        (
            b"/cgi-bin/sub/deep.cgi",
            b"/cgi-bin/sub/deep.cgi",
            b"",
            "cgi-bin/sub/deep.cgi",
        ),
        (
            b"/cgi-bin/we%20ird%25.cgi/p",
            b"/cgi-bin/we ird%.cgi",
            b"/p",
            "cgi-bin/we ird%.cgi",
        ),
        // symbolic links that stay inside are followed; the path keeps the link's name
        (
            b"/link-in/env.cgi/x",
            b"/link-in/env.cgi",
            b"/x",
            "link-in/env.cgi",
        ),
        (
            b"/link-hello.cgi/q",
            b"/link-hello.cgi",
            b"/q",
            "link-hello.cgi",
        ),
    ];
    for (url, script_name, path_info, file) in table {
        let got =
            resolve(&r, url).unwrap_or_else(|e| panic!("{}: {e:?}", String::from_utf8_lossy(url)));
        let text = String::from_utf8_lossy(url);
        assert_eq!(got.script_name, *script_name, "{text}");
        assert_eq!(got.path_info, *path_info, "{text}");
        assert_eq!(got.script_filename, fx.root.join(file), "{text}");
        assert_eq!(got.document_root, fx.root, "{text}");
    }
}

#[test]
fn directory_walk_refusals() {
    let fx = Fixture::new("refuse");
    let r = site(&fx);
    use Refusal::{Cgi, Http};
    let table: &[(&[u8], Refusal)] = &[
        (b"/", Cgi(Error::ScriptNotFound)),
        (b"/docs", Cgi(Error::ScriptNotFound)),
        (b"/docs/", Cgi(Error::ScriptNotFound)),
        (b"/missing.cgi", Cgi(Error::ScriptNotFound)),
        (b"/docs/missing/deeper", Cgi(Error::ScriptNotFound)),
        (b"/plain.txt", Cgi(Error::NotExecutable)),
        (b"/plain.txt/x", Cgi(Error::NotExecutable)),
        (b"/docs/index.html", Cgi(Error::NotExecutable)),
        (b"/..", Http(ErrorKind::PathAboveRoot)),
        (b"/../outside/evil.cgi", Http(ErrorKind::PathAboveRoot)),
        (
            b"/docs/../../outside/evil.cgi",
            Http(ErrorKind::PathAboveRoot),
        ),
        (b"/%2e%2e/outside/evil.cgi", Http(ErrorKind::PathAboveRoot)),
        (b"/hello.cgi/../../x", Http(ErrorKind::PathAboveRoot)),
        (b"/cgi-bin%2fenv.cgi", Http(ErrorKind::PathEncodedSlash)),
        (b"/hello.cgi/a%2Fb", Http(ErrorKind::PathEncodedSlash)),
        (b"/hello.cgi%00", Http(ErrorKind::PathNul)),
        (b"/hello.cgi\0", Http(ErrorKind::PathNul)),
        // http-proto leaves a malformed escape as it is: a name no file has.
        (b"/hello%2", Cgi(Error::ScriptNotFound)),
        (b"hello.cgi", Cgi(Error::NotAbsolutePath)),
        (b"*", Cgi(Error::NotAbsolutePath)),
        (b"/link-out/evil.cgi", Cgi(Error::SymlinkOutsideRoot)),
        (b"/link-out.cgi", Cgi(Error::SymlinkOutsideRoot)),
    ];
    for (url, expected) in table {
        assert_eq!(
            resolve(&r, url).as_ref().err(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(url)
        );
    }
    // A segment longer than NAME_MAX names no file.
    let mut long = b"/".to_vec();
    long.resize(4000, b'a');
    assert_eq!(r.resolve(&long), Err(Error::ScriptNotFound));
    // A symlink loop is an I/O error, not a hang and not a script.
    assert!(matches!(
        r.resolve(b"/loop"),
        Err(Error::Io(_) | Error::ScriptNotFound)
    ));
    // Double encoding is decoded once only: `%252e%252e` names a file called `%2e%2e`.
    assert_eq!(
        resolve(&r, b"/%252e%252e/x"),
        Err(Cgi(Error::ScriptNotFound))
    );
}

/// A gateway that skips http-proto's normalization and hands over the raw path gets a
/// refusal (500: its own bug), never a file outside the root: the resolver decodes
/// nothing and takes no dot-segment.
#[test]
fn raw_paths_fail_closed() {
    let fx = Fixture::new("raw");
    let r = site(&fx).allow_symlinks_outside_root(true);
    let table: &[(&[u8], Error)] = &[
        (b"/../outside/evil.cgi", Error::NotNormalized { offset: 1 }),
        (b"/docs/../hello.cgi", Error::NotNormalized { offset: 6 }),
        (b"/./hello.cgi", Error::NotNormalized { offset: 1 }),
        (b"//hello.cgi", Error::NotNormalized { offset: 1 }),
        (b"/hello.cgi//x", Error::NotNormalized { offset: 11 }),
        (b"/hello.cgi/x/..", Error::NotNormalized { offset: 13 }),
        (b"/hello.cgi\0", Error::NulInPath { offset: 10 }),
        // Not decoded: escapes are names, as in a path that was decoded once already.
        (b"/%2e%2e/outside/evil.cgi", Error::ScriptNotFound),
        (b"/%68ello.cgi", Error::ScriptNotFound),
    ];
    for (url, expected) in table {
        assert_eq!(
            r.resolve(url).as_ref().err(),
            Some(expected),
            "{}",
            String::from_utf8_lossy(url)
        );
    }
    assert_eq!(Error::NotNormalized { offset: 1 }.status_code(), 500);
    // `/hello.cgi/a%2Fb` decoded once is `/hello.cgi/a/b`; the resolver cannot know a
    // slash was encoded, which is why the gateway normalizes with EncodedSlash::Refuse.
    let decoded = r.resolve(b"/hello.cgi/a/b").expect("resolves");
    assert_eq!(decoded.path_info, b"/a/b");
}

#[test]
fn symlinks_outside_the_root_when_allowed() {
    let fx = Fixture::new("allow");
    let r = site(&fx).allow_symlinks_outside_root(true);
    let got = r.resolve(b"/link-out/evil.cgi/p").expect("allowed");
    assert_eq!(got.script_filename, fx.root.join("link-out/evil.cgi"));
    assert_eq!(got.path_info, b"/p");
    // `..` is still refused: it is a property of the URL, not of the tree.
    assert_eq!(
        resolve(&r, b"/../outside/evil.cgi"),
        Err(Refusal::Http(ErrorKind::PathAboveRoot))
    );
}

#[test]
fn require_executable_off_serves_plain_files() {
    let fx = Fixture::new("noexec");
    let r = site(&fx).require_executable(false);
    let got = r.resolve(b"/docs/index.html/x").expect("php-style");
    assert_eq!(got.script_filename, fx.root.join("docs/index.html"));
    assert_eq!(got.path_info, b"/x");
}

#[test]
fn url_prefix_maps_onto_the_root() {
    let fx = Fixture::new("prefix");
    let r = ScriptResolver::directory(b"/scripts/", fx.root.join("cgi-bin"))
        .expect("root")
        .with_document_root("/var/www");
    let got = r
        .resolve(b"/scripts/env.cgi/a/b?not-a-query")
        .expect("resolves");
    assert_eq!(got.script_name, b"/scripts/env.cgi");
    assert_eq!(got.path_info, b"/a/b?not-a-query");
    assert_eq!(got.script_filename, fx.root.join("cgi-bin/env.cgi"));
    assert_eq!(got.document_root, PathBuf::from("/var/www"));
    assert_eq!(
        got.path_translated,
        Some(PathBuf::from("/var/www/a/b?not-a-query"))
    );
    assert_eq!(r.resolve(b"/other/env.cgi"), Err(Error::PrefixMismatch));
    assert_eq!(r.resolve(b"/scriptsx/env.cgi"), Err(Error::PrefixMismatch));
    assert_eq!(
        resolve(&r, b"/scripts/../hello.cgi"),
        Err(Refusal::Cgi(Error::PrefixMismatch))
    );
    assert_eq!(
        resolve(&r, b"/scripts/.."),
        Err(Refusal::Cgi(Error::PrefixMismatch))
    );
    // The prefix is matched whole segments at a time, as written (decoded).
    assert_eq!(
        resolve(&r, b"/%73cripts/env.cgi").map(|s| s.script_name),
        Ok(b"/scripts/env.cgi".to_vec())
    );
    assert_eq!(r.root(), fx.root.join("cgi-bin"));
}

/// RFC 3875 §4.1.6: PATH_TRANSLATED is PATH_INFO mapped onto the document root, and
/// NULL when PATH_INFO is.
#[test]
fn path_translated_follows_path_info() {
    let fx = Fixture::new("translated");
    let r = site(&fx);
    assert_eq!(r.resolve(b"/hello.cgi").expect("ok").path_translated, None);
    assert_eq!(
        r.resolve(b"/hello.cgi/").expect("ok").path_translated,
        Some(fx.root.join(""))
    );
    assert_eq!(
        r.resolve(b"/hello.cgi/docs/index.html")
            .expect("ok")
            .path_translated,
        Some(fx.root.join("docs/index.html"))
    );
}

#[test]
fn single_program_form() {
    let r = ScriptResolver::single_program(b"/git/", "/usr/lib/git-core/git-http-backend")
        .with_document_root("/srv/git");
    let table: &[(&[u8], &[u8], Option<&str>)] = &[
        (b"/git", b"", None),
        (b"/git/", b"/", Some("/srv/git/")),
        (
            b"/git/repo.git/info/refs",
            b"/repo.git/info/refs",
            Some("/srv/git/repo.git/info/refs"),
        ),
        (
            b"/git/repo.git/git-upload-pack",
            b"/repo.git/git-upload-pack",
            Some("/srv/git/repo.git/git-upload-pack"),
        ),
        (b"/git/a/../b", b"/b", Some("/srv/git/b")),
        (b"/git//a", b"/a", Some("/srv/git/a")),
    ];
    for (url, path_info, translated) in table {
        let got = resolve(&r, url).expect("resolves");
        let text = String::from_utf8_lossy(url);
        assert_eq!(got.script_name, b"/git", "{text}");
        assert_eq!(got.path_info, *path_info, "{text}");
        assert_eq!(got.path_translated, translated.map(PathBuf::from), "{text}");
        assert_eq!(
            got.script_filename,
            PathBuf::from("/usr/lib/git-core/git-http-backend")
        );
    }
    assert_eq!(r.resolve(b"/gitx"), Err(Error::PrefixMismatch));
    assert_eq!(r.resolve(b"/"), Err(Error::PrefixMismatch));
    use Refusal::{Cgi, Http};
    assert_eq!(resolve(&r, b"/git/.."), Err(Cgi(Error::PrefixMismatch)));
    assert_eq!(
        resolve(&r, b"/git/../etc/passwd"),
        Err(Cgi(Error::PrefixMismatch))
    );
    assert_eq!(
        resolve(&r, b"/git/../../etc"),
        Err(Http(ErrorKind::PathAboveRoot))
    );
    assert_eq!(
        resolve(&r, b"/git/a%2fb"),
        Err(Http(ErrorKind::PathEncodedSlash))
    );
    // Default document root: the program's directory.
    let plain = ScriptResolver::single_program(b"/app", "/opt/app/run");
    assert_eq!(
        plain.resolve(b"/app/x").expect("ok").document_root,
        PathBuf::from("/opt/app")
    );
    // A root-wide program.
    let all = ScriptResolver::single_program(b"/", "/opt/app/run");
    let got = all.resolve(b"/anything/here").expect("ok");
    assert_eq!(
        (got.script_name.as_slice(), got.path_info.as_slice()),
        (&b""[..], &b"/anything/here"[..])
    );
}

#[test]
fn segment_limit_bounds_the_walk() {
    let fx = Fixture::new("limit");
    let r = site(&fx).with_limits(Limits {
        max_path_segments: 3,
        ..Limits::default()
    });
    assert!(r.resolve(b"/hello.cgi/a/b").is_ok());
    assert_eq!(
        r.resolve(b"/hello.cgi/a/b/c"),
        Err(Error::TooManySegments { limit: 3 })
    );
}

#[test]
fn root_must_be_an_existing_directory() {
    let fx = Fixture::new("badroot");
    assert_eq!(
        ScriptResolver::directory(b"/", fx.root.join("nope")).err(),
        Some(Error::Io(std::io::ErrorKind::NotFound))
    );
    assert_eq!(
        ScriptResolver::directory(b"/", fx.root.join("hello.cgi")).err(),
        Some(Error::Io(std::io::ErrorKind::NotADirectory))
    );
}

#[test]
fn hand_built_resolution_computes_path_translated() {
    let r = ScriptResolution::new(
        b"/index.php".to_vec(),
        b"/a".to_vec(),
        "/www/index.php".into(),
        "/www".into(),
    );
    assert_eq!(r.path_translated, Some(PathBuf::from("/www/a")));
    let r = ScriptResolution::new(
        b"/index.php".to_vec(),
        Vec::new(),
        "/www/index.php".into(),
        "/www".into(),
    );
    assert_eq!(r.path_translated, None);
}

/// A PHP location: plain files, a `.php` suffix, an index file. The suffix is what keeps
/// `/upload.jpg/x.php` from handing an uploaded image to PHP.
#[test]
fn script_suffix_and_index_for_php_locations() {
    let fx = Fixture::new("php");
    std::fs::create_dir_all(fx.root.join("blog/uploads")).unwrap();
    std::fs::write(fx.root.join("blog/index.php"), b"<?php").unwrap();
    std::fs::write(fx.root.join("blog/post.php"), b"<?php").unwrap();
    std::fs::write(fx.root.join("blog/uploads/cat.jpg"), b"<?php evil();").unwrap();
    let php = site(&fx)
        .require_executable(false)
        .with_script_suffix(b".php")
        .with_index(b"index.php");
    let ok = |raw: &[u8]| resolve(&php, raw).expect("resolves");

    let r = ok(b"/blog/post.php/2026/12");
    assert_eq!(r.script_name, b"/blog/post.php");
    assert_eq!(r.path_info, b"/2026/12");
    assert_eq!(r.script_filename, fx.root.join("blog/post.php"));

    for dir in [&b"/blog/"[..], b"/blog"] {
        let r = ok(dir);
        assert_eq!(r.script_name, b"/blog/index.php");
        assert_eq!(r.path_info, b"");
        assert_eq!(r.script_filename, fx.root.join("blog/index.php"));
    }

    for refused in [
        &b"/blog/uploads/cat.jpg/x.php"[..],
        b"/blog/uploads/cat.jpg",
        b"/blog/uploads/",
        b"/blog/missing.php",
        b"/plain.txt/x.php",
    ] {
        assert_eq!(
            resolve(&php, refused),
            Err(Refusal::Cgi(Error::ScriptNotFound)),
            "{}",
            String::from_utf8_lossy(refused)
        );
    }
}
