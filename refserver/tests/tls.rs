//! TLS listeners as users deploy them, against real clients: curl (`--cacert`) for static
//! files, a CGI script's environment and a 10 MiB body; `openssl s_client` for the SNI
//! choice and ALPN; a stalled handshake, plain text on the TLS port, a certificate reload
//! under an open session, the HTTP-to-HTTPS redirect, and `--check` refusing bad files.
//!
//! Certificates are made here with rcgen (a CA and leaves signed by it), never committed.

mod common;

use common::{Server, have, temp_dir};
use rustls::pki_types::{CertificateDer, ServerName};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A test CA and the files of leaves it signed.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
}

impl Pki {
    fn new(name: &str) -> Self {
        let dir = temp_dir(&format!("{name}-pki"));
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "refserver test CA");
        let ca_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Self { dir, ca, ca_key }
    }

    fn ca_path(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Writes `FILE.pem` and `FILE.key`: an ECDSA P-256 leaf for `names`, its common name
    /// `cn`; `expired` makes one whose validity ended in 2021.
    fn leaf(&self, file: &str, cn: &str, names: &[&str], expired: bool) -> (PathBuf, PathBuf) {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = rcgen::CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let (cert_path, key_path) = self.paths(file);
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    fn paths(&self, file: &str) -> (PathBuf, PathBuf) {
        (
            self.dir.join(format!("{file}.pem")),
            self.dir.join(format!("{file}.key")),
        )
    }

    /// A rustls client configuration trusting this CA.
    fn client(&self) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(self.ca.der().to_vec()))
            .unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `path` as a TOML string.
fn toml(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

/// A TLS listener on a free loopback port with `cert`/`key`, plus `extra` in its table.
fn tls_listen(cert: &Path, key: &Path, extra: &str) -> String {
    format!(
        "{{ addr = \"127.0.0.1:0\", tls = {{ cert = {}, key = {}{extra} }} }}",
        toml(cert),
        toml(key)
    )
}

/// curl over HTTPS to `localhost:PORT` trusting the test CA; fails (never skips) in CI
/// without curl.
fn curl_https(pki: &Pki, port: u16, path: &str, extra: &[&str]) -> Option<std::process::Output> {
    let url = format!("https://localhost:{port}{path}");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let cacert = pki.ca_path().display().to_string();
    let mut args = vec!["--cacert", &cacert, "--resolve", &resolve];
    args.extend_from_slice(extra);
    args.push(&url);
    common::curl(&args)
}

/// One keep-alive TLS session of our own client (rustls), for what curl cannot show: the
/// certificate served, a session kept across a reload.
struct TlsClient {
    stream: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl TlsClient {
    fn connect(pki: &Pki, addr: SocketAddr, name: &str) -> Self {
        let tcp = TcpStream::connect(addr).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let conn = rustls::ClientConnection::new(pki.client(), name).unwrap();
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        while stream.conn.is_handshaking() {
            stream.conn.complete_io(&mut stream.sock).unwrap();
        }
        Self { stream }
    }

    /// The common name of the certificate the server sent.
    fn served_cn(&self) -> String {
        let der = &self.stream.conn.peer_certificates().unwrap()[0];
        let (_, cert) = x509_parser::parse_x509_certificate(der).unwrap();
        cert.subject()
            .iter_common_name()
            .next()
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// GET `path` on this session; the status and body (Content-Length framing).
    fn get(&mut self, path: &str) -> (u16, String) {
        write!(
            self.stream,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"
        )
        .unwrap();
        self.stream.flush().unwrap();
        let mut got = Vec::new();
        let mut byte = [0u8; 1];
        while !got.ends_with(b"\r\n\r\n") {
            assert_eq!(self.stream.read(&mut byte).unwrap(), 1, "closed mid-head");
            got.push(byte[0]);
        }
        let head = String::from_utf8(got).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        let mut body = vec![0; len];
        self.stream.read_exact(&mut body).unwrap();
        (
            head[9..12].parse().unwrap(),
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

/// The status page as JSON, fetched over TLS with our own client.
fn status_json(pki: &Pki, addr: SocketAddr) -> serde_json::Value {
    let (status, body) = TlsClient::connect(pki, addr, "localhost").get("/status?format=json");
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn curl_fetches_static_files_cgi_and_10_mib_over_tls() {
    if !have("curl") {
        return;
    }
    let pki = Pki::new("tls-curl");
    let (cert, key) = pki.leaf("site", "localhost", &["localhost"], false);
    let site = temp_dir("tls-curl-site");
    std::fs::write(site.join("hello.txt"), "hello over tls\n").unwrap();
    // 10 MiB that is not all one byte, so a misplaced record shows.
    let big: Vec<u8> = (0..10 * 1024 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13).to_le_bytes()[0])
        .collect();
    std::fs::write(site.join("big.bin"), &big).unwrap();
    let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cgi-scripts");
    let config = format!(
        "listen = [{}]\nworkers = 1\naccess_log = \"off\"\n\
         [[route]]\nprefix = \"/cgi-bin/\"\ncgi = {{ dir = {} }}\n\
         [[route]]\nprefix = \"/\"\nstatic = {{ dir = {} }}\n",
        tls_listen(&cert, &key, ", hsts = \"max-age=31536000\""),
        toml(&scripts),
        toml(&site)
    );
    let server = Server::start_own_listen("tls-curl", &config, 1);
    assert!(server.listening_lines()[0].starts_with("listening on https://127.0.0.1:"));
    let port = server.addr.port();

    let out = curl_https(&pki, port, "/hello.txt", &["-i"]).unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(
        text.contains("strict-transport-security: max-age=31536000\r\n"),
        "{text}"
    );
    assert!(text.ends_with("\r\n\r\nhello over tls\n"), "{text}");

    let out = curl_https(&pki, port, "/cgi-bin/env.sh/x", &[]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let env: Vec<String> = out
        .stdout
        .split(|&b| b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    for want in [
        "HTTPS=on".to_owned(),
        "REQUEST_SCHEME=https".to_owned(),
        format!("SERVER_PORT={port}"),
    ] {
        assert!(env.contains(&want), "{want} missing from {env:?}");
    }

    let dest = site.join("fetched.bin");
    let dest_arg = dest.display().to_string();
    let out = curl_https(&pki, port, "/big.bin", &["-o", &dest_arg]).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fetched = std::fs::read(&dest).unwrap();
    assert_eq!(fetched.len(), big.len());
    assert_eq!(
        checksum(&fetched),
        checksum(&big),
        "the 10 MiB body arrived intact"
    );
    let _ = std::fs::remove_dir_all(&site);
}

/// FNV-1a over the bytes: enough to tell a reordered or damaged body.
fn checksum(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// `openssl s_client` against `addr` with `args`; its output (stdout and stderr).
fn s_client(addr: SocketAddr, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .args(["10", "openssl", "s_client", "-connect", &addr.to_string()])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn openssl_s_client_sees_the_certificate_sni_picks_and_alpn() {
    if !have("openssl") {
        return;
    }
    let pki = Pki::new("tls-sni");
    let (a, a_key) = pki.leaf("a", "a.test", &["a.test", "www.a.test"], false);
    let (b, b_key) = pki.leaf("b", "b.test", &["b.test"], false);
    let (w, w_key) = pki.leaf("w", "wild.test", &["*.wild.test"], false);
    let config = format!(
        "listen = {{ addr = \"127.0.0.1:0\", tls = {{ certs = [{{ cert = {}, key = {} }}, {{ cert = {}, key = {} }}, {{ cert = {}, key = {} }}] }} }}\n\
         workers = 1\naccess_log = \"off\"\n[[route]]\nprefix = \"/\"\nrespond = {{ body = \"hi\" }}\n",
        toml(&a),
        toml(&a_key),
        toml(&b),
        toml(&b_key),
        toml(&w),
        toml(&w_key)
    );
    let server = Server::start_own_listen("tls-sni", &config, 1);
    let ca = pki.ca_path().display().to_string();
    let subject = |args: &[&str]| {
        let mut all = vec!["-CAfile", &ca];
        all.extend_from_slice(args);
        let out = s_client(server.addr, &all);
        assert!(out.contains("Verify return code: 0 (ok)"), "{out}");
        out.lines()
            .find_map(|l| l.strip_prefix("subject=").map(str::to_owned))
            .unwrap_or_else(|| panic!("no subject line: {out}"))
    };
    assert!(subject(&["-servername", "b.test"]).ends_with("CN = b.test"));
    assert!(subject(&["-servername", "www.a.test"]).ends_with("CN = a.test"));
    assert!(subject(&["-servername", "x.wild.test"]).ends_with("CN = wild.test"));
    // No SNI, or a name no certificate has: the first, the default.
    assert!(subject(&["-noservername"]).ends_with("CN = a.test"));
    assert!(subject(&["-servername", "other.test"]).ends_with("CN = a.test"));

    let out = s_client(
        server.addr,
        &["-CAfile", &ca, "-servername", "a.test", "-alpn", "http/1.1"],
    );
    assert!(out.contains("ALPN protocol: http/1.1"), "{out}");
    let out = s_client(
        server.addr,
        &["-CAfile", &ca, "-servername", "a.test", "-alpn", "h2"],
    );
    assert!(
        !out.contains("ALPN protocol: h2"),
        "h2 is not offered yet: {out}"
    );
    // TLS 1.2 is served too, with rustls's safe suites.
    let out = s_client(
        server.addr,
        &["-CAfile", &ca, "-servername", "a.test", "-tls1_2"],
    );
    assert!(out.contains("Protocol  : TLSv1.2"), "{out}");
}

#[test]
fn a_stalled_handshake_is_closed_at_the_deadline_and_plain_text_gets_a_clean_close() {
    let pki = Pki::new("tls-stall");
    let (cert, key) = pki.leaf("site", "localhost", &["localhost"], false);
    let config = format!(
        "listen = [{}]\nworkers = 1\naccess_log = \"off\"\n[limits]\nhandshake_timeout_ms = 600\n\
         [[route]]\nprefix = \"/status\"\nstatus = {{}}\n[[route]]\nprefix = \"/\"\nrespond = {{ body = \"hi\" }}\n",
        tls_listen(&cert, &key, "")
    );
    let server = Server::start_own_listen("tls-stall", &config, 1);

    // A partial ClientHello: a record header announcing 512 bytes, then the first few.
    let mut stalled = TcpStream::connect(server.addr).unwrap();
    stalled
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let started = Instant::now();
    stalled
        .write_all(&[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ])
        .unwrap();
    let mut buf = [0u8; 64];
    let n = stalled.read(&mut buf).unwrap_or(0);
    let waited = started.elapsed();
    assert_eq!(n, 0, "closed without a word");
    assert!(
        waited >= Duration::from_millis(500) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );

    // Plain HTTP to the TLS port: an alert or nothing, then the close; never a hang.
    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut got = Vec::new();
    let read = plain.read_to_end(&mut got);
    assert!(read.is_ok(), "a clean close, not a hang or reset: {read:?}");
    assert!(
        got.is_empty() || got[0] == 0x15,
        "only a TLS alert may come back: {got:?}"
    );

    let v = status_json(&pki, server.addr);
    assert_eq!(v["tls"]["timeouts"], 1, "{v}");
    assert_eq!(v["tls"]["failures"]["not_tls"], 1, "{v}");
    assert!(v["tls"]["handshakes"].as_u64().unwrap() >= 1, "{v}");
    assert_eq!(v["phases"]["handshaking"], 0, "{v}");
}

#[test]
fn a_reload_swaps_the_certificate_for_new_sessions_and_keeps_old_ones() {
    let pki = Pki::new("tls-reload");
    let (cert, key) = pki.leaf("site", "first", &["localhost"], false);
    let config = format!(
        "listen = [{}]\nworkers = 1\naccess_log = \"off\"\n[[route]]\nprefix = \"/\"\nrespond = {{ body = \"hi\" }}\n",
        tls_listen(&cert, &key, "")
    );
    let server = Server::start_own_listen("tls-reload", &config, 1);
    let mut old = TlsClient::connect(&pki, server.addr, "localhost");
    assert_eq!(old.served_cn(), "first");
    assert_eq!(old.get("/"), (200, "hi".to_owned()));

    // Renewal: the same files, new contents; then SIGHUP.
    pki.leaf("site", "second", &["localhost"], false);
    hup(&server);
    assert!(
        common::eventually(Duration::from_secs(10), || server
            .stderr_log()
            .contains("certificates reloaded")),
        "{}",
        server.stderr_log()
    );
    let new = TlsClient::connect(&pki, server.addr, "localhost");
    assert_eq!(new.served_cn(), "second");
    assert_eq!(
        old.get("/"),
        (200, "hi".to_owned()),
        "the old session goes on"
    );

    // A broken renewal: the running certificate stays, and the log says why.
    std::fs::write(&cert, "not a certificate").unwrap();
    hup(&server);
    assert!(
        common::eventually(Duration::from_secs(10), || server
            .stderr_log()
            .contains("not reloaded")),
        "{}",
        server.stderr_log()
    );
    assert!(server.stderr_log().contains(&cert.display().to_string()));
    let after = TlsClient::connect(&pki, server.addr, "localhost");
    assert_eq!(after.served_cn(), "second");
    assert_eq!(old.get("/"), (200, "hi".to_owned()));
}

fn hup(server: &Server) {
    let status = Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn a_redirect_listener_answers_301_to_https_and_tls_responses_only_carry_hsts() {
    let pki = Pki::new("tls-redirect");
    let (cert, key) = pki.leaf("site", "localhost", &["localhost"], false);
    let config = format!(
        "listen = [{}, {{ addr = \"127.0.0.1:0\", redirect_https = true, https_port = 8443 }}, \"127.0.0.1:0\"]\n\
         workers = 1\naccess_log = \"off\"\n[[route]]\nprefix = \"/\"\nrespond = {{ body = \"hi\" }}\n",
        tls_listen(&cert, &key, ", hsts = \"max-age=60\"")
    );
    let server = Server::start_own_listen("tls-redirect", &config, 3);
    let addrs = server.listening_addrs();
    let mut s = TcpStream::connect(addrs[1]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET /a/b?c=d HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        .unwrap();
    let r = common::read_response(&mut s, false);
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location").as_deref(),
        Some("https://example.com:8443/a/b?c=d")
    );
    assert_eq!(r.header("strict-transport-security"), None);
    // The plain listener beside them serves as usual, without HSTS.
    let mut s = TcpStream::connect(addrs[2]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let r = common::read_response(&mut s, false);
    assert_eq!((r.status, r.text().as_str()), (200, "hi"));
    assert_eq!(r.header("strict-transport-security"), None);
}

#[test]
fn check_refuses_a_mismatched_key_an_expired_certificate_and_a_missing_file() {
    let pki = Pki::new("tls-check");
    let (a, a_key) = pki.leaf("a", "a", &["a.test"], false);
    let (_b, b_key) = pki.leaf("b", "b", &["b.test"], false);
    let (old, old_key) = pki.leaf("old", "old", &["old.test"], true);
    let missing = pki.dir.join("missing.pem");
    let check = |cert: &Path, key: &Path| {
        let path = pki.dir.join("check.toml");
        std::fs::write(
            &path,
            format!(
                "listen = [{}]\n[[route]]\nprefix = \"/\"\nrespond = {{}}\n",
                tls_listen(cert, key, "")
            ),
        )
        .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_refserver"))
            .arg("--config")
            .arg(&path)
            .arg("--check")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, ok) = check(&a, &a_key);
    assert_eq!(code, Some(0), "{ok}");
    let (code, e) = check(&a, &b_key);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("does not match") && e.contains(&b_key.display().to_string()),
        "{e}"
    );
    let (code, e) = check(&old, &old_key);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains("expired") && e.contains(&old.display().to_string()),
        "{e}"
    );
    let (code, e) = check(&missing, &a_key);
    assert_eq!(code, Some(2), "{e}");
    assert!(
        e.contains(&missing.display().to_string()) && e.contains("No such file"),
        "{e}"
    );
}

#[test]
fn handlers_read_the_sni_name_and_protocol_from_the_request() {
    use refserver::handler::{ConnectionInfo, Request, TlsInfo, handler_fn};
    let pki = Pki::new("tls-handler");
    let (cert, key) = pki.leaf("site", "localhost", &["localhost", "app.test"], false);
    let config = refserver::Config::parse(&format!(
        "listen = [{}, \"127.0.0.1:0\"]\nworkers = 1\naccess_log = \"off\"\n\
         [[route]]\nprefix = \"/\"\nhandler = {{ name = \"who\" }}\n",
        tls_listen(&cert, &key, "")
    ))
    .unwrap();
    let who = handler_fn(|request: Request| async move {
        let tls = request.extensions().get::<TlsInfo>().map_or_else(
            || "plain".to_owned(),
            |t| {
                format!(
                    "{} {} {}",
                    t.server_name.as_deref().unwrap_or("-"),
                    t.protocol,
                    t.alpn.unwrap_or("-")
                )
            },
        );
        let local = request
            .extensions()
            .get::<ConnectionInfo>()
            .and_then(|c| c.local);
        http::Response::new(format!("{tls} {}", local.map_or(0, |a| a.port())))
    });
    let running = refserver::Builder::new(config)
        .handler("who", who)
        .start()
        .unwrap();
    let [
        refserver::Listening::Tls(tls),
        refserver::Listening::Tcp(plain),
    ] = running.listeners()
    else {
        panic!("{:?}", running.listeners())
    };
    let (tls, plain) = (*tls, *plain);
    let (status, body) = TlsClient::connect(&pki, tls, "app.test").get("/");
    assert_eq!(status, 200);
    assert_eq!(body, format!("app.test TLSv1.3 http/1.1 {}", tls.port()));
    let mut s = TcpStream::connect(plain).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let r = common::read_whole_response(&mut s, false);
    assert_eq!(r.text(), format!("plain {}", plain.port()));
    running.shutdown();
}

#[test]
fn a_tls_client_that_stops_reading_holds_the_server_to_bounded_memory() {
    let pki = Pki::new("tls-slow-reader");
    let (cert, key) = pki.leaf("site", "localhost", &["localhost"], false);
    let site = temp_dir("tls-slow-reader-site");
    let len = 64 * 1024 * 1024;
    std::fs::write(site.join("big.bin"), vec![7u8; len]).unwrap();
    let config = format!(
        "listen = [{}]\nworkers = 1\naccess_log = \"off\"\n\
         [[route]]\nprefix = \"/\"\nstatic = {{ dir = {} }}\n",
        tls_listen(&cert, &key, ""),
        toml(&site)
    );
    let server = Server::start_own_listen("tls-slow-reader", &config, 1);
    let before = server.rss_kib();
    let mut client = TlsClient::connect(&pki, server.addr, "localhost");
    write!(
        client.stream,
        "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"
    )
    .unwrap();
    client.stream.flush().unwrap();
    let mut first = [0u8; 16];
    client.stream.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK\r");
    // The client reads nothing more: the socket buffers fill and the server must stop.
    std::thread::sleep(Duration::from_millis(1500));
    let held = server.rss_kib().saturating_sub(before);
    assert!(
        held < 8 * 1024,
        "the server grew by {held} KiB for a client that stopped reading a 64 MiB file"
    );
    // Reading again, the client gets the whole file: nothing stalled or was lost.
    let mut rest = Vec::new();
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(30);
    let body_start = loop {
        assert!(
            Instant::now() < deadline,
            "only {} bytes in 30 s",
            rest.len()
        );
        let n = client.stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {} bytes", rest.len());
        rest.extend_from_slice(&buf[..n]);
        if let Some(end) = rest.windows(4).position(|w| w == b"\r\n\r\n")
            && rest.len() >= end + 4 + len
        {
            break end + 4;
        }
    };
    rest.drain(..body_start);
    assert_eq!(rest.len(), len);
    assert!(rest.iter().all(|&b| b == 7));
}
