//! A FastCGI application the tests control, on fcgi-proto's `AppConn`: one thread per
//! connection on a Unix socket, answering by `PATH_INFO`, and counting what it saw
//! (connections, requests in flight on one connection, aborts).
//!
//! | `PATH_INFO` | answer |
//! |---|---|
//! | `/hello` | `hello` |
//! | `/body` | the request body's length and a checksum |
//! | `/gather/N` | waits (up to 3 s) until N such requests are open on its connection, then answers each `gathered K` |
//! | `/slow/MS` | waits MS milliseconds (its connection's thread with it), then `slow` |
//! | `/die` | a head and part of a body, then the connection is closed |
//! | `/overloaded` | `END_REQUEST` with `FCGI_OVERLOADED` |
//! | `/stderr` | a line on STDERR, then `logged` |
//! | `/big/N` | N bytes of body, written as the server takes them |
//! | `/hang` | nothing until it is aborted |

use bytes::{Bytes, BytesMut};
use fcgi_proto::record::{EndRequestBody, RecordType, encode_record};
use fcgi_proto::{AppConn, AppEvent, Limits, ProtocolStatus};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the application saw.
#[derive(Debug, Default)]
pub struct AppStats {
    pub connections: AtomicUsize,
    pub requests: AtomicUsize,
    /// Most requests open at once on one connection.
    pub max_in_flight: AtomicUsize,
    pub aborts: AtomicUsize,
}

/// A running test application; stops accepting when dropped.
pub struct TestApp {
    pub socket: PathBuf,
    pub stats: Arc<AppStats>,
    stop: Arc<AtomicBool>,
    /// Open connections, so a test can cut them all (the application "crashes").
    streams: Arc<Mutex<Vec<UnixStream>>>,
}

