#![no_main]
//! Script resolution on any URL path over a fixture tree (built once per process under
//! the temp dir): never panics, and every resolved script lies inside the root, both for
//! the path as http-proto normalizes it for scripts (what a gateway passes) and for the
//! raw bytes (what a careless gateway might pass); a resolved path comes back whole as
//! SCRIPT_NAME + PATH_INFO (nothing decoded again, nothing dropped).

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

use cgi_env::{ScriptResolution, ScriptResolver};
use http_proto::semantics::{EncodedSlash, normalize_path_with};
use libfuzzer_sys::fuzz_target;

struct Tree {
    root: PathBuf,
    strict: ScriptResolver,
    lax: ScriptResolver,
    php: ScriptResolver,
    prefixed: ScriptResolver,
    single: ScriptResolver,
}

fn file(path: &Path, mode: u32) {
    fs::write(path, b"#!/bin/sh\n").expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("cgi-env-fuzz-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let root = dir.join("root");
        let outside = dir.join("outside");
        fs::create_dir_all(root.join("cgi-bin/sub")).expect("mkdir");
        fs::create_dir_all(root.join("docs")).expect("mkdir");
        fs::create_dir_all(&outside).expect("mkdir");
        file(&root.join("a.cgi"), 0o755);
        file(&root.join("b.txt"), 0o644);
        file(&root.join("docs/i.html"), 0o644);
        file(&root.join("cgi-bin/e.cgi"), 0o755);
        file(&root.join("cgi-bin/sub/d.cgi"), 0o755);
        file(&outside.join("x.cgi"), 0o755);
        #[cfg(unix)]
        {
            use std::os::unix::fs::symlink;
            let _ = symlink("cgi-bin", root.join("in"));
            let _ = symlink("a.cgi", root.join("l.cgi"));
            let _ = symlink("../outside", root.join("out"));
            let _ = symlink("../outside/x.cgi", root.join("o.cgi"));
            let _ = symlink("loop", root.join("loop"));
        }
        let root = fs::canonicalize(&root).expect("root");
        Tree {
            strict: ScriptResolver::directory(b"/", &root).expect("root"),
            lax: ScriptResolver::directory(b"/", &root)
                .expect("root")
                .allow_symlinks_outside_root(true),
            php: ScriptResolver::directory(b"/", &root)
                .expect("root")
                .require_executable(false),
            prefixed: ScriptResolver::directory(b"/cgi-bin", root.join("cgi-bin")).expect("root"),
            single: ScriptResolver::single_program(b"/git", "/usr/lib/git-core/git-http-backend")
                .with_document_root("/srv/git"),
            root,
        }
    })
}

fn no_parent(path: &Path) -> bool {
    !path.components().any(|c| c == Component::ParentDir)
}

fn check(r: &ScriptResolution, root: &Path, canonical_inside: bool) {
    assert!(r.script_filename.starts_with(root), "{r:?}");
    assert!(no_parent(&r.script_filename), "{r:?}");
    if canonical_inside {
        let real = fs::canonicalize(&r.script_filename).expect("resolved file exists");
        assert!(real.starts_with(root), "{r:?} -> {real:?}");
    }
    match &r.path_translated {
        Some(t) => assert!(t.starts_with(&r.document_root) && no_parent(t), "{r:?}"),
        None => assert!(r.path_info.is_empty()),
    }
    for part in [&r.script_name, &r.path_info] {
        assert!(part.is_empty() || part.starts_with(b"/"));
        assert!(!part.contains(&0));
        assert!(part.split(|&b| b == b'/').all(|s| s != b".." && s != b"."));
    }
}

fn check_all(path: &[u8]) {
    let t = tree();
    let whole = |r: &ScriptResolution| {
        assert_eq!(
            [&r.script_name[..], &r.path_info[..]].concat(),
            path,
            "{r:?}"
        );
    };
    if let Ok(r) = t.strict.resolve(path) {
        check(&r, &t.root, true);
        whole(&r);
    }
    if let Ok(r) = t.php.resolve(path) {
        check(&r, &t.root, true);
        whole(&r);
    }
    if let Ok(r) = t.lax.resolve(path) {
        check(&r, &t.root, false);
        whole(&r);
    }
    if let Ok(r) = t.prefixed.resolve(path) {
        check(&r, &t.root.join("cgi-bin"), true);
        whole(&r);
    }
    if let Ok(r) = t.single.resolve(path) {
        whole(&r);
        assert_eq!(r.script_name, b"/git");
        match &r.path_translated {
            Some(p) => assert!(p.starts_with("/srv/git") && no_parent(p)),
            None => assert!(r.path_info.is_empty()),
        }
    }
}

fuzz_target!(|path: &[u8]| {
    check_all(path);
    if let Ok(normalized) = normalize_path_with(path, EncodedSlash::Refuse) {
        check_all(&normalized);
    }
});
