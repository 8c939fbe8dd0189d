//! Starting the real `refserver` binary on an ephemeral loopback port, and talking to it.
#![allow(dead_code, unreachable_pub)]

pub mod fcgi_app;
pub mod git;
pub mod php_fpm;
pub mod procs;
pub mod redis;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running server; killed (SIGKILL) and reaped when dropped.
pub struct Server {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub stdout: Arc<Mutex<String>>,
    pub dir: PathBuf,
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("refserver-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The demo site's directory.
pub fn demo_site() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("site/public")
}

impl Server {
    /// Starts the server with this configuration text (its `listen` is replaced by an
    /// ephemeral loopback port), or the demo site when `None`.
    pub fn start(name: &str, config: Option<&str>, extra: &[&str]) -> Self {
        Self::start_limited(name, config, extra, None)
    }

    /// Like [`start`](Self::start), with the open-files limit set to `nofile` (via `sh -c
    /// 'ulimit -n N; exec ...'`).
    pub fn start_limited(
        name: &str,
        config: Option<&str>,
        extra: &[&str],
        nofile: Option<u32>,
    ) -> Self {
        let dir = temp_dir(name);
        let mut cmd = match nofile {
            None => Command::new(env!("CARGO_BIN_EXE_refserver")),
            Some(n) => {
                let mut c = Command::new("sh");
                c.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\"")])
                    .arg(env!("CARGO_BIN_EXE_refserver"));
                c
            }
        };
        cmd.env("RUST_LOG", "warn");
        Self::run(cmd, dir, config, extra, Stdio::inherit())
    }

    /// Starts `cmd` (the binary, or a shell that execs it) with the configuration and
    /// flags, and waits for its `listening on` line; stdout is kept draining.
    fn run(
        mut cmd: Command,
        dir: PathBuf,
        config: Option<&str>,
        extra: &[&str],
        stderr: Stdio,
    ) -> Self {
        if let Some(text) = config {
            let path = dir.join("refserver.toml");
            std::fs::write(&path, text).unwrap();
            cmd.arg("--config").arg(&path);
        }
        cmd.args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("spawn refserver");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let captured = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&captured);
        // Keep draining stdout (the access log goes there) so the server never blocks on it.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let mut sent = false;
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if !sent && let Some(rest) = line.trim().strip_prefix("listening on http://") {
                    let _ = tx.send(rest.trim_end_matches('/').to_owned());
                    sent = true;
                }
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(20)) else {
            let log = std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not print `listening on http://ADDR/`; its log:\n{log}");
        };
        Self {
            child: Some(child),
            addr: addr.parse().unwrap(),
            stdout: captured,
            dir,
        }
    }

    /// Every `listening on` line printed so far.
    pub fn listening_lines(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("listening on "))
            .map(str::to_owned)
            .collect()
    }

    /// User plus system CPU time of the server process so far.
    pub fn cpu_time(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        // Fields 14 and 15 of /proc/PID/stat (utime, stime), counted from after the name.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_millis(ticks * 10)
    }

    /// Resident memory of the server process now, in KiB (`VmRSS` from /proc).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.set_nodelay(true).unwrap();
        s
    }

    /// Sends SIGTERM with the `kill` command.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit (bounded), returning its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let child = self.child.as_mut().unwrap();
        let until = Instant::now() + limit;
        while Instant::now() < until {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("refserver did not exit within {limit:?}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One parsed response.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads a response head byte by byte (nothing of the body), as text.
pub fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = s.read(&mut byte).expect("read head");
        assert!(
            n == 1,
            "connection closed mid-head after {:?}",
            String::from_utf8_lossy(&head)
        );
        head.push(byte[0]);
    }
    String::from_utf8(head).unwrap()
}

