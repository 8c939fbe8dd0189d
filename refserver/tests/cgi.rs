//! The CGI gateway (RFC 3875) end to end, against the real binary and real scripts
//! (`tests/cgi-scripts/`, sh and python3):
//!
//! | what | tests |
//! |---|---|
//! | the response types (§6.2): document, `Status`, client redirect (with document), HEAD | `every_response_type_*` |
//! | the meta-variables (§4.1), nothing of the server's own environment, `env`, `inherit_env` | `the_environment_*`, `path_translated_*` |
//! | the ISINDEX command line (§4.4), never an option | `isindex_*` |
//! | request bodies on stdin: none, 1 MiB, chunked (spooled), `unknown_length = "refuse"`, past `max_body_bytes` | `request_bodies_*`, `a_body_the_script_*`, `chunked_bodies_*`, `a_chunked_body_past_*` |
//! | back-pressure from a stalled client; the process group dies with the connection | `an_endless_writer_*` |
//! | `timeout_ms`: 504, the process group killed (also when the script itself has exited), counted | `a_script_past_its_timeout_*`, `a_background_process_*` |
//! | failures: 404, 403, 400; 500 when it cannot start; 502 for crashes and bad or smuggling header sections | `missing_*`, `a_script_whose_interpreter_*`, `scripts_that_fail_*`, `header_sections_*`, `a_script_cannot_forge_*` |
//! | `max_processes`: 503, no zombie, no descriptor leak | `max_processes_*` |
//! | stderr to the error log | `script_stderr_*` |
//! | git smart HTTP through `git-http-backend`: clone, push (chunked), fetch, v0 and v2 | `git_*` |
//! | `user` and `limits.cpu_secs` | `a_route_user_*`, `a_cpu_limit_*` |
//!
//! Without `python3` or `git` the tests that need them print SKIP, unless `CI=true`.

mod common;

use common::procs::{fd_count, in_group, marked, processes, zombie_children};
use common::{
    Resp, Server, TempDir, body_of, eventually, git, have, read_head, read_whole_response,
    run_bounded,
};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The fixture scripts.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi-scripts")
}

/// `path` as a TOML basic string.
fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// A configuration with the status page at `/status` and `routes` after it.
fn config(routes: &str) -> String {
    format!("access_log = \"off\"\n[[route]]\nprefix = \"/status\"\nstatus = {{}}\n{routes}")
}

/// A `cgi` route over the fixture scripts at `prefix`, with `options` added to its table.
fn scripts_route(prefix: &str, options: &str) -> String {
    let dir = toml_path(&scripts());
    let options = if options.is_empty() {
        String::new()
    } else {
        format!(", {options}")
    };
    format!("[[route]]\nprefix = \"{prefix}\"\ncgi = {{ dir = {dir}{options} }}\n")
}

/// Sends `raw` on a new connection and reads one response of any framing.
fn exchange(server: &Server, raw: &[u8]) -> (Resp, TcpStream) {
    let mut s = server.connect();
    s.write_all(raw).unwrap();
    let r = read_whole_response(&mut s, raw.starts_with(b"HEAD "));
    (r, s)
}

/// `GET path` on a new connection.
fn get(server: &Server, path: &str) -> Resp {
    exchange(
        server,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .0
}

/// The status line's reason phrase.
fn reason(r: &Resp) -> &str {
    r.head
        .lines()
        .next()
        .unwrap_or_default()
        .get(13..)
        .unwrap_or_default()
}

/// The status page's `gateways[0]`, the CGI gateway's counters.
fn cgi_counters(server: &Server) -> serde_json::Value {
    let r = get(server, "/status?format=json");
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["gateways"][0]["name"], "cgi", "{v}");
    v["gateways"][0].clone()
}

/// Asserts that the status page counts no running CGI child, allowing the server a
/// moment to drop the exchange that just answered.
fn assert_no_child_running(server: &Server) {
    let idle = eventually(Duration::from_secs(2), || {
        cgi_counters(server)["running"] == 0
    });
    assert!(
        idle,
        "CGI children still counted as running: {}",
        cgi_counters(server)
    );
}

/// Kills, when dropped, whatever a test's scripts left running: processes whose command
/// line holds `marker`, and every process of the groups in `groups`. A failing test
/// leaves nothing behind either.
struct Leftovers {
    marker: String,
    groups: Vec<u32>,
}

impl Leftovers {
    fn new(marker: &str) -> Self {
        Self {
            marker: marker.to_owned(),
            groups: Vec::new(),
        }
    }
}

