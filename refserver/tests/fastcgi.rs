//! The FastCGI gateway end to end, against the real binary and real applications:
//!
//! | what | against | tests |
//! |---|---|---|
//! | GET with a query, POST form, PATH_INFO, status and fields set by PHP, cookies and `session_start()`, 10 MiB up and down (md5), the upload trick refused | php-fpm | `php_*` |
//! | git clone, push and fetch through git-http-backend | fcgiwrap | `git_*` |
//! | multiplexing on (one connection, requests in flight together, seen by the application) and off | the test application | `multiplexing_*` |
//! | an application that dies mid-response, one that is slow (504), overloaded (503), a client that leaves (ABORT_REQUEST), stderr | the test application | `an_application_*`, `a_client_*`, `stderr_*` |
//! | a down upstream skipped for the next (502 when none is left), counted per upstream | both | `upstreams_*` |
//! | sticky visitors: a cookie keeps a visitor on its upstream while it is up | the test application | `sticky_*` |
//! | spawned applications: supervised, restarted, kept or restarted by a reload, as their own user; the demo's | fcgiwrap, the demo | `spawned_*`, `the_demo_*` |
//! | back-pressure: a client that stops reading holds the application, RSS stays bounded | the test application | `a_stalled_client_*` |
//!
//! Without php-fpm, fcgiwrap or git the tests that need them print SKIP, unless `CI=true`.

mod common;

use common::fcgi_app::TestApp;
use common::php_fpm::{PhpFpm, scripts};
use common::procs::processes;
use common::{Resp, Server, TempDir, body_of, eventually, git, read_whole_response};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// A configuration with the status page at `/status` and `routes` after it.
fn config(routes: &str) -> String {
    format!("access_log = \"off\"\n[[route]]\nprefix = \"/status\"\nstatus = {{}}\n{routes}")
}

/// A route at `/app/` to the test application's socket, with `options` added.
fn app_route(app: &TestApp, options: &str) -> String {
    format!(
        "[[route]]\nprefix = \"/app/\"\nfastcgi = {{ upstreams = [\"unix:{}\"], program = \"/srv/app\"{}{options} }}\n",
        app.socket.display(),
        if options.is_empty() { "" } else { ", " },
    )
}

/// A route at `/php/` to a php-fpm pool serving `tests/php`.
fn php_route(fpm: &PhpFpm, options: &str) -> String {
    format!(
        "[[route]]\nprefix = \"/php/\"\nfastcgi = {{ upstreams = [\"unix:{}\"], root = {}{}{options} }}\n",
        fpm.socket.display(),
        toml_path(&scripts()),
        if options.is_empty() { "" } else { ", " },
    )
}

/// `raw` on a new connection, one response of any framing.
fn exchange(server: &Server, raw: &[u8]) -> Resp {
    let mut s = server.connect();
    s.write_all(raw).unwrap();
    read_whole_response(&mut s, raw.starts_with(b"HEAD "))
}

