//! The servers under load, each configured the way its users would for the scenario, with
//! one worker: refserver, nginx, lighttpd, h2o, hyper, and the applications behind them
//! (php-fpm pools, fcgiwrap).

use crate::peers::{FCGIWRAP, H2O, LIGHTTPD, NGINX, OPENSSL, PHP_FPM, Peer, REDIS};
use crate::procs::Group;
use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The files every server serves, and where each server's config and log go.
#[derive(Debug)]
pub(crate) struct Site {
    dir: tempfile::TempDir,
    /// refserver's release binary.
    pub(crate) refserver: PathBuf,
    /// The embedded example (in-process handlers).
    pub(crate) embedded: PathBuf,
    /// benches' hyper hello-world.
    pub(crate) hyper: PathBuf,
    /// An older refserver build run beside the current one (`--baseline`).
    pub(crate) baseline: Option<PathBuf>,
}

/// The static files, by name under `/`, and their sizes.
pub(crate) const STATIC_FILES: [(&str, usize); 4] = [
    ("13b.txt", 13),
    ("64k.bin", 64 << 10),
    ("10m.bin", 10 << 20),
    ("200m.bin", 200 << 20),
];

/// The CGI script every CGI server runs.
pub(crate) const CGI_PATH: &str = "/cgi-bin/hello.sh";

impl Site {
    /// Writes the document tree to a new temporary directory.
    pub(crate) fn new(
        refserver: PathBuf,
        embedded: PathBuf,
        hyper: PathBuf,
        baseline: Option<PathBuf>,
    ) -> io::Result<Site> {
        let dir = tempfile::Builder::new().prefix("loadbench.").tempdir()?;
        crate::procs::remove_on_interrupt(dir.path());
        // h2o and nginx workers may run as another user: the tree is world-readable.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))?;
        let site = Site {
            dir,
            refserver,
            embedded,
            hyper,
            baseline,
        };
        for sub in ["www/cgi-bin", "php", "logs", "run"] {
            fs::create_dir_all(site.path(sub))?;
        }
        for (name, size) in STATIC_FILES {
            let body: Vec<u8> = if size == 13 {
                b"Hello, World!".to_vec()
            } else {
                (0..size).map(|i| b"0123456789abcdef"[i % 16]).collect()
            };
            fs::write(site.path("www").join(name), body)?;
        }
        let script = site.path("www/cgi-bin/hello.sh");
        fs::write(
            &script,
            "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhello\\n'\n",
        )?;
        fs::set_permissions(&script, fs::Permissions::from_mode(0o755))?;
        fs::write(site.path("php/hello.php"), "<?php\necho \"hello\\n\";\n")?;
        fs::write(site.path("run/pipeline.lua"), crate::wrk::PIPELINE_LUA)?;
        Ok(site)
    }

    /// A path inside the temporary directory.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn log(&self, name: &str) -> PathBuf {
        self.path(&format!("logs/{name}.log"))
    }

    /// The last lines of a server's log, for an error message.
    pub(crate) fn log_tail(&self, name: &str) -> String {
        let text = fs::read_to_string(self.log(name)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    }
}

/// A server under load: its port and the process groups whose CPU time is its cost.
#[derive(Debug)]
pub(crate) struct Server {
    /// Its name in the report.
    pub(crate) name: String,
    /// Its port on 127.0.0.1.
    pub(crate) port: u16,
    /// The web server first, then the applications it talks to.
    pub(crate) groups: Vec<Group>,
    /// It listens with TLS (`https://localhost:port`).
    pub(crate) tls: bool,
}

impl Server {
    /// CPU time of the server and its applications so far, in microseconds.
    pub(crate) fn cpu_us(&self) -> u64 {
        self.groups.iter().map(Group::cpu_us).sum()
    }

    /// Resident memory of the web server's processes, in KiB.
    pub(crate) fn rss_kib(&self) -> u64 {
        self.groups.first().map_or(0, Group::rss_kib)
    }

    /// Whether exited children's CPU time is counted too (a cgroup per group).
    pub(crate) fn counts_every_process(&self) -> bool {
        self.groups.iter().all(Group::counts_every_process)
    }

    /// Whether every process it started is still running.
    pub(crate) fn running(&mut self) -> bool {
        self.groups.iter_mut().all(Group::running)
    }
}