impl Drop for Leftovers {
    fn drop(&mut self) {
        let pids: Vec<String> = processes()
            .into_iter()
            .filter(|p| {
                p.pid != std::process::id()
                    && (p.cmdline.contains(&self.marker) || self.groups.contains(&p.pgrp))
            })
            .map(|p| p.pid.to_string())
            .collect();
        if !pids.is_empty() {
            let _ = Command::new("kill").arg("-KILL").args(&pids).status();
        }
    }
}

/// A marker unique to this test run, for finding a script's processes by argv.
fn marker(what: &str) -> String {
    format!("refserver-it-{what}-{}", std::process::id())
}

// ---------------------------------------------------------------------------------------
// Response types (RFC 3875 §6.2).

/// The §6.2 cases of `respond.sh` / `respond.py` for language `lang`.
fn check_response_types(server: &Server, script: &str, lang: &str) {
    let r = get(server, &format!("/cgi-bin/{script}/document"));
    assert_eq!(r.status, 200, "{script}: {r:?}");
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    assert_eq!(r.header("x-lang").as_deref(), Some(lang));
    assert_eq!(r.text(), format!("document from {lang}\n"));

    // §6.3.3: Status sets the status and its reason phrase; it is not an HTTP field.
    let r = get(server, &format!("/cgi-bin/{script}/not-found"));
    assert_eq!((r.status, reason(&r)), (404, "Not Here"), "{script}: {r:?}");
    assert_eq!(r.header("status"), None);
    assert_eq!(r.text(), format!("missing from {lang}\n"));

    // §6.2.3: a client redirect (absolute URI, no document) is a 302 with Location.
    let r = get(server, &format!("/cgi-bin/{script}/redirect"));
    assert_eq!(r.status, 302, "{script}: {r:?}");
    assert_eq!(r.header("location").as_deref(), Some("http://example.org/"));

    // §6.2.4: a client redirect with a document keeps its Status, Location and body.
    let r = get(server, &format!("/cgi-bin/{script}/redirect-document"));
    assert_eq!(r.status, 301, "{script}: {r:?}");
    assert_eq!(
        r.header("location").as_deref(),
        Some("http://example.org/moved")
    );
    assert_eq!(r.header("content-type").as_deref(), Some("text/html"));
    assert_eq!(r.text(), "<a href=\"http://example.org/moved\">moved</a>\n");

    // HEAD: the head of the GET, and no body bytes: the next response on the same
    // connection parses cleanly right after it.
    let mut s = server.connect();
    s.write_all(format!("HEAD /cgi-bin/{script}/document HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    let head = read_whole_response(&mut s, true);
    assert_eq!(head.status, 200, "{script}: {head:?}");
    assert_eq!(head.header("x-lang").as_deref(), Some(lang));
    s.write_all(
        format!("GET /cgi-bin/{script}/document HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )
    .unwrap();
    let r = read_whole_response(&mut s, false);
    assert_eq!(
        (r.status, r.text()),
        (200, format!("document from {lang}\n"))
    );
}

#[test]
fn every_response_type_from_sh_and_python() {
    let server = Server::start(
        "cgi-types",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    check_response_types(&server, "respond.sh", "sh");
    if have("python3") {
        check_response_types(&server, "respond.py", "python");
    }
}

// ---------------------------------------------------------------------------------------
// The environment (RFC 3875 §4.1).

/// `env.sh`'s body (NUL-separated `NAME=value`) as a map.
fn env_of(r: &Resp) -> BTreeMap<String, String> {
    assert_eq!(r.status, 200, "{r:?}");
    r.body
        .split(|&b| b == 0)
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=').unwrap_or((&kv, ""));
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// The variables a CGI child may get from the server, besides `HTTP_*` and the route's
/// `env` and `inherit_env`: RFC 3875 §4.1 and the de facto ones cgi-env documents.
const META_VARIABLES: [&str; 25] = [
    "AUTH_TYPE",
    "CONTENT_LENGTH",
    "CONTENT_TYPE",
    "GATEWAY_INTERFACE",
    "PATH_INFO",
    "PATH_TRANSLATED",
    "QUERY_STRING",
    "REMOTE_ADDR",
    "REMOTE_HOST",
    "REMOTE_IDENT",
    "REMOTE_USER",
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "SERVER_SOFTWARE",
    "SERVER_ADDR",
    "REMOTE_PORT",
    "REQUEST_URI",
    "SCRIPT_FILENAME",
    "DOCUMENT_ROOT",
    "REQUEST_SCHEME",
    "REDIRECT_STATUS",
    "HTTPS",
];

#[test]
fn the_environment_is_rfc_3875_and_nothing_of_the_servers() {
    let routes = scripts_route(
        "/cgi-bin/",
        "env = { EXTRA_ONE = \"one\", EXTRA_SPACE = \"a b\" }, \
         inherit_env = [\"PATH\", \"INHERITED_VAR\", \"REFSERVER_IT_UNSET_VAR\"]",
    );
    let server = Server::start_with_env(
        "cgi-env",
        Some(&config(&routes)),
        &[],
        &[
            ("SECRET_TOKEN", "do-not-leak"),
            ("INHERITED_VAR", "passed on"),
        ],
    );
    let allowed = |name: &str| {
        META_VARIABLES.contains(&name)
            || name.starts_with("HTTP_")
            || ["EXTRA_ONE", "EXTRA_SPACE", "PATH", "INHERITED_VAR"].contains(&name)
    };

    // A GET with PATH_INFO, a query, and fields that must and must not become HTTP_*.
    let mut s = server.connect();
    let client_port = s.local_addr().unwrap().port();
    s.write_all(
        b"GET /cgi-bin/env.sh/extra/path?x=1&y=%20z HTTP/1.1\r\nHost: example.com:8080\r\n\
          User-Agent: it-test\r\nProxy: http://evil.example/\r\nX-Multi: a\r\nX-Multi: b\r\n\
          X_Under: spoof\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let env = env_of(&read_whole_response(&mut s, false));
    let var = |name: &str| env.get(name).map(String::as_str);
    let port = server.addr.port().to_string();
    let client_port = client_port.to_string();
    let translated = scripts().join("extra/path").display().to_string();
    let script_filename = scripts().join("env.sh").display().to_string();
    for (name, want) in [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REQUEST_METHOD", "GET"),
        ("SCRIPT_NAME", "/cgi-bin/env.sh"),
        ("SCRIPT_FILENAME", script_filename.as_str()),
        ("PATH_INFO", "/extra/path"),
        ("PATH_TRANSLATED", translated.as_str()),
        ("QUERY_STRING", "x=1&y=%20z"),
        ("REQUEST_URI", "/cgi-bin/env.sh/extra/path?x=1&y=%20z"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", client_port.as_str()),
        // §4.1.14: the host of Host, without its port; §4.1.15: the port the request
        // arrived on, not the one in Host.
        ("SERVER_NAME", "example.com"),
        ("SERVER_PORT", port.as_str()),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("HTTP_USER_AGENT", "it-test"),
        ("HTTP_HOST", "example.com:8080"),
        ("HTTP_X_MULTI", "a, b"),
        ("EXTRA_ONE", "one"),
        ("EXTRA_SPACE", "a b"),
        ("INHERITED_VAR", "passed on"),
    ] {
        assert_eq!(var(name), Some(want), "{name} in {env:#?}");
    }
    assert!(
        var("SERVER_SOFTWARE").is_some_and(|v| v.starts_with("refserver/")),
        "{env:#?}"
    );
    assert_eq!(var("PATH"), std::env::var("PATH").ok().as_deref());
    for name in [
        // §4.1.2, §4.1.3: no body, no Content-Type.
        "CONTENT_LENGTH",
        "CONTENT_TYPE",
        // §4.1.1: no Authorization, nothing authenticated.
        "AUTH_TYPE",
        "REMOTE_USER",
        // httpoxy (CVE-2016-5385): a `Proxy` field never becomes HTTP_PROXY.
        "HTTP_PROXY",
        // `X_Under` would alias `X-Under`.
        "HTTP_X_UNDER",
        // The server's own environment, listed in inherit_env or not.
        "SECRET_TOKEN",
        "REFSERVER_IT_UNSET_VAR",
        "HOME",
        "RUST_LOG",
    ] {
        assert_eq!(var(name), None, "{name} in {env:#?}");
    }
    let strays: Vec<&String> = env.keys().filter(|k| !allowed(k)).collect();
    assert!(
        strays.is_empty(),
        "variables beyond RFC 3875 and the route's: {strays:?}"
    );

    // A POST over HTTP/1.0 without Host, without PATH_INFO or query, with credentials.
    let (r, _) = exchange(
        &server,
        b"POST /cgi-bin/env.sh HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n\
          Content-Length: 7\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\na=1&b=2",
    );
    let env = env_of(&r);
    let var = |name: &str| env.get(name).map(String::as_str);
    for (name, want) in [
        ("REQUEST_METHOD", "POST"),
        ("CONTENT_LENGTH", "7"),
        ("CONTENT_TYPE", "application/x-www-form-urlencoded"),
        ("SERVER_PROTOCOL", "HTTP/1.0"),
        // §4.1.7: QUERY_STRING is always set, empty without a query.
        ("QUERY_STRING", ""),
        // §4.1.14: no Host: the server's address.
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", port.as_str()),
    ] {
        assert_eq!(var(name), Some(want), "{name} in {env:#?}");
    }
    // §4.1.5, §4.1.6: no PATH_INFO, and then PATH_TRANSLATED is NULL too.
    assert_eq!(var("PATH_INFO"), None, "{env:#?}");
    assert_eq!(var("PATH_TRANSLATED"), None, "{env:#?}");
    // §4.1.18: credentials are not passed on; the server authenticated nothing, so an
    // AUTH_TYPE, if any, can only be the request's scheme.
    assert_eq!(var("HTTP_AUTHORIZATION"), None, "{env:#?}");
    assert!(matches!(var("AUTH_TYPE"), None | Some("Basic")), "{env:#?}");
    assert_eq!(var("SECRET_TOKEN"), None);

    // A fragment is never part of QUERY_STRING (§4.1.7), if the request is taken at all.
    let (r, _) = exchange(
        &server,
        b"GET /cgi-bin/env.sh?q=1#frag HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    if r.status != 400 {
        let env = env_of(&r);
        assert_eq!(env.get("QUERY_STRING").map(String::as_str), Some("q=1"));
    }
}

#[test]
fn path_translated_follows_the_document_root() {
    let root = TempDir::new("cgi-docroot");
    let routes = scripts_route(
        "/cgi-bin/",
        &format!("document_root = {}", toml_path(&root.0)),
    );
    let server = Server::start("cgi-docroot-srv", Some(&config(&routes)), &[]);
    let env = env_of(&get(&server, "/cgi-bin/env.sh/some/file.txt"));
    let root_text = root.0.display().to_string();
    assert_eq!(env.get("DOCUMENT_ROOT"), Some(&root_text), "{env:#?}");
    assert_eq!(
        env.get("PATH_TRANSLATED"),
        Some(&root.0.join("some/file.txt").display().to_string()),
        "{env:#?}"
    );
}

#[test]
fn isindex_queries_reach_argv_and_options_do_not() {
    let server = Server::start(
        "cgi-isindex",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    for (query, want) in [
        ("a+b", "2\na\nb\n"),
        ("hello%20world", "1\nhello world\n"),
        // §4.4: a word that would be an option (CVE-2012-1823): no command line at all.
        ("-x", "0\n"),
        ("a+-x", "0\n"),
        ("%2Dx", "0\n"),
        // An `=` makes it a form query, not an index query.
        ("a=b", "0\n"),
    ] {
        let r = get(&server, &format!("/cgi-bin/args.sh?{query}"));
        assert_eq!((r.status, r.text().as_str()), (200, want), "?{query}");
    }
    // Only GET and HEAD get a command line.
    let (r, _) = exchange(
        &server,
        b"POST /cgi-bin/args.sh?a+b HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert_eq!((r.status, r.text().as_str()), (200, "0\n"));
}

// ---------------------------------------------------------------------------------------
// Request bodies.

/// POSIX `cksum`: CRC-32 (polynomial 0x04C11DB7, MSB first) over the data and its length.
fn cksum(data: &[u8]) -> String {
    fn step(crc: u32, byte: u8) -> u32 {
        let mut c = crc ^ (u32::from(byte) << 24);
        for _ in 0..8 {
            c = if c & 0x8000_0000 != 0 {
                (c << 1) ^ 0x04C1_1DB7
            } else {
                c << 1
            };
        }
        c
    }
    let mut crc = data.iter().fold(0, |crc, &b| step(crc, b));
    let mut len = data.len();
    while len > 0 {
        crc = step(crc, len.to_le_bytes()[0]);
        len >>= 8;
    }
    format!("{} {}", !crc, data.len())
}

/// `body` in chunks of varying sizes, then the last chunk.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    let mut size = 1;
    while !rest.is_empty() {
        let n = size.min(rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        size = size * 7 % 65_521 + 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// Sends `head` then `body` from another thread (so a server that answers before reading
/// it all cannot deadlock the test) and reads the response.
fn post(server: &Server, head: &str, body: Vec<u8>) -> Resp {
    let mut s = server.connect();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        // A server that stops reading may reset the connection: not this test's question.
        let _ = w.write_all(&body);
    });
    let r = read_whole_response(&mut s, false);
    writer.join().unwrap();
    r
}

#[test]
fn request_bodies_reach_stdin_whole() {
    let server = Server::start(
        "cgi-bodies",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    let target = "POST /cgi-bin/stdin.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n";
    assert_eq!(cksum(b""), "4294967295 0");
    assert_eq!(cksum(b"hi\n"), "1479881546 3");

    // No body at all (Content-Length: 0).
    let r = post(
        &server,
        &format!("{target}Content-Length: 0\r\n\r\n"),
        Vec::new(),
    );
    assert_eq!(r.status, 200);
    let text = r.text();
    assert!(
        text == "CONTENT_LENGTH=0\n4294967295 0\n"
            || text == "CONTENT_LENGTH=unset\n4294967295 0\n",
        "{text}"
    );

    // 1 MiB with Content-Length.
    let body = body_of(1 << 20);
    let want = format!("CONTENT_LENGTH=1048576\n{}\n", cksum(&body));
    let r = post(
        &server,
        &format!("{target}Content-Length: {}\r\n\r\n", body.len()),
        body.clone(),
    );
    assert_eq!((r.status, r.text()), (200, want.clone()));

    // The same body chunked: spooled, so the script still gets CONTENT_LENGTH.
    let r = post(
        &server,
        &format!("{target}Transfer-Encoding: chunked\r\n\r\n"),
        chunked(&body),
    );
    assert_eq!((r.status, r.text()), (200, want));

    // An empty chunked body: CONTENT_LENGTH=0.
    let r = post(
        &server,
        &format!("{target}Transfer-Encoding: chunked\r\n\r\n"),
        b"0\r\n\r\n".to_vec(),
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "CONTENT_LENGTH=0\n4294967295 0\n")
    );
}

#[test]
fn a_body_the_script_does_not_read_does_not_hang_the_exchange() {
    let server = Server::start(
        "cgi-unread",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    let started = Instant::now();
    let r = post(
        &server,
        "POST /cgi-bin/respond.sh/document HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\
         Connection: close\r\n\r\n",
        body_of(1 << 20),
    );
    assert_eq!((r.status, r.text().as_str()), (200, "document from sh\n"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_no_child_running(&server);
}

#[test]
fn chunked_bodies_are_refused_with_411_when_configured() {
    let routes = scripts_route("/cgi-bin/", "unknown_length = \"refuse\"");
    let server = Server::start("cgi-refuse", Some(&config(&routes)), &[]);
    let (r, _) = exchange(
        &server,
        b"POST /cgi-bin/stdin.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n3\r\nhi\n\r\n0\r\n\r\n",
    );
    assert_eq!(r.status, 411, "{r:?}");
    // A body of known length is still taken.
    let (r, _) = exchange(
        &server,
        b"POST /cgi-bin/stdin.sh HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\
          Connection: close\r\n\r\nhi\n",
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "CONTENT_LENGTH=3\n1479881546 3\n")
    );
}

#[test]
fn a_chunked_body_past_max_body_bytes_is_refused_with_413() {
    let routes = format!(
        "{}[limits]\nmax_body_bytes = 65536\n",
        scripts_route("/cgi-bin/", "")
    );
    let server = Server::start("cgi-413", Some(&config(&routes)), &[]);
    let r = post(
        &server,
        "POST /cgi-bin/stdin.sh HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n",
        chunked(&body_of(70_000)),
    );
    assert_eq!(r.status, 413, "{r:?}");
    assert_no_child_running(&server);
}

// ---------------------------------------------------------------------------------------
// Back-pressure, timeouts and the process group.

#[test]
fn an_endless_writer_to_a_stalled_client_keeps_memory_bounded_and_dies_with_the_connection() {
    let server = Server::start(
        "cgi-endless",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    assert_eq!(get(&server, "/cgi-bin/respond.sh/document").status, 200);
    let before = server.rss_kib();

    let mark = marker("endless");
    let _leftovers = Leftovers::new(&mark);
    let mut s = server.connect();
    s.write_all(format!("GET /cgi-bin/endless.sh?{mark} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    let mut some = [0u8; 4096];
    s.read_exact(&mut some).unwrap();
    assert!(some.starts_with(b"HTTP/1.1 200 OK\r\n"));
    assert!(
        eventually(Duration::from_secs(3), || marked(&mark).len() >= 2),
        "the script and its `yes` are not both running: {:?}",
        marked(&mark)
    );
    // The client reads no more: the server must hold the script, not buffer its output.
    let mut peak = before;
    for _ in 0..15 {
        std::thread::sleep(Duration::from_millis(100));
        peak = peak.max(server.rss_kib());
    }
    assert!(
        peak < before + 16 * 1024,
        "RSS grew from {before} KiB to {peak} KiB behind a stalled client"
    );
    assert_eq!(cgi_counters(&server)["running"], 1);

    // The client leaves: the script's whole group goes, and its slot with it.
    drop(s);
    assert!(
        eventually(Duration::from_secs(5), || marked(&mark).is_empty()),
        "still running after the client left: {:?}",
        marked(&mark)
    );
    assert_no_child_running(&server);
}

#[test]
fn a_script_past_its_timeout_gets_504_and_its_process_group_is_killed() {
    let routes = scripts_route("/cgi-bin/", "timeout_ms = 500");
    let server = Server::start("cgi-timeout", Some(&config(&routes)), &[]);
    let mark = marker("sleeper");
    let mut leftovers = Leftovers::new(&mark);
    let mut s = server.connect();
    let started = Instant::now();
    s.write_all(format!("GET /cgi-bin/sleeper.sh?{mark} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    // The script's group, with its `sleep 30` grandchild.
    let mut group = 0;
    let found = eventually(Duration::from_millis(400), || {
        if let Some(p) = marked(&mark).first() {
            group = p.pgrp;
        }
        group != 0 && in_group(group).iter().any(|p| p.cmdline == "sleep 30")
    });
    leftovers.groups.push(group);
    assert!(
        found,
        "no script with a sleep in its group: {:?}",
        marked(&mark)
    );
    let r = read_whole_response(&mut s, false);
    let took = started.elapsed();
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "504 after {took:?} for timeout_ms = 500"
    );
    assert!(
        eventually(Duration::from_secs(3), || in_group(group).is_empty()),
        "the process group outlived the timeout: {:?}",
        in_group(group)
    );
    let counters = cgi_counters(&server);
    assert_eq!(counters["timeouts"], 1, "{counters}");
    assert_no_child_running(&server);
}

#[test]
fn a_background_process_left_by_a_script_is_killed_at_the_timeout() {
    let routes = scripts_route("/cgi-bin/", "timeout_ms = 500");
    let server = Server::start("cgi-orphan", Some(&config(&routes)), &[]);
    let mark = marker("orphan");
    let mut leftovers = Leftovers::new(&mark);
    let mut s = server.connect();
    s.write_all(format!("GET /cgi-bin/orphan.sh?{mark} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
        .unwrap();
    // The script itself has exited; what it started still holds its stdout.
    let found = eventually(Duration::from_millis(400), || !marked(&mark).is_empty());
    leftovers
        .groups
        .extend(marked(&mark).iter().map(|p| p.pgrp));
    assert!(found, "no background process");
    let r = read_whole_response(&mut s, false);
    assert_eq!(r.status, 504, "{r:?}");
    assert!(
        eventually(Duration::from_secs(3), || marked(&mark).is_empty()),
        "the script's process group outlived the timeout: {:?}",
        marked(&mark)
    );
}

// ---------------------------------------------------------------------------------------
// Failures.

#[test]
fn missing_and_non_executable_scripts_get_404_and_403() {
    let server = Server::start(
        "cgi-missing",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    assert_eq!(get(&server, "/cgi-bin/no-such-script.sh").status, 404);
    assert_eq!(get(&server, "/cgi-bin/no-such-dir/x.sh").status, 404);
    assert_eq!(get(&server, "/cgi-bin/not-executable.txt").status, 403);
    // The directory itself names no script.
    assert_eq!(get(&server, "/cgi-bin/").status, 404);
    // Scripts refuse an encoded slash.
    assert_eq!(get(&server, "/cgi-bin/env.sh%2Fx").status, 400);
    // A `..` above the root.
    assert_eq!(get(&server, "/cgi-bin/../../etc/passwd").status, 400);
}

#[test]
fn a_script_whose_interpreter_is_missing_gets_500() {
    let server = Server::start(
        "cgi-interp",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    // Found and executable, but it cannot start: "cannot start" is 500, not "not found".
    let r = get(&server, "/cgi-bin/bad-interpreter.sh");
    assert_eq!(r.status, 500, "{r:?}");
}

#[test]
fn scripts_that_fail_before_a_header_get_502() {
    let server = Server::start(
        "cgi-crash",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    for script in [
        // Exits 1 without output.
        "exit1.sh",
        // Killed by a signal before any output.
        "killed.sh",
        // Output without Status, Content-Type or Location.
        "garbage.sh",
    ] {
        let r = get(&server, &format!("/cgi-bin/{script}"));
        assert_eq!(r.status, 502, "{script}: {r:?}");
        assert!(!r.text().contains("body"), "{script}: {r:?}");
    }
    let counters = cgi_counters(&server);
    assert_eq!(counters["requests"], 3, "{counters}");
    assert_eq!(counters["errors"], 3, "{counters}");
    assert_no_child_running(&server);
}

#[test]
fn header_sections_that_smuggle_a_field_are_refused_with_502() {
    let server = Server::start(
        "cgi-inject",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    for case in [
        "bare-cr",
        "nul",
        "obs-fold",
        "space-in-name",
        "cr-in-status",
        "two-content-types",
    ] {
        let r = get(&server, &format!("/cgi-bin/inject.sh/{case}"));
        assert_eq!(r.status, 502, "{case}: {r:?}");
        assert!(
            !r.head.to_ascii_lowercase().contains("injected"),
            "{case}: {r:?}"
        );
        assert!(!r.text().contains("body"), "{case}: {r:?}");
    }
}

#[test]
fn a_script_cannot_forge_a_second_response_past_its_content_length() {
    let server = Server::start(
        "cgi-smuggle",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    let mut s = server.connect();
    s.write_all(b"GET /cgi-bin/smuggle.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let r = read_head(&mut s);
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert!(
        r.to_ascii_lowercase().contains("content-length: 2\r\n"),
        "{r}"
    );
    // The two announced bytes, though the excess came in the same write.
    let mut body = [0u8; 2];
    assert!(
        s.read_exact(&mut body).is_ok() && &body == b"hi",
        "the announced body was cut short (got {:?})",
        String::from_utf8_lossy(&body)
    );
    // Whatever follows on this connection is the server's answer to the next request
    // (or nothing, if it closed the connection), never the script's forged response.
    let _ = s.write_all(b"GET /status HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    let rest = String::from_utf8_lossy(&rest);
    assert!(
        !rest.contains("forged"),
        "the script's bytes became a response: {rest:?}"
    );
    assert!(
        rest.is_empty()
            || rest.starts_with("HTTP/1.1 200 OK\r\n") && rest.contains("Active connections"),
        "{rest:?}"
    );
}

#[test]
fn script_stderr_goes_to_the_error_log_line_by_line() {
    let server = Server::start_with_env(
        "cgi-stderr",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
        &[],
    );
    let mark = marker("stderr");
    let r = get(&server, &format!("/cgi-bin/stderr.sh?{mark}"));
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let logged = |line: &str| {
        server
            .stderr_log()
            .lines()
            .any(|l| l.contains("stderr.sh") && l.ends_with(line))
    };
    assert!(
        eventually(Duration::from_secs(3), || logged(&format!(
            "first complaint {mark}"
        )) && logged(&format!(
            "second complaint {mark}"
        ))),
        "{}",
        server.stderr_log()
    );
}

// ---------------------------------------------------------------------------------------
// max_processes.

#[test]
fn max_processes_answers_503_beyond_it_and_leaves_no_zombies_or_fds() {
    const CLIENTS: usize = 200;
    let routes = scripts_route("/cgi-bin/", "max_processes = 8");
    let server = Server::start("cgi-max", Some(&config(&routes)), &[]);
    assert_eq!(get(&server, "/cgi-bin/slow.sh").status, 200);
    std::thread::sleep(Duration::from_millis(200));
    let fds_before = fd_count(server.pid());

    let addr = server.addr;
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(CLIENTS));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let barrier = std::sync::Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                barrier.wait();
                s.write_all(
                    b"GET /cgi-bin/slow.sh HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                )
                .unwrap();
                let r = read_whole_response(&mut s, false);
                if r.status == 200 {
                    assert_eq!(r.text(), "slow done\n");
                }
                r.status
            })
        })
        .collect();
    let statuses: Vec<u16> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let ok = statuses.iter().filter(|&&s| s == 200).count();
    let busy = statuses.iter().filter(|&&s| s == 503).count();
    assert_eq!(ok + busy, CLIENTS, "{statuses:?}");
    assert!(ok >= 8 && busy >= 1, "{ok} answered, {busy} refused");

    let pid = server.pid();
    assert!(
        eventually(Duration::from_secs(3), || zombie_children(pid).is_empty()),
        "zombies: {:?}",
        zombie_children(pid)
    );
    assert!(
        eventually(Duration::from_secs(3), || fd_count(pid) <= fds_before + 2),
        "{} descriptors open, {fds_before} before",
        fd_count(pid)
    );
    assert_no_child_running(&server);
    // The slots are free again.
    assert_eq!(get(&server, "/cgi-bin/slow.sh").status, 200);
}

// ---------------------------------------------------------------------------------------
// git smart HTTP through git-http-backend.

#[test]
fn git_clone_push_and_fetch_through_git_http_backend() {
    let Some(repo) = git::Fixture::new("cgi-git") else {
        return;
    };
    let routes = format!(
        "[[route]]\nprefix = \"/git/\"\ncgi = {{ program = {}, env = {{ GIT_PROJECT_ROOT = {}, GIT_HTTP_EXPORT_ALL = \"1\" }} }}\n",
        toml_path(&repo.backend),
        toml_path(&repo.root)
    );
    let server = Server::start("cgi-git-srv", Some(&config(&routes)), &[]);
    repo.clone_push_fetch(&server.url("/git/repo.git"));
    // A repository that does not exist: git-http-backend's own 404, passed on.
    assert_eq!(
        get(
            &server,
            "/git/nothing.git/info/refs?service=git-upload-pack"
        )
        .status,
        404
    );
    let counters = cgi_counters(&server);
    assert_no_child_running(&server);
    assert_eq!(counters["timeouts"], 0, "{counters}");
}

// ---------------------------------------------------------------------------------------
// user and limits.

/// Whether this process runs as root (effective uid 0, from /proc/self/status).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

#[test]
fn a_route_user_runs_scripts_as_that_user() {
    use std::os::unix::fs::PermissionsExt;
    if !is_root() {
        eprintln!("SKIP: `user` needs the server to run as root");
        return;
    }
    let id = |args: &[&str]| {
        let out = run_bounded(Command::new("id").args(args), Duration::from_secs(5));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let (uid, gid) = (id(&["-u", "nobody"]), id(&["-g", "nobody"]));
    // A directory nobody can enter, with a copy of the script nobody can run.
    let dir = TempDir::new("cgi-user");
    for ancestor in dir.0.ancestors().skip(1) {
        let mode = std::fs::metadata(ancestor).unwrap().permissions().mode();
        assert!(
            mode & 0o001 != 0,
            "{} is not searchable by others",
            ancestor.display()
        );
    }
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = dir.0.join("id.sh");
    std::fs::copy(scripts().join("id.sh"), &script).unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let routes = format!(
        "[[route]]\nprefix = \"/as-nobody/\"\ncgi = {{ dir = {}, user = \"nobody\" }}\n{}",
        toml_path(&dir.0),
        scripts_route("/cgi-bin/", "")
    );
    let server = Server::start("cgi-user-srv", Some(&config(&routes)), &[]);
    let r = get(&server, "/as-nobody/id.sh");
    // uid, primary gid, and no supplementary group of the server's.
    assert_eq!(
        (r.status, r.text()),
        (200, format!("{uid} {gid} {gid}\n")),
        "{r:?}"
    );
    // Other routes still run as the server's user.
    let r = get(&server, "/cgi-bin/id.sh");
    assert!(r.text().starts_with("0 "), "{r:?}");
}

#[test]
fn a_cpu_limit_kills_a_busy_script_before_its_timeout() {
    let routes = scripts_route("/cgi-bin/", "timeout_ms = 10000, limits = { cpu_secs = 1 }");
    let server = Server::start("cgi-cpu", Some(&config(&routes)), &[]);
    let started = Instant::now();
    let r = get(&server, "/cgi-bin/busy.sh");
    let took = started.elapsed();
    assert_eq!(r.status, 502, "{r:?}");
    assert!(took < Duration::from_secs(6), "502 after {took:?}");
    let counters = cgi_counters(&server);
    assert_eq!(counters["timeouts"], 0, "{counters}");
    assert_no_child_running(&server);
}

#[test]
fn a_local_redirect_is_answered_inside_the_server_with_redirect_variables() {
    let server = Server::start(
        "cgi-local-redirect",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    let r = get(&server, "/cgi-bin/redirect.sh?orig=1");
    assert_eq!(r.status, 200, "{}", r.head);
    assert!(r.header("location").is_none(), "{}", r.head);
    let env = env_of(&r);
    assert_eq!(env["SCRIPT_NAME"], "/cgi-bin/env.sh");
    assert_eq!(env["QUERY_STRING"], "from=redirect");
    assert_eq!(env["REDIRECT_URL"], "/cgi-bin/redirect.sh");
    assert_eq!(env["REDIRECT_QUERY_STRING"], "orig=1");
    assert_eq!(env["REDIRECT_STATUS"], "200");
    // A redirect to itself stops at the limit: 500, and no child left running.
    assert_eq!(get(&server, "/cgi-bin/redirect.sh/loop").status, 500);
    assert_no_child_running(&server);
}

#[test]
fn nph_scripts_pass_through_unparsed() {
    let server = Server::start(
        "cgi-nph",
        Some(&config(&scripts_route("/cgi-bin/", ""))),
        &[],
    );
    let mut s = server.connect();
    s.write_all(b"GET /cgi-bin/nph-raw.sh HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&raw),
        "HTTP/1.1 203 Straight Through\r\nContent-Type: text/plain\r\nX-Nph: 1\r\n\r\nraw body\n",
        "byte for byte, no field of the server's added, then the connection closes"
    );
    assert_eq!(get(&server, "/cgi-bin/nph-no-status.sh").status, 502);
}