/// Reads one response from `s` (Content-Length bodies; `head_only` for HEAD requests).
pub fn read_response(s: &mut TcpStream, head_only: bool) -> Resp {
    let head = read_head(s);
    let status = head[9..12].parse().unwrap();
    let mut resp = Resp {
        status,
        head,
        body: Vec::new(),
    };
    let len: usize = resp
        .header("content-length")
        .map_or(0, |v| v.parse().unwrap());
    if !head_only && status != 304 && status != 204 && !(100..200).contains(&status) {
        resp.body = vec![0; len];
        s.read_exact(&mut resp.body).expect("read body");
    }
    resp
}

/// Whether the server closed `s`: a read gives EOF (or reset) within the read timeout.
pub fn is_closed(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 64];
    matches!(s.read(&mut buf), Ok(0) | Err(_)) && !matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// Sends `raw` on a new connection and reads one response.
pub fn exchange(server: &Server, raw: &[u8]) -> (Resp, TcpStream) {
    let mut s = server.connect();
    s.write_all(raw).unwrap();
    let r = read_response(&mut s, false);
    (r, s)
}

/// `curl` with a time bound; `None` (after printing SKIP) when curl is missing, unless
/// `CI=true`, where a missing curl fails the test.
pub fn curl(args: &[&str]) -> Option<std::process::Output> {
    match Command::new("curl")
        .args(["--max-time", "10", "-sS"])
        .args(args)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "curl is required in CI: {e}"
            );
            eprintln!("SKIP: curl not found ({e})");
            None
        }
    }
}

impl Server {
    /// Like [`start`](Self::start), with `env` added to the server's environment and its
    /// stderr (the error log) written to a file, read back with
    /// [`stderr_log`](Self::stderr_log).
    pub fn start_with_env(
        name: &str,
        config: Option<&str>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let dir = temp_dir(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_refserver"));
        cmd.env("RUST_LOG", "warn").envs(env.iter().copied());
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        Self::run(cmd, dir, config, extra, stderr.into())
    }

    /// What the server wrote to stderr so far (only for [`start_with_env`](Self::start_with_env)).
    pub fn stderr_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }
}

/// Reads one response from `s` whatever its framing: `Content-Length`, chunked (the body
/// is de-chunked, trailers dropped) or, with neither, up to the end of the connection.
/// `head_only` for HEAD requests (and then no body bytes are read).
pub fn read_whole_response(s: &mut TcpStream, head_only: bool) -> Resp {
    let mut reader = BufReader::new(s);
    let mut head = String::new();
    while !head.ends_with("\r\n\r\n") {
        let n = reader.read_line(&mut head).expect("read head");
        assert!(n > 0, "connection closed mid-head after {head:?}");
    }
    let status = head[9..12].parse().unwrap();
    let mut resp = Resp {
        status,
        head,
        body: Vec::new(),
    };
    if head_only || status == 304 || status == 204 || (100..200).contains(&status) {
        assert!(reader.buffer().is_empty(), "bytes after a bodiless head");
        return resp;
    }
    let chunked = resp
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        loop {
            let mut size_line = String::new();
            reader.read_line(&mut size_line).expect("read chunk size");
            let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap(), 16)
                .unwrap_or_else(|_| panic!("bad chunk size line {size_line:?}"));
            if size == 0 {
                let mut trailer = String::new();
                while trailer != "\r\n" {
                    trailer.clear();
                    assert!(reader.read_line(&mut trailer).expect("read trailer") > 0);
                }
                break;
            }
            let start = resp.body.len();
            resp.body.resize(start + size, 0);
            reader
                .read_exact(&mut resp.body[start..])
                .expect("read chunk");
            let mut crlf = [0u8; 2];
            reader.read_exact(&mut crlf).expect("read chunk end");
            assert_eq!(&crlf, b"\r\n", "chunk not followed by CRLF");
        }
    } else if let Some(len) = resp.header("content-length") {
        resp.body = vec![0; len.parse().unwrap()];
        reader.read_exact(&mut resp.body).expect("read body");
    } else {
        reader.read_to_end(&mut resp.body).expect("read to close");
    }
    assert!(
        reader.buffer().is_empty(),
        "bytes after the response: {:?}",
        String::from_utf8_lossy(reader.buffer())
    );
    resp
}

