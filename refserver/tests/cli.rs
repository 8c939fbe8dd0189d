//! The command line: `--check`, `--version`, configuration errors.

mod common;

use std::process::Command;

fn refserver(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_refserver"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_prints_the_effective_config_with_defaults() {
    let out = refserver(&["--check"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for key in [
        "listen = [\"127.0.0.1:8080\"]",
        "workers = 0",
        "access_log = \"stdout\"",
        "[limits]",
        "max_sessions = 10000",
        "header_timeout_ms = 10000",
        "keepalive_timeout_ms = 75000",
        "max_body_bytes = 10485760",
        "[[route]]",
        "prefix = \"/plaintext\"",
    ] {
        assert!(text.contains(key), "missing {key} in\n{text}");
    }
}

#[test]
fn version_prints_the_crate_version() {
    let out = refserver(&["--version"]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("refserver {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn unknown_keys_fail_with_their_line_number() {
    let dir = common::temp_dir("cli-bad");
    let path = dir.join("bad.toml");
    std::fs::write(
        &path,
        "listen = [\"127.0.0.1:0\"]\n\n[limits]\nmax_sesions = 5\n",
    )
    .unwrap();
    let out = refserver(&["--config", path.to_str().unwrap(), "--check"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains(&format!("{}:4:1:", path.display())), "{err}");
    assert!(err.contains("max_sesions"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_shipped_config_checks() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/refserver.toml");
    let out = refserver(&["--config", path, "--check"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn check_refuses_what_would_silently_do_nothing() {
    let dir = common::temp_dir("cli-mistakes");
    let cases = [
        ("listen = \"127.0.0.1:8080\"\n", "no [[route]]"),
        (
            "[[route]]\nprefix = \"img\"\nrespond = {}\n",
            "must start with `/`",
        ),
        (
            "[[route]]\nhost = \"*example.com\"\nrespond = {}\n",
            "not a host name",
        ),
        (
            "[[route]]\nprefix = \"/\"\nrespond = { status = 700 }\n",
            "not a final status",
        ),
        (
            "[[route]]\nprefix = \"/\"\ncgi = { dir = \"x\", colour = 1 }\n",
            "unknown field `colour`",
        ),
        (
            "[[route]]\nprefix = \"/\"\nfastcgi = { upstreams = [\"unix:/x\"], program = \"/x\", colour = 1 }\n",
            "unknown field `colour`",
        ),
        (
            "access_log = \"/nonexistent-dir/access.log\"\n[[route]]\nprefix = \"/\"\nrespond = {}\n",
            "access_log `/nonexistent-dir/access.log`",
        ),
    ];
    for (text, want) in cases {
        let path = dir.join("refserver.toml");
        std::fs::write(&path, text).unwrap();
        let out = refserver(&["--check", "--config", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text} passed --check");
        assert!(stderr.contains(want), "{text}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