fn get(server: &Server, path: &str) -> Resp {
    exchange(
        server,
        format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn post(server: &Server, path: &str, content_type: &str, body: &[u8]) -> Resp {
    let mut raw = format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    raw.extend_from_slice(body);
    exchange(server, &raw)
}

/// The status page as JSON.
fn status(server: &Server) -> serde_json::Value {
    let r = get(server, "/status?format=json");
    assert_eq!(r.status, 200);
    serde_json::from_slice(&r.body).unwrap()
}

/// The status page's counters of the FastCGI gateway.
fn fastcgi_counters(server: &Server) -> serde_json::Value {
    let v = status(server);
    let gateways = v["gateways"].as_array().unwrap();
    gateways
        .iter()
        .find(|g| g["name"] == "fastcgi")
        .cloned()
        .unwrap_or_else(|| panic!("no fastcgi gateway: {v}"))
}

/// md5 of `data`, by `md5sum` (coreutils).
fn md5(data: &[u8]) -> String {
    let mut child = Command::new("md5sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

// ---------------------------------------------------------------------------------------
// php-fpm

#[test]
fn php_get_post_path_info_and_php_set_status() {
    let Some(fpm) = PhpFpm::start("fcgi-php-basic", 2) else {
        return;
    };
    let server = Server::start(
        "fcgi-php-basic-srv",
        Some(&config(&php_route(&fpm, ""))),
        &[],
    );

    let r = get(&server, "/php/index.php/a/b?q=caf%C3%A9");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("method=GET\n"), "{text}");
    assert!(text.contains("q=café\n"), "{text}");
    assert!(text.contains("path_info=/a/b\n"), "{text}");
    assert!(text.contains("script_name=/php/index.php\n"), "{text}");
    assert!(
        text.contains("request_uri=/php/index.php/a/b?q=caf%C3%A9\n"),
        "{text}"
    );

    let r = post(
        &server,
        "/php/index.php",
        "application/x-www-form-urlencoded",
        b"name=Ada+Lovelace&x=1",
    );
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("method=POST\nq=\nname=Ada Lovelace\n"),
        "{}",
        r.text()
    );

    // A directory runs its index file.
    let r = get(&server, "/php/?q=idx");
    assert_eq!(r.status, 200);
    assert!(
        r.text().contains("q=idx\n") && r.text().contains("script_name=/php/index.php\n"),
        "{}",
        r.text()
    );

    let r = get(&server, "/php/status.php");
    assert_eq!(r.status, 418, "{}", r.head);
    assert_eq!(r.header("x-brewed-by").as_deref(), Some("php"));
    assert_eq!(r.text(), "short and stout\n");

    assert_eq!(get(&server, "/php/missing.php").status, 404);
    let c = fastcgi_counters(&server);
    assert_eq!(c["errors"], 1, "{c}");
}

#[test]
fn php_the_upload_trick_is_refused() {
    let Some(fpm) = PhpFpm::start("fcgi-php-trick", 1) else {
        return;
    };
    let server = Server::start(
        "fcgi-php-trick-srv",
        Some(&config(&php_route(&fpm, ""))),
        &[],
    );
    // cgi.fix_pathinfo would run uploads/cat.jpg as PHP: the suffix rule stops it here.
    for path in [
        "/php/uploads/cat.jpg/x.php",
        "/php/uploads/cat.jpg",
        "/php/uploads/",
    ] {
        let r = get(&server, path);
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert!(!r.text().contains("never run"), "{path}");
    }
}

#[test]
fn php_cookies_and_session_start_across_requests() {
    let Some(fpm) = PhpFpm::start("fcgi-php-session", 2) else {
        return;
    };
    let server = Server::start(
        "fcgi-php-session-srv",
        Some(&config(&php_route(&fpm, ""))),
        &[],
    );
    let r = get(&server, "/php/session.php");
    assert_eq!(r.status, 200);
    assert!(r.text().contains("visits=1\n"), "{}", r.text());
    let set_cookie = r.header("set-cookie").expect("PHPSESSID cookie");
    let session = set_cookie.split(';').next().unwrap().to_owned();
    assert!(session.starts_with("PHPSESSID="), "{set_cookie}");
    for n in 2..=3 {
        let r = exchange(
            &server,
            format!(
                "GET /php/session.php HTTP/1.1\r\nHost: t\r\nCookie: {session}; flavour=oat\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        assert!(r.text().contains(&format!("visits={n}\n")), "{}", r.text());
        assert!(r.text().contains("cookie=oat\n"), "{}", r.text());
    }
}

#[test]
fn php_ten_mib_up_and_down() {
    let Some(fpm) = PhpFpm::start("fcgi-php-big", 2) else {
        return;
    };
    let server = Server::start("fcgi-php-big-srv", Some(&config(&php_route(&fpm, ""))), &[]);
    let body = body_of(10 << 20);
    let r = post(
        &server,
        "/php/upload.php",
        "application/octet-stream",
        &body,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), format!("{} {}\n", body.len(), md5(&body)));

    // Chunked: spooled, so PHP gets CONTENT_LENGTH.
    let mut raw = b"POST /php/upload.php HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for piece in body[..1 << 20].chunks(70_000) {
        raw.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        raw.extend_from_slice(piece);
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(b"0\r\n\r\n");
    let r = exchange(&server, &raw);
    assert_eq!(r.text(), format!("{} {}\n", 1 << 20, md5(&body[..1 << 20])));

    let r = get(&server, "/php/download.php");
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 10 << 20);
    let expected: Vec<u8> = b"0123456789abcdef".repeat(65536 * 10);
    assert_eq!(md5(&r.body), md5(&expected));
}

#[test]
fn php_many_concurrent_requests_on_a_small_pool() {
    let Some(fpm) = PhpFpm::start("fcgi-php-load", 2) else {
        return;
    };
    // php-fpm does not say FCGI_MAX_CONNS: without max_conns each request has its own
    // connection; with it, two kept connections carry them all.
    for options in ["", "max_conns = 2"] {
        let server = Server::start(
            "fcgi-php-load-srv",
            Some(&config(&php_route(&fpm, options))),
            &[],
        );
        let threads: Vec<_> = (0..20)
            .map(|i| {
                let addr = server.addr;
                std::thread::spawn(move || {
                    let mut s = std::net::TcpStream::connect(addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut ok = 0;
                    for j in 0..10 {
                        write!(
                            s,
                            "GET /php/index.php?q={i}-{j} HTTP/1.1\r\nHost: t\r\n\r\n"
                        )
                        .unwrap();
                        let r = read_whole_response(&mut s, false);
                        if r.status == 200 && r.text().contains(&format!("q={i}-{j}\n")) {
                            ok += 1;
                        }
                    }
                    ok
                })
            })
            .collect();
        let ok: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(ok, 200, "options `{options}`");
        let c = fastcgi_counters(&server);
        assert_eq!(
            (c["errors"].as_u64(), c["timeouts"].as_u64()),
            (Some(0), Some(0)),
            "{c}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// fcgiwrap

#[test]
fn git_clone_push_and_fetch_through_fcgiwrap() {
    let Some(repo) = git::Fixture::new("fcgi-git") else {
        return;
    };
    if !Path::new("/usr/sbin/fcgiwrap").is_file() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "fcgiwrap is required in CI"
        );
        eprintln!("SKIP: no fcgiwrap");
        return;
    }
    let dir = TempDir::new("fcgi-git-wrap");
    let socket = dir.0.join("fcgiwrap.sock");
    // Its own process group: its two workers go with it.
    let mut wrap = Command::new("/usr/sbin/fcgiwrap")
        .args(["-c", "2", "-s"])
        .arg(format!("unix:{}", socket.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || socket.exists()));
    let routes = format!(
        "[[route]]\nprefix = \"/git/\"\nfastcgi = {{ upstreams = [\"unix:{}\"], program = {}, env = {{ GIT_PROJECT_ROOT = {}, GIT_HTTP_EXPORT_ALL = \"1\" }} }}\n",
        socket.display(),
        toml_path(&repo.backend),
        toml_path(&repo.root)
    );
    let server = Server::start("fcgi-git-srv", Some(&config(&routes)), &[]);
    repo.clone_push_fetch(&server.url("/git/repo.git"));
    let c = fastcgi_counters(&server);
    assert_eq!(c["errors"], 0, "{c}");
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", wrap.id())])
        .status();
    let _ = wrap.wait();
}

// ---------------------------------------------------------------------------------------
// The test application

/// `n` concurrent `GET path` requests, each on its own connection; their bodies.
fn concurrent_gets(server: &Server, path: &str, n: usize) -> Vec<String> {
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let addr = server.addr;
            let path = path.to_owned();
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                write!(
                    s,
                    "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                )
                .unwrap();
                read_whole_response(&mut s, false).text()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

#[test]
fn multiplexing_on_carries_concurrent_requests_on_one_connection() {
    let dir = TempDir::new("fcgi-mpx-on");
    let app = TestApp::start(&dir.0, true);
    let server = Server::start("fcgi-mpx-on-srv", Some(&config(&app_route(&app, ""))), &[]);
    // The first request learns FCGI_MPXS_CONNS=1 (GET_VALUES on the first connection).
    assert_eq!(get(&server, "/app/hello").text(), "hello");
    let before = app.stats.connections.load(SeqCst);
    let bodies = concurrent_gets(&server, "/app/gather/8", 8);
    assert!(bodies.iter().all(|b| b == "gathered 8"), "{bodies:?}");
    let opened = app.stats.connections.load(SeqCst) - before;
    assert_eq!(opened, 1, "one connection carried them all");
    assert_eq!(app.stats.max_in_flight.load(SeqCst), 8);
}

#[test]
fn multiplexing_off_gives_each_request_its_connection() {
    let dir = TempDir::new("fcgi-mpx-off");
    let app = TestApp::start(&dir.0, true);
    let server = Server::start(
        "fcgi-mpx-off-srv",
        Some(&config(&app_route(&app, "multiplex = false"))),
        &[],
    );
    assert_eq!(get(&server, "/app/hello").text(), "hello");
    let bodies = concurrent_gets(&server, "/app/gather/4", 4);
    // Each waits its second alone on its own connection.
    assert!(bodies.iter().all(|b| b == "gathered 1"), "{bodies:?}");
    assert_eq!(app.stats.max_in_flight.load(SeqCst), 1);
    assert!(app.stats.connections.load(SeqCst) >= 4);
}

#[test]
fn an_application_that_dies_mid_response_cuts_the_response() {
    let dir = TempDir::new("fcgi-die");
    let app = TestApp::start(&dir.0, false);
    let server = Server::start("fcgi-die-srv", Some(&config(&app_route(&app, ""))), &[]);
    let mut s = server.connect();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(b"GET /app/die HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let _ = s.read_to_end(&mut got);
    let text = String::from_utf8_lossy(&got);
    // The head went out chunked, then the connection closed without the last chunk.
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("partial"), "{text}");
    assert!(
        !text.ends_with("0\r\n\r\n"),
        "a cut response must not look complete: {text:?}"
    );
    // The gateway keeps serving.
    assert_eq!(get(&server, "/app/hello").text(), "hello");
    assert!(fastcgi_counters(&server)["errors"].as_u64().unwrap() >= 1);
}

#[test]
fn an_application_past_the_read_timeout_answers_504() {
    let dir = TempDir::new("fcgi-slow");
    let app = TestApp::start(&dir.0, false);
    let server = Server::start(
        "fcgi-slow-srv",
        Some(&config(&app_route(&app, "read_timeout_ms = 300"))),
        &[],
    );
    let r = get(&server, "/app/slow/2000");
    assert_eq!(r.status, 504);
    let c = fastcgi_counters(&server);
    assert_eq!(c["timeouts"], 1, "{c}");
    // A slow one under its timeout is answered.
    assert_eq!(get(&server, "/app/slow/50").text(), "slow");
}

#[test]
fn an_application_overloaded_answers_503() {
    let dir = TempDir::new("fcgi-overloaded");
    let app = TestApp::start(&dir.0, false);
    let server = Server::start(
        "fcgi-overloaded-srv",
        Some(&config(&app_route(&app, ""))),
        &[],
    );
    assert_eq!(get(&server, "/app/overloaded").status, 503);
    assert_eq!(get(&server, "/app/hello").text(), "hello");
}

#[test]
fn a_client_that_leaves_aborts_its_request() {
    let dir = TempDir::new("fcgi-abort");
    let app = TestApp::start(&dir.0, true);
    let server = Server::start("fcgi-abort-srv", Some(&config(&app_route(&app, ""))), &[]);
    let mut s = server.connect();
    s.write_all(b"GET /app/hang HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || app
        .stats
        .requests
        .load(SeqCst)
        == 1));
    drop(s);
    assert!(
        eventually(Duration::from_secs(5), || app.stats.aborts.load(SeqCst)
            == 1),
        "no ABORT_REQUEST reached the application"
    );
    // The aborted request ended, so its connection carries the next one.
    assert_eq!(get(&server, "/app/hello").text(), "hello");
    assert!(eventually(Duration::from_secs(2), || fastcgi_counters(
        &server
    )["running"]
        == 0));
}

#[test]
fn stderr_of_the_application_goes_to_the_error_log() {
    let dir = TempDir::new("fcgi-stderr");
    let app = TestApp::start(&dir.0, false);
    let server = Server::start_with_env(
        "fcgi-stderr-srv",
        Some(&config(&app_route(&app, ""))),
        &[],
        &[],
    );
    assert_eq!(get(&server, "/app/stderr").text(), "logged");
    assert!(
        eventually(Duration::from_secs(2), || server
            .stderr_log()
            .contains("/srv/app: stderr: a line from the application")),
        "{}",
        server.stderr_log()
    );
}

#[test]
fn request_bodies_stream_to_the_application() {
    let dir = TempDir::new("fcgi-body");
    let app = TestApp::start(&dir.0, true);
    let server = Server::start("fcgi-body-srv", Some(&config(&app_route(&app, ""))), &[]);
    for len in [0usize, 1, 70_000, 3 << 20] {
        let body = body_of(len);
        let sum: u64 = body.iter().map(|&b| u64::from(b)).sum();
        let r = post(&server, "/app/body", "application/octet-stream", &body);
        assert_eq!(r.text(), format!("{len} {sum}"));
    }
}

#[test]
fn a_stalled_client_holds_the_application_and_memory_stays_bounded() {
    let dir = TempDir::new("fcgi-stall");
    let app = TestApp::start(&dir.0, false);
    let server = Server::start("fcgi-stall-srv", Some(&config(&app_route(&app, ""))), &[]);
    let before = server.rss_kib();
    let mut s = server.connect();
    s.write_all(b"GET /app/big/209715200 HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    // 200 MiB on offer; the client reads nothing for a while.
    std::thread::sleep(Duration::from_millis(1500));
    let during = server.rss_kib();
    assert!(
        during < before + 20 * 1024,
        "RSS grew from {before} KiB to {during} KiB behind a stalled client"
    );
    // It then reads a little and leaves: the request is aborted.
    let mut buf = vec![0u8; 1 << 20];
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.read_exact(&mut buf).unwrap();
    drop(s);
    assert!(eventually(Duration::from_secs(5), || fastcgi_counters(
        &server
    )["running"]
        == 0));
}

// ---------------------------------------------------------------------------------------
// Several upstreams

#[test]
fn upstreams_down_are_skipped_and_none_left_answers_502() {
    let dir = TempDir::new("fcgi-down");
    let app = TestApp::start(&dir.0, true);
    let missing = dir.0.join("nobody-listens.sock");
    let routes = format!(
        "[[route]]\nprefix = \"/app/\"\nfastcgi = {{ upstreams = [\"unix:{}\", \"unix:{}\"], program = \"/srv/app\" }}\n[[route]]\nprefix = \"/none/\"\nfastcgi = {{ upstreams = [\"unix:{}\"], program = \"/srv/app\" }}\n",
        missing.display(),
        app.socket.display(),
        missing.display(),
    );
    let server = Server::start_with_env("fcgi-down-srv", Some(&config(&routes)), &[], &[]);
    for _ in 0..5 {
        assert_eq!(get(&server, "/app/hello").text(), "hello");
    }
    assert_eq!(get(&server, "/none/hello").status, 502);
    let log = server.stderr_log();
    assert!(
        log.contains(
            "nobody-listens.sock: connect: No such file or directory (os error 2); skipped for"
        ),
        "{log}"
    );
    let v = status(&server);
    let upstreams = v["fastcgi_upstreams"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"));
    let down = upstreams
        .iter()
        .find(|u| u["name"].as_str().unwrap().contains("nobody-listens"))
        .unwrap();
    assert_eq!(down["up"], false, "{v}");
    let up = upstreams
        .iter()
        .find(|u| u["name"].as_str().unwrap().ends_with("app.sock"))
        .unwrap();
    assert_eq!(up["requests"], 5, "{v}");
    assert_eq!(up["up"], true, "{v}");
}

// ---------------------------------------------------------------------------------------
// Spawned applications

/// fcgiwrap's path, or `None` (after SKIP) unless `CI=true`.
fn fcgiwrap() -> Option<&'static str> {
    let path = "/usr/sbin/fcgiwrap";
    if Path::new(path).is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "fcgiwrap is required in CI"
    );
    eprintln!("SKIP: no fcgiwrap");
    None
}

/// Pids of the fcgiwrap processes the server `ppid` spawned (live ones, zombies left out).
fn spawned_pids(ppid: u32) -> Vec<u32> {
    let mut pids: Vec<u32> = processes()
        .into_iter()
        .filter(|p| p.ppid == ppid && p.state != 'Z' && p.cmdline.starts_with("/usr/sbin/fcgiwrap"))
        .map(|p| p.pid)
        .collect();
    pids.sort_unstable();
    pids
}

fn uid_of(pid: u32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

fn spawn_config(processes: usize, plain: &str) -> String {
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi-scripts");
    // Both routes name the same spawn table: one application serves them.
    let spawn = format!(
        "spawn = {{ command = [\"/usr/sbin/fcgiwrap\"], processes = {processes}, user = \"nobody\" }}"
    );
    config(&format!(
        "[[route]]\nprefix = \"/plain\"\nrespond = {{ body = \"{plain}\" }}\n\
         [[route]]\nprefix = \"/spawned/\"\nfastcgi = {{ program = {}, {spawn} }}\n\
         [[route]]\nprefix = \"/spawned-slow/\"\nfastcgi = {{ program = {}, {spawn} }}\n",
        toml_path(&scripts.join("id.sh")),
        toml_path(&scripts.join("slow.sh")),
    ))
}

fn hup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn spawned_applications_are_supervised_restarted_and_kept_across_reloads() {
    if fcgiwrap().is_none() {
        return;
    }
    let mut server = Server::start("fcgi-spawn-srv", Some(&spawn_config(2, "A")), &[]);
    let pid = server.pid();
    assert!(eventually(Duration::from_secs(5), || spawned_pids(pid)
        .len()
        == 2));
    let first = spawned_pids(pid);
    // The application runs as its own user: fcgiwrap and the script it runs.
    let nobody = Command::new("id").args(["-u", "nobody"]).output().unwrap();
    let nobody = String::from_utf8_lossy(&nobody.stdout).trim().to_owned();
    assert!(
        first
            .iter()
            .all(|&p| uid_of(p).as_deref() == Some(&*nobody)),
        "{first:?}"
    );
    let r = get(&server, "/spawned/");
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().starts_with(&format!("{nobody} ")), "{}", r.text());

    // One process killed: the supervisor starts another; the route and the others serve on.
    let _ = Command::new("kill")
        .args(["-KILL", &first[0].to_string()])
        .status();
    for _ in 0..10 {
        assert_eq!(get(&server, "/plain").text(), "A");
        assert_eq!(get(&server, "/spawned/").status, 200);
    }
    assert!(
        eventually(Duration::from_secs(5), || {
            let now = spawned_pids(pid);
            now.len() == 2 && !now.contains(&first[0])
        }),
        "no restart: {:?}",
        spawned_pids(pid)
    );
    let apps = status(&server)["fastcgi_apps"].clone();
    assert_eq!(apps[0]["restarts"], 1, "{apps}");
    assert_eq!(apps[0]["running"], 2, "{apps}");

    // A reload that leaves the spawn table alone keeps the processes, and the requests
    // in flight on them.
    let kept = spawned_pids(pid);
    let in_flight: Vec<_> = (0..2)
        .map(|_| {
            let addr = server.addr;
            std::thread::spawn(move || {
                let mut s = std::net::TcpStream::connect(addr).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                s.write_all(b"GET /spawned-slow/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                    .unwrap();
                read_whole_response(&mut s, false).text()
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(server.dir.join("refserver.toml"), spawn_config(2, "B")).unwrap();
    hup(&server);
    assert!(eventually(Duration::from_secs(5), || get(
        &server, "/plain"
    )
    .text()
        == "B"));
    for t in in_flight {
        assert_eq!(t.join().unwrap(), "slow done\n");
    }
    assert_eq!(
        spawned_pids(pid),
        kept,
        "an unchanged application was restarted"
    );

    // A reload whose application cannot be set up (its socket path is a regular file)
    // is refused: the running routes and application stay.
    let file = server.dir.join("not-a-socket");
    std::fs::write(&file, "keep me").unwrap();
    let bad = spawn_config(2, "X").replace(
        "user = \"nobody\" }",
        &format!("user = \"nobody\", socket = {} }}", toml_path(&file)),
    );
    std::fs::write(server.dir.join("refserver.toml"), bad).unwrap();
    hup(&server);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(get(&server, "/plain").text(), "B");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert_eq!(spawned_pids(pid), kept);

    // One that changes it restarts only that application: three new processes.
    std::fs::write(server.dir.join("refserver.toml"), spawn_config(3, "C")).unwrap();
    hup(&server);
    assert!(
        eventually(Duration::from_secs(10), || {
            let now = spawned_pids(pid);
            now.len() == 3 && now.iter().all(|p| !kept.contains(p))
        }),
        "{:?} after {kept:?}",
        spawned_pids(pid)
    );
    assert_eq!(get(&server, "/spawned/").status, 200);
    let last = spawned_pids(pid);

    // The server's exit takes its applications with it.
    server.sigterm();
    assert!(server.wait_exit(Duration::from_secs(15)).is_some());
    let left: Vec<u32> = last
        .iter()
        .copied()
        .filter(|p| Path::new(&format!("/proc/{p}")).exists())
        .collect();
    assert!(left.is_empty(), "processes left: {left:?}");
}

#[test]
fn the_demo_site_serves_its_spawned_fastcgi_application() {
    let server = Server::start("fcgi-demo", None, &[]);
    let r = post(&server, "/fcgi/echo/a?q=1", "text/plain", b"hello");
    assert_eq!(r.status, 200, "{}", r.text());
    let text = r.text();
    assert!(text.contains("PATH_INFO=/echo/a\n"), "{text}");
    assert!(text.contains("QUERY_STRING=q=1\n"), "{text}");
    assert!(text.ends_with("\nhello"), "{text}");
    let apps = status(&server)["fastcgi_apps"].clone();
    assert_eq!(apps[0]["running"], 2, "{apps}");

    // A server killed outright takes its applications with it (parent-death signal):
    // nothing is left holding the socket.
    let children: Vec<u32> = processes()
        .into_iter()
        .filter(|p| p.ppid == server.pid() && p.cmdline.contains("--fastcgi-echo-app"))
        .map(|p| p.pid)
        .collect();
    assert_eq!(children.len(), 2, "{children:?}");
    let _ = Command::new("kill")
        .args(["-KILL", &server.pid().to_string()])
        .status();
    assert!(
        eventually(Duration::from_secs(5), || children
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists())),
        "spawned applications outlived a killed server: {children:?}"
    );
}

#[test]
fn sticky_visitors_stay_on_their_upstream_while_it_is_up() {
    let dir_a = TempDir::new("fcgi-sticky-a");
    let dir_b = TempDir::new("fcgi-sticky-b");
    let a = TestApp::start(&dir_a.0, true);
    let b = TestApp::start(&dir_b.0, true);
    let routes = format!(
        "[[route]]\nprefix = \"/app/\"\nfastcgi = {{ upstreams = [\"unix:{}\", \"unix:{}\"], program = \"/srv/app\", sticky_cookie = \"fcgi_upstream\", fail_timeout_ms = 60000 }}\n",
        a.socket.display(),
        b.socket.display()
    );
    let server = Server::start("fcgi-sticky-srv", Some(&config(&routes)), &[]);
    let first = get(&server, "/app/hello");
    assert_eq!(first.text(), "hello");
    let set_cookie = first
        .header("set-cookie")
        .expect("a new visitor gets the cookie");
    assert!(set_cookie.starts_with("fcgi_upstream="), "{set_cookie}");
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"),
        "{set_cookie}"
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let served = |app: &TestApp| app.stats.requests.load(SeqCst);
    let mut apps = vec![a, b];
    let kept = usize::from(served(&apps[0]) != 1);
    let with_cookie = |server: &Server| {
        exchange(
            server,
            format!("GET /app/hello HTTP/1.1\r\nHost: t\r\nCookie: x=1; {cookie}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    for _ in 0..10 {
        let r = with_cookie(&server);
        assert_eq!(r.text(), "hello");
        assert!(
            r.header("set-cookie").is_none(),
            "a kept visitor keeps its cookie"
        );
    }
    assert_eq!(
        (served(&apps[kept]), served(&apps[1 - kept])),
        (11, 0),
        "the visitor moved"
    );

    // Its upstream goes away: the visitor is served by the other one, and kept there.
    drop(apps.remove(kept));
    let survivor = &apps[0];
    for _ in 0..3 {
        assert_eq!(with_cookie(&server).text(), "hello");
    }
    assert_eq!(served(survivor), 3);
}