/// Whether `program` runs; otherwise prints SKIP (or fails, under `CI=true`).
pub fn have(program: &str) -> bool {
    match Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(_) => true,
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{program} is required in CI: {e}"
            );
            eprintln!("SKIP: {program} not found ({e})");
            false
        }
    }
}

/// Polls `done` every 20 ms until it holds or `limit` passes; returns whether it held.
pub fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A temporary directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        Self(temp_dir(name))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A deterministic, incompressible body of `len` bytes.
pub fn body_of(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Runs `cmd`, killing it past `limit`; panics with its output unless it succeeds.
pub fn run_bounded(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let until = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    let Some(status) = status else {
        panic!(
            "{cmd:?} did not finish within {limit:?}; stderr: {}",
            String::from_utf8_lossy(&stderr)
        );
    };
    assert!(
        status.success(),
        "{cmd:?}: {status}; stderr: {}",
        String::from_utf8_lossy(&stderr)
    );
    Output {
        status,
        stdout,
        stderr,
    }
}

impl Server {
    /// Starts `program` (an example that embeds the library, say) with `extra` flags and
    /// `--listen 127.0.0.1:0`, its stderr written to a file ([`stderr_log`](Self::stderr_log)).
    pub fn start_program(name: &str, program: &Path, extra: &[&str]) -> Self {
        Self::start_program_with_config(name, program, None, extra)
    }

    /// Like [`start_program`](Self::start_program), with `--config` naming a file of
    /// this text (its `listen` overridden by `--listen 127.0.0.1:0`).
    pub fn start_program_with_config(
        name: &str,
        program: &Path,
        config: Option<&str>,
        extra: &[&str],
    ) -> Self {
        let dir = temp_dir(name);
        let mut cmd = Command::new(program);
        cmd.env("RUST_LOG", "warn");
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        Self::run(cmd, dir, config, extra, stderr.into())
    }
}

impl Server {
    /// Starts the server with `config` as written (its own `listen`, no `--listen`
    /// override: TLS listeners, several addresses) and waits for `listeners` `listening on`
    /// lines; `addr` is the first. Its stderr (at `info`) goes to
    /// [`stderr_log`](Self::stderr_log).
    pub fn start_own_listen(name: &str, config: &str, listeners: usize) -> Self {
        let dir = temp_dir(name);
        let path = dir.join("refserver.toml");
        std::fs::write(&path, config).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_refserver"))
            .env("RUST_LOG", "info")
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn refserver");
        let stdout = child.stdout.take().unwrap();
        let captured = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&captured);
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut server = Self {
            child: Some(child),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            stdout: captured,
            dir,
        };
        let up = eventually(Duration::from_secs(20), || {
            server.listening_lines().len() >= listeners
        });
        assert!(
            up,
            "the server did not print {listeners} `listening on` lines; its log:\n{}",
            server.stderr_log()
        );
        server.addr = server.listening_addrs()[0];
        server
    }

    /// The addresses of the `listening on http://ADDR/` and `https://ADDR/` lines.
    pub fn listening_addrs(&self) -> Vec<SocketAddr> {
        self.listening_lines()
            .iter()
            .filter_map(|l| {
                let rest = l.strip_prefix("listening on ")?;
                let rest = rest
                    .strip_prefix("https://")
                    .or_else(|| rest.strip_prefix("http://"))?;
                rest.trim_end_matches('/').parse().ok()
            })
            .collect()
    }
}

/// The `embedded` example's binary, built by `cargo test` with the other targets (built
/// here when a single test target was asked for).
pub fn embedded_example() -> PathBuf {
    static PATH: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        // target/<profile>/deps/TEST-HASH -> target/<profile>/examples/embedded
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let path = profile_dir.join("examples/embedded");
        if !path.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-p", "refserver", "--example", "embedded"]);
            if profile_dir.ends_with("release") {
                cmd.arg("--release");
            }
            assert!(cmd.status().unwrap().success(), "building the example");
        }
        path
    })
    .clone()
}