impl TestApp {
    /// Listens on `dir/app.sock`; `mpxs` is what it answers for `FCGI_MPXS_CONNS`.
    pub fn start(dir: &Path, mpxs: bool) -> Self {
        let socket = dir.join("app.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stats = Arc::new(AppStats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let streams = Arc::new(Mutex::new(Vec::new()));
        let (s, st, ss) = (stats.clone(), stop.clone(), streams.clone());
        std::thread::spawn(move || {
            while !st.load(SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        s.connections.fetch_add(1, SeqCst);
                        ss.lock().unwrap().push(stream.try_clone().unwrap());
                        let s = s.clone();
                        std::thread::spawn(move || {
                            let _ = serve(stream, mpxs, &s);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Self {
            socket,
            stats,
            stop,
            streams,
        }
    }

    /// Closes every connection it has (as if it had crashed), keeps listening.
    pub fn cut_connections(&self) {
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
        self.cut_connections();
        let _ = std::fs::remove_file(&self.socket);
    }
}

#[derive(Default)]
struct Open {
    path: String,
    stdin: Vec<u8>,
    ready: bool,
    since: Option<Instant>,
}

fn serve(mut stream: UnixStream, mpxs: bool, stats: &AppStats) -> io::Result<()> {
    let limits = if mpxs {
        Limits::default()
    } else {
        Limits::default().with_max_concurrent_requests(1)
    };
    let mut conn = AppConn::new(limits);
    let mut open: HashMap<u16, Open> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    stream.set_read_timeout(Some(Duration::from_millis(20)))?;
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => conn.feed(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
        while let Some(ev) = conn.poll_event().map_err(io::Error::other)? {
            match ev {
                AppEvent::BeginRequest { request_id, .. } => {
                    stats.requests.fetch_add(1, SeqCst);
                    open.insert(request_id, Open::default());
                    stats.max_in_flight.fetch_max(open.len(), SeqCst);
                }
                AppEvent::Params { request_id, params } => {
                    if let Some(o) = open.get_mut(&request_id) {
                        for p in params {
                            if &p.name[..] == b"PATH_INFO" {
                                o.path = String::from_utf8_lossy(&p.value).into_owned();
                            }
                        }
                    }
                }
                AppEvent::Stdin { request_id, data } => {
                    if let Some(o) = open.get_mut(&request_id) {
                        o.stdin.extend_from_slice(&data);
                    }
                }
                AppEvent::StdinEnd { request_id } => {
                    if let Some(o) = open.get_mut(&request_id) {
                        o.ready = true;
                        o.since = Some(Instant::now());
                    }
                }
                AppEvent::AbortRequest { request_id } => {
                    stats.aborts.fetch_add(1, SeqCst);
                    open.remove(&request_id);
                    conn.end_request(request_id, 1).map_err(io::Error::other)?;
                }
                _ => {}
            }
        }
        let gathering = open
            .values()
            .filter(|o| o.ready && o.path.starts_with("/gather/"))
            .count();
        let ready: Vec<u16> = open
            .iter()
            .filter(|(_, o)| o.ready)
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            let o = &open[&id];
            if let Some(n) = o.path.strip_prefix("/gather/") {
                let want: usize = n.parse().unwrap_or(1);
                let waited = o
                    .since
                    .is_some_and(|t| t.elapsed() > Duration::from_secs(3));
                if gathering < want && !waited {
                    continue;
                }
            }
            let o = open.remove(&id).unwrap();
            if answer(&mut conn, &mut stream, id, &o, gathering)? {
                return Ok(());
            }
        }
        flush(&mut conn, &mut stream)?;
        if conn.wants_close() {
            return Ok(());
        }
    }
}

/// Answers one request; `Ok(true)` when the connection must close now.
fn answer(
    conn: &mut AppConn,
    stream: &mut UnixStream,
    id: u16,
    o: &Open,
    gathered: usize,
) -> io::Result<bool> {
    let text = |conn: &mut AppConn, body: &str| {
        let out = format!("Content-Type: text/plain\r\n\r\n{body}");
        conn.send_stdout(id, out.as_bytes()).map(|_| ())
    };
    let path = o.path.as_str();
    match path {
        "/hang" => return Ok(false),
        "/die" => {
            conn.send_stdout(id, b"Content-Type: text/plain\r\n\r\npartial")
                .map_err(io::Error::other)?;
            flush(conn, stream)?;
            let _ = stream.shutdown(std::net::Shutdown::Both);
            return Ok(true);
        }
        "/overloaded" => {
            flush(conn, stream)?;
            let mut out = BytesMut::new();
            let body = EndRequestBody {
                app_status: 0,
                protocol_status: ProtocolStatus::Overloaded,
            }
            .encode();
            encode_record(&mut out, RecordType::EndRequest, id, &body).map_err(io::Error::other)?;
            stream.write_all(&out)?;
            return Ok(false);
        }
        "/stderr" => {
            conn.send_stderr(id, b"a line from the application\n")
                .map_err(io::Error::other)?;
            text(conn, "logged").map_err(io::Error::other)?;
        }
        "/body" => {
            let sum: u64 = o.stdin.iter().map(|&b| u64::from(b)).sum();
            text(conn, &format!("{} {sum}", o.stdin.len())).map_err(io::Error::other)?;
        }
        _ if path.starts_with("/slow/") => {
            let ms = path[6..].parse().unwrap_or(0);
            std::thread::sleep(Duration::from_millis(ms));
            text(conn, "slow").map_err(io::Error::other)?;
        }
        _ if path.starts_with("/gather/") => {
            text(conn, &format!("gathered {gathered}")).map_err(io::Error::other)?;
        }
        _ if path.starts_with("/big/") => {
            let mut left: usize = path[5..].parse().unwrap_or(0);
            let head =
                format!("Content-Type: application/octet-stream\r\nContent-Length: {left}\r\n\r\n");
            conn.send_stdout(id, head.as_bytes())
                .map_err(io::Error::other)?;
            let chunk = Bytes::from(vec![b'x'; 32 * 1024]);
            while left > 0 {
                let piece = chunk.slice(..left.min(chunk.len()));
                let took = conn
                    .send_stdout_bytes(id, piece)
                    .map_err(io::Error::other)?;
                left -= took;
                flush(conn, stream)?;
            }
        }
        _ => text(conn, "hello").map_err(io::Error::other)?,
    }
    conn.end_request(id, 0).map_err(io::Error::other)?;
    Ok(false)
}

fn flush(conn: &mut AppConn, stream: &mut UnixStream) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    Ok(())
}
