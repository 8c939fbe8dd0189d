//! End to end with real CGI programs: the environment goes into a child process, its
//! output comes back through the parser. The crate spawns nothing; these tests do.
//!
//! A missing peer (`/bin/sh`, git's `git-http-backend`) is reported and the test passes,
//! except under `CI=true`, where it fails.

mod support;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use bytes::Bytes;
use cgi_env::{
    CgiRequest, CgiResponse, Environment, Limits, ResponseEvent, ResponseKind, ResponseParser,
    ScriptResolver, isindex_words,
};
use http_proto::RequestHead;
use http_proto::semantics::{EncodedSlash, normalize_path_with};
use support::Fixture;

fn peer_missing(what: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "peer missing under CI: {what}"
    );
    eprintln!("skipped: {what} not found");
}

/// Runs `program` with exactly `env` (and `args`), feeds its stdout to the parser in
/// 7-byte pieces, returns the head and body.
fn run(
    program: &Path,
    env: &Environment,
    args: &[Vec<u8>],
    stdin: &[u8],
) -> (CgiResponse, Vec<u8>) {
    use std::io::Write;
    let mut child = Command::new(program)
        .env_clear()
        .envs(
            env.iter()
                .map(|(n, v)| (OsStr::from_bytes(n), OsStr::from_bytes(v))),
        )
        .args(args.iter().map(|a| OsStr::from_bytes(a)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin)
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    let mut parser = ResponseParser::new(Limits::default());
    let mut head = None;
    let mut body = Vec::new();
    for piece in output.stdout.chunks(7) {
        parser.feed(piece);
        loop {
            match parser.poll_event().expect("valid CGI output") {
                ResponseEvent::Head(h) => head = Some(h),
                ResponseEvent::Body(b) => body.extend_from_slice(&b),
                ResponseEvent::NeedData => break,
                ResponseEvent::End => unreachable!("no eof yet"),
            }
        }
    }
    parser.feed_eof();
    loop {
        match parser.poll_event().expect("valid CGI output") {
            ResponseEvent::Head(h) => head = Some(h),
            ResponseEvent::Body(b) => body.extend_from_slice(&b),
            ResponseEvent::End => break,
            ResponseEvent::NeedData => unreachable!("eof fed"),
        }
    }
    (head.expect("a head"), body)
}

/// The head http-proto parses from a request-line and its fields.
fn parse_head(request_line: &str, fields: &[&str]) -> RequestHead {
    let mut raw = format!("{request_line}\r\n");
    for field in fields {
        raw.push_str(field);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    RequestHead::parse(&Bytes::from(raw), &http_proto::Limits::default())
        .expect("valid head")
        .expect("complete head")
        .0
}

/// The path a gateway resolves: http-proto's one decoding, with `%2F` refused.
fn script_path(head: &RequestHead) -> Vec<u8> {
    normalize_path_with(head.path(), EncodedSlash::Refuse)
        .expect("normalizes")
        .into_owned()
}

fn request(head: &RequestHead) -> CgiRequest<'_> {
    CgiRequest {
        remote_addr: "127.0.0.1:50000".parse().expect("addr"),
        server_addr: "127.0.0.1:8080".parse().expect("addr"),
        server_name: b"localhost",
        ..CgiRequest::from_head(head)
    }
}

fn write_script(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn shell_script_sees_the_environment_and_isindex_words() {
    if !Path::new("/bin/sh").exists() {
        return peer_missing("/bin/sh");
    }
    let fx = Fixture::new("real-sh");
    write_script(
        &fx.root.join("cgi-bin/printenv.cgi"),
        "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv | LC_ALL=C sort\nfor a in \"$@\"; do echo \"ARG=$a\"; done\n",
    );
    let resolver = ScriptResolver::directory(b"/", &fx.root).expect("root");
    let head = parse_head(
        "GET /cgi-bin/printenv.cgi/some%20where/./x?rust+cgi%21#fragment HTTP/1.1",
        &[
            "Host: localhost:8080",
            "Proxy: http://evil.example:3128",
            "X-Test: one",
        ],
    );
    let script = resolver.resolve(&script_path(&head)).expect("resolves");
    let req = request(&head);
    let env = Environment::build(&req, &script, head.headers().iter()).expect("env");
    let args = isindex_words(
        head.method_bytes(),
        head.query().unwrap_or_default(),
        &Limits::default(),
    )
    .expect("indexed");
    let (head, body) = run(&script.script_filename, &env, &args, b"");
    assert_eq!((head.kind, head.status), (ResponseKind::Document, 200));
    let text = String::from_utf8(body).expect("utf-8");
    for line in [
        "GATEWAY_INTERFACE=CGI/1.1",
        "PATH_INFO=/some where/x",
        "QUERY_STRING=rust+cgi%21",
        "SCRIPT_NAME=/cgi-bin/printenv.cgi",
        "HTTP_X_TEST=one",
        "ARG=rust",
        "ARG=cgi!",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.contains(&format!(
        "PATH_TRANSLATED={}/some where/x",
        fx.root.display()
    )));
    assert!(!text.contains("HTTP_PROXY"), "httpoxy:\n{text}");
}

#[test]
fn shell_script_redirects_and_reads_its_body() {
    if !Path::new("/bin/sh").exists() {
        return peer_missing("/bin/sh");
    }
    let fx = Fixture::new("real-post");
    write_script(
        &fx.root.join("cgi-bin/post.cgi"),
        "#!/bin/sh\nbody=$(head -c \"$CONTENT_LENGTH\")\nprintf 'Status: 303 See Other\\r\\nLocation: http://localhost/done?%s\\r\\nContent-Type: text/plain\\r\\n\\r\\ngot %s (%s)' \"$body\" \"$body\" \"$CONTENT_TYPE\"\n",
    );
    let resolver = ScriptResolver::directory(b"/", &fx.root).expect("root");
    let head = parse_head(
        "POST /cgi-bin/post.cgi HTTP/1.1",
        &[
            "Host: localhost",
            "Content-Type: application/x-www-form-urlencoded",
            "Content-Length: 7",
        ],
    );
    let script = resolver.resolve(&script_path(&head)).expect("resolves");
    let req = request(&head);
    assert_eq!(req.content_length, Some(7));
    let env = Environment::build(&req, &script, head.headers().iter()).expect("env");
    let (head, body) = run(&script.script_filename, &env, &[], b"a=1&b=2");
    assert_eq!(head.kind, ResponseKind::ClientRedirectWithDocument);
    assert_eq!(head.status, 303);
    assert_eq!(
        head.location().map(|v| &v[..]),
        Some(&b"http://localhost/done?a=1&b=2"[..])
    );
    assert_eq!(body, b"got a=1&b=2 (application/x-www-form-urlencoded)");
}

fn git_http_backend() -> Option<PathBuf> {
    let out = Command::new("git").arg("--exec-path").output().ok()?;
    let dir = String::from_utf8(out.stdout).ok()?;
    let path = Path::new(dir.trim()).join("git-http-backend");
    path.exists().then_some(path)
}

#[test]
fn git_http_backend_advertises_refs() {
    let Some(backend) = git_http_backend() else {
        return peer_missing("git-http-backend");
    };
    let fx = Fixture::new("real-git");
    let projects = fx.dir.join("git");
    std::fs::create_dir_all(&projects).expect("mkdir");
    let status = Command::new("git")
        .args(["init", "--quiet", "--bare"])
        .arg(projects.join("demo.git"))
        .status()
        .expect("git init");
    assert!(status.success());

    // PATH_TRANSLATED (document root + PATH_INFO) is how git-http-backend finds the
    // repository when GIT_PROJECT_ROOT is unset.
    let resolver = ScriptResolver::single_program(b"/git", &backend).with_document_root(&projects);
    let refs = parse_head(
        "GET /git/demo.git/info/refs?service=git-upload-pack HTTP/1.1",
        &["Host: localhost"],
    );
    let script = resolver.resolve(&script_path(&refs)).expect("resolves");
    let req = request(&refs);
    let mut env = Environment::build(&req, &script, refs.headers().iter()).expect("env");
    env.set("GIT_HTTP_EXPORT_ALL", "1").expect("set");
    let (head, body) = run(&backend, &env, &[], b"");
    assert_eq!(
        (head.kind, head.status),
        (ResponseKind::Document, 200),
        "{head:?}"
    );
    assert_eq!(
        head.content_type().map(|v| &v[..]),
        Some(&b"application/x-git-upload-pack-advertisement"[..])
    );
    assert!(
        body.starts_with(b"001e# service=git-upload-pack\n"),
        "{:?}",
        String::from_utf8_lossy(&body)
    );

    // A repository that does not exist: the backend answers with a Status.
    let missing = parse_head(
        "GET /git/missing.git/info/refs?service=git-upload-pack HTTP/1.1",
        &["Host: localhost"],
    );
    let script = resolver.resolve(&script_path(&missing)).expect("resolves");
    let req = request(&missing);
    let mut env = Environment::build(&req, &script, missing.headers().iter()).expect("env");
    env.set("GIT_HTTP_EXPORT_ALL", "1").expect("set");
    let (head, _) = run(&backend, &env, &[], b"");
    assert_eq!(head.status, 404, "{head:?}");
}
