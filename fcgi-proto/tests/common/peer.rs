//! Real-peer harness: find a peer binary (or skip), temp dirs, child guards,
//! and a non-blocking driver that runs requests through a [`ServerConn`] over
//! a real socket.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fcgi_proto::{ProtocolStatus, Role, ServerConn, ServerEvent};

/// The first of `candidates` that exists. When none does: with `CI=true`
/// this panics; otherwise it prints `SKIP: <peer> not installed` and the
/// caller returns.
pub fn find_peer(peer: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = candidates.iter().map(PathBuf::from).find(|p| p.is_file()) {
        return Some(p);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{peer} not installed (looked for {candidates:?}) and CI=true"
    );
    eprintln!("SKIP: {peer} not installed");
    None
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "fcgi-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Kills and reaps the child (and, when it leads a process group, the group)
/// on drop, so no peer outlives its test.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until `connect` succeeds, or panics after `timeout`.
pub fn wait_until<T>(timeout: Duration, mut connect: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + timeout;
    loop {
        if let Some(t) = connect() {
            return t;
        }
        assert!(
            Instant::now() < end,
            "peer did not come up within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A socket the driver can make non-blocking.
pub trait Sock: Read + Write {
    fn nonblocking(&self);
}

impl Sock for TcpStream {
    fn nonblocking(&self) {
        self.set_nonblocking(true).expect("set_nonblocking");
    }
}

impl Sock for UnixStream {
    fn nonblocking(&self) {
        self.set_nonblocking(true).expect("set_nonblocking");
    }
}

/// One request to run.
#[derive(Clone, Debug)]
pub struct Req {
    pub role: Role,
    pub params: Vec<(String, String)>,
    pub stdin: Vec<u8>,
    pub data: Vec<u8>,
}

impl Req {
    pub fn responder(params: &[(&str, &str)], stdin: &[u8]) -> Self {
        Self {
            role: Role::Responder,
            params: params
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
            stdin: stdin.to_vec(),
            data: Vec::new(),
        }
    }
}

/// What came back for one request.
#[derive(Debug, Default)]
pub struct Reply {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub app_status: u32,
    pub protocol_status: Option<ProtocolStatus>,
}

impl Reply {
    /// The stdout split at the blank line: (headers, body).
    pub fn split(&self) -> (String, &[u8]) {
        let pos = self
            .stdout
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|p| (p, p + 4))
            .or_else(|| {
                self.stdout
                    .windows(2)
                    .position(|w| w == b"\n\n")
                    .map(|p| (p, p + 2))
            })
            .unwrap_or_else(|| {
                panic!(
                    "no header end in {:?}",
                    String::from_utf8_lossy(&self.stdout)
                )
            });
        (
            String::from_utf8_lossy(&self.stdout[..pos.0]).into_owned(),
            &self.stdout[pos.1..],
        )
    }
}

struct InFlight {
    index: usize,
    stdin_sent: usize,
    data_sent: usize,
    stdin_done: bool,
    data_done: bool,
}

/// Runs `reqs` over `sock` with `conn` (as many at once as the connection
/// allows), with non-blocking I/O so neither side can deadlock on a full
/// socket buffer; panics after `timeout`. Replies come back in `reqs` order.
pub fn run_requests<S: Sock>(
    mut sock: S,
    conn: &mut ServerConn,
    reqs: &[Req],
    keep_conn: bool,
    timeout: Duration,
) -> Vec<Reply> {
    sock.nonblocking();
    let deadline = Instant::now() + timeout;
    let mut replies: Vec<Reply> = reqs.iter().map(|_| Reply::default()).collect();
    let mut next = 0;
    let mut done = 0;
    let mut inflight: std::collections::HashMap<u16, InFlight> = Default::default();
    let mut outbuf: Vec<u8> = Vec::new();
    let mut readbuf = vec![0u8; 64 * 1024];
    let mut eof = false;
    while done < reqs.len() {
        assert!(
            Instant::now() < deadline,
            "requests did not finish within {timeout:?}"
        );
        let mut progress = false;
        while next < reqs.len() && conn.can_begin_request() {
            let r = &reqs[next];
            let id = conn.begin_request(r.role, keep_conn).expect("begin");
            conn.send_params(
                id,
                r.params.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())),
            )
            .expect("params");
            conn.end_params(id).expect("end params");
            inflight.insert(
                id,
                InFlight {
                    index: next,
                    stdin_sent: 0,
                    data_sent: 0,
                    stdin_done: false,
                    data_done: r.role != Role::Filter,
                },
            );
            next += 1;
            progress = true;
        }
        for (&id, f) in &mut inflight {
            let r = &reqs[f.index];
            if !f.stdin_done {
                let rest = &r.stdin[f.stdin_sent..];
                // Even requests use the zero-copy path, odd ones the copying one.
                f.stdin_sent += if f.index % 2 == 0 {
                    conn.send_stdin_bytes(id, bytes::Bytes::copy_from_slice(rest))
                } else {
                    conn.send_stdin(id, rest)
                }
                .expect("stdin");
                if f.stdin_sent == r.stdin.len() {
                    conn.end_stdin(id).expect("end stdin");
                    f.stdin_done = true;
                }
            }
            if f.stdin_done && !f.data_done {
                f.data_sent += conn.send_data(id, &r.data[f.data_sent..]).expect("data");
                if f.data_sent == r.data.len() {
                    conn.end_data(id).expect("end data");
                    f.data_done = true;
                }
            }
        }
        while let Some(b) = conn.poll_transmit() {
            outbuf.extend_from_slice(&b);
        }
        if !outbuf.is_empty() {
            match sock.write(&outbuf) {
                Ok(n) => {
                    outbuf.drain(..n);
                    progress |= n > 0;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("write: {e}"),
            }
        }
        if !eof {
            match sock.read(&mut readbuf) {
                Ok(0) => eof = true,
                Ok(n) => {
                    conn.feed(&readbuf[..n]);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        while let Some(ev) = conn.poll_event().expect("protocol error from peer") {
            match ev {
                ServerEvent::Stdout { request_id, data } => {
                    replies[inflight[&request_id].index]
                        .stdout
                        .extend_from_slice(&data);
                }
                ServerEvent::Stderr { request_id, data } => {
                    replies[inflight[&request_id].index]
                        .stderr
                        .extend_from_slice(&data);
                }
                ServerEvent::EndRequest {
                    request_id,
                    app_status,
                    protocol_status,
                } => {
                    let f = inflight.remove(&request_id).expect("known request");
                    replies[f.index].app_status = app_status;
                    replies[f.index].protocol_status = Some(protocol_status);
                    done += 1;
                }
                other => panic!("unexpected event {other:?}"),
            }
        }
        if eof && done < reqs.len() {
            panic!(
                "peer closed the connection with {} requests unfinished",
                reqs.len() - done
            );
        }
        if !progress {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    replies
}

/// Spawns `cmd` as the leader of a new process group, so the guard can end
/// the peer together with any workers it forked.
pub fn spawn_group(cmd: &mut std::process::Command) -> GroupGuard {
    use std::os::unix::process::CommandExt;
    let child = cmd
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    GroupGuard(child)
}

/// Ends a process group on drop: SIGTERM (so a master such as php-fpm stops
/// its workers), a short grace period, then SIGKILL, and reaps the leader.
pub struct GroupGuard(pub Child);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let signal = |sig: &str| {
            let _ = std::process::Command::new("kill")
                .args([sig, "--", &group])
                .stderr(std::process::Stdio::null())
                .status();
        };
        signal("-TERM");
        let end = Instant::now() + Duration::from_secs(2);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.0.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal("-KILL");
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether this process runs as root (php-fpm then needs `-R` and a pool user).
pub fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// A body of `len` bytes with a recognisable, non-repeating-at-8 pattern.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[i % 36])
        .collect()
}
