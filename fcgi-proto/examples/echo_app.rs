//! `echo_app`: a small FastCGI responder built on [`fcgi_proto::AppConn`],
//! std only (one thread per connection), that answers every request with a
//! CGI response echoing its params and its body.
//!
//! # Usage
//!
//! ```text
//! cargo run -p fcgi-proto --example echo_app -- 127.0.0.1:9000
//! cargo run -p fcgi-proto --example echo_app -- /tmp/echo.sock      # unix socket
//! cargo run -p fcgi-proto --example echo_app -- unix:/tmp/echo.sock # same
//! echo_app                # or `echo_app -`: serve the listening socket on fd 0
//! ```
//!
//! With an address, it prints `listening on ADDR` to stdout once bound, then
//! serves until killed. Without one (or with `-`), fd 0 must be a listening
//! socket, unix or TCP, as a web server or spawn-fcgi passes it
//! (`FCGI_LISTENSOCK_FILENO`, FastCGI spec §2.2); it serves that, printing
//! nothing, so several copies can accept on one socket.
//!
//! It advertises `FCGI_MPXS_CONNS=1`, so a web server may multiplex. Try it with the C library's client:
//!
//! ```text
//! echo -n hello | REQUEST_METHOD=POST CONTENT_LENGTH=5 cgi-fcgi -bind -connect 127.0.0.1:9000
//! ```
//!
//! # Response
//!
//! Responder and Filter requests get:
//!
//! ```text
//! Status: 200 OK
//! Content-Type: text/plain
//! X-Echo-Role: Responder
//! X-Echo-Stdin-Length: <bytes of stdin>
//!
//! <NAME>=<VALUE>            one line per param, in arrival order
//! ...
//!
//! <stdin, byte for byte>    then, for Filter, the data stream
//! ```
//!
//! A param `HTTP_X_ECHO_STDERR` is also written to the error stream, and
//! `HTTP_X_ECHO_STATUS` (a number) becomes the app status in
//! `END_REQUEST`. Authorizer requests get `Status: 200 OK` with an empty body
//! and `Variable-ECHO_AUTHORIZED: yes`. An aborted request ends with app
//! status 1.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::TcpListener;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::thread;

use fcgi_proto::{AppConn, AppEvent, Limits, Role};

/// What one request has sent so far.
#[derive(Default)]
struct Pending {
    role: Option<Role>,
    params: Vec<(Vec<u8>, Vec<u8>)>,
    stdin: Vec<u8>,
    data: Vec<u8>,
    stdin_done: bool,
    data_done: bool,
}

/// Serves one FastCGI connection until the peer closes it or asks us to.
///
/// # Errors
/// Socket errors, and protocol errors as `io::ErrorKind::InvalidData`.
pub fn serve_connection<S: Read + Write>(mut stream: S) -> io::Result<()> {
    let mut conn = AppConn::new(Limits::default());
    let mut requests: HashMap<u16, Pending> = HashMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        conn.feed(&buf[..n]);
        loop {
            let ev = match conn.poll_event() {
                Ok(Some(ev)) => ev,
                Ok(None) => break,
                // Out of sync: nothing more can be understood.
                Err(e) if e.is_fatal() => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                }
                // A broken record: it was dropped; carry on with the rest.
                Err(e) => {
                    eprintln!("echo_app: {e}");
                    continue;
                }
            };
            handle_event(&mut conn, &mut requests, ev, &mut stream)?;
        }
        flush(&mut conn, &mut stream)?;
        if conn.wants_close() {
            return Ok(());
        }
    }
}

fn handle_event<S: Write>(
    conn: &mut AppConn,
    requests: &mut HashMap<u16, Pending>,
    ev: AppEvent,
    stream: &mut S,
) -> io::Result<()> {
    let ready = match ev {
        AppEvent::BeginRequest {
            request_id, role, ..
        } => {
            requests.insert(
                request_id,
                Pending {
                    role: Some(role),
                    data_done: role != Role::Filter,
                    ..Pending::default()
                },
            );
            None
        }
        AppEvent::Params { request_id, params } => {
            if let Some(p) = requests.get_mut(&request_id) {
                p.params.extend(
                    params
                        .into_iter()
                        .map(|p| (p.name.to_vec(), p.value.to_vec())),
                );
            }
            None
        }
        AppEvent::ParamsEnd { .. } => None,
        AppEvent::Stdin { request_id, data } => {
            if let Some(p) = requests.get_mut(&request_id) {
                p.stdin.extend_from_slice(&data);
            }
            None
        }
        AppEvent::StdinEnd { request_id } => {
            if let Some(p) = requests.get_mut(&request_id) {
                p.stdin_done = true;
            }
            Some(request_id)
        }
        AppEvent::Data { request_id, data } => {
            if let Some(p) = requests.get_mut(&request_id) {
                p.data.extend_from_slice(&data);
            }
            None
        }
        AppEvent::DataEnd { request_id } => {
            if let Some(p) = requests.get_mut(&request_id) {
                p.data_done = true;
            }
            Some(request_id)
        }
        AppEvent::AbortRequest { request_id } => {
            requests.remove(&request_id);
            conn.end_request(request_id, 1)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
            None
        }
    };
    let Some(id) = ready else { return Ok(()) };
    if !requests
        .get(&id)
        .is_some_and(|p| p.stdin_done && p.data_done)
    {
        return Ok(());
    }
    let Some(p) = requests.remove(&id) else {
        return Ok(());
    };
    respond(conn, id, &p, stream)
}