/// A port nothing listens on now.
pub(crate) fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Waits (bounded) until `GET path` on the port answers 200 (a TLS server: until it
/// accepts connections; wrk's warm-up is its first request).
fn ready(site: &Site, server: &mut Server, path: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let up = if server.tls {
            TcpStream::connect(("127.0.0.1", server.port)).is_ok()
        } else {
            get_status(server.port, path).ok() == Some(200)
        };
        if up {
            return Ok(());
        }
        if !server.running() || Instant::now() > deadline {
            let logs: Vec<String> = server
                .groups
                .iter()
                .map(|g| format!("{}: {}", g.name(), site.log_tail(g.name())))
                .collect();
            return Err(io::Error::other(format!(
                "{} does not answer 200 on 127.0.0.1:{}{path}; {}",
                server.name,
                server.port,
                logs.join("; ")
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The status code of one `GET path` (connection closed after it).
pub(crate) fn get_status(port: u16, path: &str) -> io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head)?;
    std::str::from_utf8(&head[9..12])
        .ok()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other("not an HTTP response"))
}

fn find(peer: &Peer) -> io::Result<PathBuf> {
    peer.find().map_err(io::Error::other)
}

fn start(site: &Site, name: &str, program: &Path, args: &[&str]) -> io::Result<Group> {
    Group::start(name, program, args, &site.log(name))
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or_default()
}

/// refserver with one worker, no access log, and these `[[route]]` tables.
pub(crate) fn refserver(
    site: &Site,
    name: &str,
    routes: &str,
    ready_path: &str,
) -> io::Result<Server> {
    refserver_build(site, &site.refserver, name, routes, ready_path)
}

/// A certificate for `localhost` and its key (ECDSA P-256, made by openssl), the same
/// for every TLS server of a run.
#[derive(Debug, Clone)]
pub(crate) struct Certificate {
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Makes the run's certificate.
pub(crate) fn certificate(site: &Site) -> io::Result<Certificate> {
    let openssl = find(&OPENSSL)?;
    let c = Certificate {
        cert: site.path("run/cert.pem"),
        key: site.path("run/key.pem"),
    };
    let out = std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost", "-keyout"])
        .arg(&c.key)
        .arg("-out")
        .arg(&c.cert)
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "openssl req: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(c)
}

/// refserver with one TLS listener and these routes.
pub(crate) fn refserver_tls(
    site: &Site,
    name: &str,
    tls: &Certificate,
    routes: &str,
) -> io::Result<Server> {
    let port = free_port()?;
    let listen = format!(
        "{{ addr = \"127.0.0.1:{port}\", tls = {{ cert = \"{}\", key = \"{}\" }} }}",
        tls.cert.display(),
        tls.key.display()
    );
    let group = refserver_started(site, &site.refserver, name, &listen, routes)?;
    serve_as(site, name, port, vec![group], "", true)
}

/// The same, from a given binary (the current build or the baseline).
pub(crate) fn refserver_build(
    site: &Site,
    program: &Path,
    name: &str,
    routes: &str,
    ready_path: &str,
) -> io::Result<Server> {
    let port = free_port()?;
    let listen = format!("\"127.0.0.1:{port}\"");
    let group = refserver_started(site, program, name, &listen, routes)?;
    serve(site, name, port, vec![group], ready_path)
}

/// Writes refserver's config (one worker, no access log, room for 10,000 sessions) with
/// this `listen` entry and these routes, and starts `program` on it.
fn refserver_started(
    site: &Site,
    program: &Path,
    name: &str,
    listen: &str,
    routes: &str,
) -> io::Result<Group> {
    let config = format!(
        "listen = [{listen}]\nworkers = 1\naccess_log = \"off\"\nshutdown_timeout_ms = 1000\n\
         [limits]\nmax_sessions = 19000\n\n{routes}"
    );
    let file = site.path(&format!("run/{name}.toml"));
    fs::write(&file, config)?;
    start(site, name, program, &["--config", path_str(&file)])
}

/// The embedded example (handlers, and the demo site's routes), one worker, with `more`
/// arguments; `apps` are counted with it.
pub(crate) fn embedded(
    site: &Site,
    name: &str,
    more: &[&str],
    apps: Vec<Group>,
) -> io::Result<Server> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let mut args = vec!["--listen", &listen, "--workers", "1", "--access-log", "off"];
    args.extend_from_slice(more);
    let mut groups = vec![start(site, name, &site.embedded, &args)?];
    groups.extend(apps);
    serve(site, name, port, groups, "/hello")
}

/// redis-server on a free port, nothing saved; returns it and its port.
pub(crate) fn redis(site: &Site) -> io::Result<(Group, u16)> {
    let redis = find(&REDIS)?;
    let port = free_port()?;
    let port_s = port.to_string();
    let dir = site.path("run");
    let group = start(
        site,
        "redis-server",
        &redis,
        &[
            "--port",
            &port_s,
            "--bind",
            "127.0.0.1",
            "--dir",
            path_str(&dir),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
    )?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "redis-server does not listen on {port}: {}",
                site.log_tail("redis-server")
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok((group, port))
}

/// The `Set-Cookie` pair (`name=value`) of one `GET path`.
pub(crate) fn get_cookie(port: u16, path: &str) -> io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    text.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("set-cookie").then(|| {
                value
                    .trim()
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
        })
        .ok_or_else(|| io::Error::other(format!("no Set-Cookie from GET {path}")))
}

/// benches' hyper hello-world on one current-thread runtime.
pub(crate) fn hyper(site: &Site) -> io::Result<Server> {
    let port = free_port()?;
    let listen = format!("127.0.0.1:{port}");
    let group = start(site, "hyper", &site.hyper, &[&listen])?;
    serve(site, "hyper", port, vec![group], "/plaintext")
}

fn serve(site: &Site, name: &str, port: u16, groups: Vec<Group>, path: &str) -> io::Result<Server> {
    serve_as(site, name, port, groups, path, false)
}

fn serve_as(
    site: &Site,
    name: &str,
    port: u16,
    groups: Vec<Group>,
    path: &str,
    tls: bool,
) -> io::Result<Server> {
    let mut server = Server {
        name: name.to_owned(),
        port,
        groups,
        tls,
    };
    ready(site, &mut server, path)?;
    Ok(server)
}

/// nginx, one worker, in the foreground, with `http` (more of the `http { }` block, e.g. an
/// `upstream`) and this `server { }` body; `apps` are the application groups it talks to
/// (counted with it).
pub(crate) fn nginx(
    site: &Site,
    name: &str,
    http: &str,
    body: &str,
    apps: Vec<Group>,
    ready_path: &str,
) -> io::Result<Server> {
    nginx_on(site, name, None, http, body, apps, ready_path)
}

/// The same on a TLS listener (TLS 1.2 and 1.3).
pub(crate) fn nginx_tls(
    site: &Site,
    name: &str,
    tls: &Certificate,
    body: &str,
) -> io::Result<Server> {
    nginx_on(site, name, Some(tls), "", body, Vec::new(), "")
}

fn nginx_on(
    site: &Site,
    name: &str,
    tls: Option<&Certificate>,
    http: &str,
    body: &str,
    apps: Vec<Group>,
    ready_path: &str,
) -> io::Result<Server> {
    let nginx = find(&NGINX)?;
    let port = free_port()?;
    let run = site.path(&format!("run/{name}"));
    fs::create_dir_all(&run)?;
    let run = path_str(&run);
    let config = format!(
        "user root root;\ndaemon off;\nworker_processes 1;\nworker_rlimit_nofile 20000;\n\
         pid {run}/nginx.pid;\nerror_log {run}/error.log;\n\
         events {{ worker_connections 19000; }}\n\
         http {{\n  access_log off;\n  keepalive_requests 1000000;\n\
         client_body_temp_path {run}/body;\n  proxy_temp_path {run}/proxy;\n\
         fastcgi_temp_path {run}/fcgi;\n  uwsgi_temp_path {run}/uwsgi;\n  scgi_temp_path {run}/scgi;\n\
         {http}\n  server {{\n    listen 127.0.0.1:{port} backlog=4096{ssl};\n{body}\n  }}\n}}\n",
        ssl = tls.map_or_else(String::new, |t| format!(
            " ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};\n    ssl_protocols TLSv1.2 TLSv1.3",
            t.cert.display(),
            t.key.display()
        )),
    );
    let file = format!("{run}/nginx.conf");
    fs::write(&file, config)?;
    let mut groups = vec![start(site, name, &nginx, &["-c", &file, "-p", run])?];
    groups.extend(apps);
    serve_as(site, name, port, groups, ready_path, tls.is_some())
}

/// The fastcgi_params nginx users include (Debian's file, inline).
pub(crate) const NGINX_FASTCGI_PARAMS: &str = "
      fastcgi_param QUERY_STRING $query_string;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param CONTENT_TYPE $content_type;
      fastcgi_param CONTENT_LENGTH $content_length;
      fastcgi_param SCRIPT_NAME $fastcgi_script_name;
      fastcgi_param REQUEST_URI $request_uri;
      fastcgi_param DOCUMENT_URI $document_uri;
      fastcgi_param DOCUMENT_ROOT $document_root;
      fastcgi_param SERVER_PROTOCOL $server_protocol;
      fastcgi_param REQUEST_SCHEME $scheme;
      fastcgi_param GATEWAY_INTERFACE CGI/1.1;
      fastcgi_param SERVER_SOFTWARE nginx/$nginx_version;
      fastcgi_param REMOTE_ADDR $remote_addr;
      fastcgi_param REMOTE_PORT $remote_port;
      fastcgi_param SERVER_ADDR $server_addr;
      fastcgi_param SERVER_PORT $server_port;
      fastcgi_param SERVER_NAME $server_name;
      fastcgi_param REDIRECT_STATUS 200;
      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;";

/// lighttpd in the foreground with these settings (document root: the site's `www`).
pub(crate) fn lighttpd(
    site: &Site,
    name: &str,
    settings: &str,
    ready_path: &str,
) -> io::Result<Server> {
    let lighttpd = find(&LIGHTTPD)?;
    let port = free_port()?;
    let config = format!(
        "server.document-root = \"{}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {port}\n\
         server.max-worker = 0\nserver.max-fds = 20000\nserver.max-connections = 19000\n\
         server.errorlog = \"{}\"\n{settings}\n",
        path_str(&site.path("www")),
        path_str(&site.path(&format!("logs/{name}.err"))),
    );
    let file = site.path(&format!("run/{name}.conf"));
    fs::write(&file, config)?;
    let group = start(site, name, &lighttpd, &["-D", "-f", path_str(&file)])?;
    serve(site, name, port, vec![group], ready_path)
}

/// h2o with one thread: `/plaintext` from its mruby handler, everything else from `www`.
pub(crate) fn h2o(site: &Site) -> io::Result<Server> {
    let h2o = find(&H2O)?;
    let port = free_port()?;
    let www = path_str(&site.path("www")).to_owned();
    let mut config = String::new();
    let _ = write!(
        config,
        "user: nobody\nnum-threads: 1\nmax-connections: 19000\n\
         error-log: {}\n\
         listen:\n  host: 127.0.0.1\n  port: {port}\n\
         hosts:\n  default:\n    paths:\n      /plaintext:\n        mruby.handler: |\n\
         \x20         Proc.new do |env|\n\
         \x20           [200, {{\"content-type\" => \"text/plain\"}}, [\"Hello, World!\"]]\n\
         \x20         end\n      /:\n        file.dir: {www}\n",
        path_str(&site.path("logs/h2o.err")),
    );
    let file = site.path("run/h2o.conf");
    fs::write(&file, config)?;
    let group = start(site, "h2o", &h2o, &["-c", path_str(&file)])?;
    serve(site, "h2o", port, vec![group], "/plaintext")
}

/// A php-fpm master with one static pool of `children` on a Unix socket; returns the group
/// and the socket's path once it listens.
pub(crate) fn php_fpm(site: &Site, name: &str, children: usize) -> io::Result<(Group, PathBuf)> {
    let fpm = find(&PHP_FPM)?;
    let sock = site.path(&format!("run/{name}.sock"));
    let config = format!(
        "[global]\nerror_log = {}\ndaemonize = no\npid = {}\n[pool]\nuser = root\ngroup = root\n\
         listen = {}\nlisten.mode = 0666\npm = static\npm.max_children = {children}\n",
        path_str(&site.path(&format!("logs/{name}.fpm"))),
        path_str(&site.path(&format!("run/{name}.pid"))),
        path_str(&sock),
    );
    let file = site.path(&format!("run/{name}.conf"));
    fs::write(&file, config)?;
    let group = start(site, name, &fpm, &["-R", "-F", "-y", path_str(&file)])?;
    wait_socket(&sock)?;
    Ok((group, sock))
}

/// fcgiwrap, one process, on a Unix socket.
pub(crate) fn fcgiwrap(site: &Site) -> io::Result<(Group, PathBuf)> {
    let fcgiwrap = find(&FCGIWRAP)?;
    let sock = site.path("run/fcgiwrap.sock");
    let listen = format!("unix:{}", path_str(&sock));
    let group = start(site, "fcgiwrap", &fcgiwrap, &["-c", "1", "-s", &listen])?;
    wait_socket(&sock)?;
    Ok((group, sock))
}

fn wait_socket(path: &Path) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(path).is_err() {
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "nothing listens on {}",
                path.display()
            )));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}