fn respond<S: Write>(conn: &mut AppConn, id: u16, p: &Pending, stream: &mut S) -> io::Result<()> {
    let mut status = 0u32;
    let mut body = Vec::new();
    let role = p.role.unwrap_or(Role::Responder);
    if role == Role::Authorizer {
        body.extend_from_slice(b"Status: 200 OK\r\nVariable-ECHO_AUTHORIZED: yes\r\n\r\n");
    } else {
        body.extend_from_slice(b"Status: 200 OK\r\nContent-Type: text/plain\r\n");
        body.extend_from_slice(format!("X-Echo-Role: {role:?}\r\n").as_bytes());
        body.extend_from_slice(
            format!("X-Echo-Stdin-Length: {}\r\n\r\n", p.stdin.len()).as_bytes(),
        );
        for (n, v) in &p.params {
            body.extend_from_slice(n);
            body.push(b'=');
            body.extend_from_slice(v);
            body.push(b'\n');
        }
        body.push(b'\n');
        body.extend_from_slice(&p.stdin);
        body.extend_from_slice(&p.data);
    }
    for (n, v) in &p.params {
        if n == b"HTTP_X_ECHO_STDERR" {
            write_stderr(conn, id, v, stream)?;
        } else if n == b"HTTP_X_ECHO_STATUS" {
            status = std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
    }
    // The body is already ours: hand it over as Bytes, so large chunks reach
    // the socket without another copy.
    let mut body = bytes::Bytes::from(body);
    while !body.is_empty() {
        let took = conn
            .send_stdout_bytes(id, body.clone())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        body = body.slice(took..);
        if !body.is_empty() {
            flush(conn, stream)?;
        }
    }
    conn.end_request(id, status)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    flush(conn, stream)
}

/// Queues `data` on stderr, writing out whenever the connection's send
/// buffer is full: the back-pressure loop.
fn write_stderr<S: Write>(
    conn: &mut AppConn,
    id: u16,
    mut data: &[u8],
    stream: &mut S,
) -> io::Result<()> {
    while !data.is_empty() {
        let took = conn
            .send_stderr(id, data)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        data = &data[took..];
        if took == 0 || !data.is_empty() {
            flush(conn, stream)?;
        }
    }
    Ok(())
}

fn flush<S: Write>(conn: &mut AppConn, stream: &mut S) -> io::Result<()> {
    while let Some(bytes) = conn.poll_transmit() {
        stream.write_all(&bytes)?;
    }
    stream.flush()
}

/// Binds `addr` (`HOST:PORT`, a path, or `unix:PATH`) and serves forever,
/// calling `ready` with the bound address once listening.
///
/// # Errors
/// When binding fails.
pub fn run(addr: &str, ready: impl FnOnce(&str)) -> io::Result<()> {
    let path = addr
        .strip_prefix("unix:")
        .or_else(|| addr.contains('/').then_some(addr));
    if let Some(path) = path {
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path)?;
        ready(path);
        serve_all(listener.incoming())
    } else {
        let listener = TcpListener::bind(addr)?;
        let local = listener.local_addr()?.to_string();
        ready(&local);
        serve_all(listener.incoming())
    }
}

/// Serves the listening socket the process was started with on fd 0
/// (FastCGI spec §2.2), unix or TCP, forever.
///
/// # Errors
/// When fd 0 is not a socket, or accepting fails.
pub fn run_inherited() -> io::Result<()> {
    let fd: OwnedFd = io::stdin().as_fd().try_clone_to_owned()?;
    // getsockname tells the kinds apart: a unix address for a unix socket, an
    // error for anything else (a TCP socket, a pipe, a terminal).
    let unix = UnixListener::from(fd);
    if unix.local_addr().is_ok() {
        return serve_all(unix.incoming());
    }
    let tcp = TcpListener::from(OwnedFd::from(unix));
    if tcp.local_addr().is_ok() {
        return serve_all(tcp.incoming());
    }
    Err(io::Error::new(
        io::ErrorKind::InvalidInput,
        "fd 0 is not a listening socket",
    ))
}

/// Serves every accepted connection on a thread of its own.
fn serve_all<S: Read + Write + Send + 'static>(
    incoming: impl Iterator<Item = io::Result<S>>,
) -> io::Result<()> {
    for stream in incoming {
        let stream = stream?;
        thread::spawn(move || {
            if let Err(e) = serve_connection(stream) {
                eprintln!("echo_app: connection: {e}");
            }
        });
    }
    Ok(())
}

#[allow(dead_code)]
fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "-".to_owned());
    if addr == "-" {
        if let Err(e) = run_inherited() {
            eprintln!("echo_app: {e}");
            eprintln!("usage: echo_app [127.0.0.1:PORT | /path/to.sock | unix:/path/to.sock | -]");
            std::process::exit(2);
        }
        return;
    }
    let result = run(&addr, |bound| {
        println!("listening on {bound}");
        let _ = io::stdout().flush();
    });
    if let Err(e) = result {
        eprintln!("echo_app: {addr}: {e}");
        std::process::exit(1);
    }
}
