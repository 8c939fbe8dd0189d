//! The `cgi` route kind: a child process per request (RFC 3875), through the seam.
//!
//! | step | where |
//! |---|---|
//! | which script, `PATH_INFO`, the environment | cgi-env (`ScriptResolver::resolve_request`, `Environment::build`) |
//! | starting the child: argv, environment, process group, user, limits | `child.rs` |
//! | request body to stdin, with back-pressure both ways | [`CgiExchange::poll_body_room`] |
//! | stdout parsed as it arrives (cgi-env's `ResponseParser`) and streamed out | [`CgiExchange::poll_response`] |
//! | stderr to the error log, line by line, bounded | [`log_stderr`] |
//!
//! A body of unknown length (chunked) is spooled to a temporary file first, so the
//! script gets `CONTENT_LENGTH` (`unknown_length = "spool"`, the default), or refused with
//! 411 (`"refuse"`). Failures answer with their status and an error-log line naming the
//! script: not found 404, not executable 403, cannot start 500, a malformed header 502,
//! past `timeout_ms` 504. When the exchange ends, early (timeout, client gone, error) or
//! once its response is complete (a CGI response ends when stdout closes), whatever is
//! left of the child's process group is killed, background processes included, and the
//! child is reaped (`child.rs`). A script that writes past its own `Content-Length` has the excess
//! dropped (with a log line): never a second response on the wire.

pub(crate) mod child;

use crate::config::{CgiConfig, ConfigError, UnknownLength};
use crate::exchange::{BodyRoom, Exchange, ExchangeError, Request, Started};
use crate::response::ResponseSink;
use crate::route_kinds::gateway::{self, GatewayOutput, Pumped, Spool};
use crate::transport::ConnInfo;
use bytes::{Buf, Bytes};
use cgi_env::{Environment, ScriptResolver};
use child::{ChildProcess, EnvBlock, Launch, Policy, Spawned, Stdin};
use http_proto::{Framing, RequestHead};
use std::collections::VecDeque;
use std::future::Future;

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::unix::pipe;
use tokio::time::Sleep;

/// Request body bytes queued for a child's stdin before the upload is held.
const STDIN_QUEUE: usize = 64 * 1024;
/// Bytes of stdout read at a time.
const STDOUT_CHUNK: usize = 32 * 1024;
/// stderr lines logged per child (longer lines are cut at [`STDERR_LINE`] bytes).
const STDERR_LINES: usize = 100;
const STDERR_LINE: usize = 4096;

/// A compiled `cgi` route.
#[derive(Debug)]
pub(crate) struct CgiRoute {
    resolver: ScriptResolver,
    extra_env: Vec<(Bytes, Bytes)>,
    /// `inherit_env`'s names, and the variables as the child gets them.
    inherited_names: Vec<Vec<u8>>,
    inherited: EnvBlock,
    cwd: Option<PathBuf>,
    timeout: Duration,
    max_processes: usize,
    running: AtomicUsize,
    policy: Policy,
    unknown_length: UnknownLength,
}

impl CgiRoute {
    /// Compiles route `n`'s `cgi` table; `prefix` is the route's path prefix.
    pub(crate) fn new(n: usize, prefix: Option<&str>, c: &CgiConfig) -> Result<Self, ConfigError> {
        let err = |m: String| ConfigError::new(format!("route {n}: cgi: {m}"));
        let prefix = prefix.unwrap_or("/").as_bytes();
        let mut resolver = match (&c.dir, &c.program) {
            (Some(dir), None) => ScriptResolver::directory(prefix, dir)
                .map_err(|e| err(format!("dir `{}`: {e}", dir.display())))?,
            (None, Some(program)) => {
                if !program.is_file() {
                    return Err(err(format!(
                        "program `{}` is not a file",
                        program.display()
                    )));
                }
                ScriptResolver::single_program(prefix, program)
            }
            _ => return Err(err("needs exactly one of `dir` and `program`".to_owned())),
        };
        if let Some(root) = &c.document_root {
            resolver = resolver.with_document_root(root);
        }
        let extra_env = gateway::extra_env(&c.env).map_err(err)?;
        let mut inherited = EnvBlock::default();
        let mut inherited_names = Vec::new();
        for name in &c.inherit_env {
            if let Some(value) = std::env::var_os(name) {
                inherited.push(name.as_bytes(), value.as_bytes());
                inherited_names.push(name.as_bytes().to_vec());
            }
        }
        if c.max_processes == 0 {
            return Err(err("max_processes must be at least 1".to_owned()));
        }
        let policy = Policy::new(c.user.as_deref(), c.group.as_deref(), c.limits).map_err(err)?;
        Ok(Self {
            resolver,
            extra_env,
            inherited_names,
            inherited,
            cwd: c.cwd.clone(),
            timeout: Duration::from_millis(c.timeout_ms),
            max_processes: c.max_processes,
            running: AtomicUsize::new(0),
            policy,
            unknown_length: c.unknown_length,
        })
    }

    /// Starts the exchange for a request: resolves the script, and starts the child at
    /// once, or once a body of unknown length is spooled.
    pub(crate) fn start(&'static self, request: &Request<'_>) -> Box<dyn Exchange> {
        let counters = &request.server.counters.cgi;
        counters.requests.fetch_add(1, Relaxed);
        let fail = |status: u16, message: String| {
            gateway::refuse(request, counters, "cgi", status, &message)
        };
        let head = request.head;
        let script = match self.resolver.resolve_request(head) {
            Ok(script) => script,
            Err(e) => return fail(e.status_code(), e.to_string()),
        };
        let name = script.script_filename.display().to_string();
        let spool = head.framing() == Framing::Chunked;
        if spool && self.unknown_length == UnknownLength::Refuse {
            return fail(411, format!("{name}: a body of unknown length is refused"));
        }
        let Some(slot) = Slot::take(self, Arc::clone(request.server)) else {
            return fail(
                503,
                format!("{name}: max_processes ({}) running", self.max_processes),
            );
        };
        let env = match gateway::environment(request, &script, &self.extra_env) {
            Ok(env) => env,
            Err(e) => return fail(e.status, format!("{name}: {}", e.message)),
        };
        let args = head
            .query()
            .and_then(|q| {
                cgi_env::isindex_words(head.method_bytes(), q, &cgi_env::Limits::default())
            })
            .unwrap_or_default();
        let cwd = self.cwd.clone().unwrap_or_else(|| {
            script
                .script_filename
                .parent()
                .map_or_else(|| PathBuf::from("/"), std::path::Path::to_path_buf)
        });
        let prepared = Prepared {
            nph: script.is_nph(),
            program: script.script_filename,
            args,
            env,
            cwd,
        };
        let mut exchange = CgiExchange {
            route: self,
            head: head.clone(),
            conn: request.conn_info(),
            depth: request.redirect.map_or(0, |r| r.depth),
            name,
            state: State::Starting,
            stdin_queue: VecDeque::new(),
            queued: 0,
            body_done: false,
            deadline: Box::pin(tokio::time::sleep(self.timeout)),
            server: Arc::clone(request.server),
            slot: Some(slot),
        };
        exchange.state = if spool {
            match Spool::new() {
                Ok(spool) => State::Spooling {
                    prepared: Box::new(prepared),
                    spool,
                },
                Err(e) => State::Failed(e),
            }
        } else {
            let stdin = if head.framing().has_body() {
                Stdin::Piped
            } else {
                Stdin::Null
            };
            exchange.launch(prepared, stdin)
        };
        Box::new(exchange)
    }
}

/// A running child counted against its route's `max_processes` and the status page.
struct Slot {
    route: &'static CgiRoute,
    server: Arc<crate::server::Server>,
}

impl Slot {
    fn take(route: &'static CgiRoute, server: Arc<crate::server::Server>) -> Option<Self> {
        if route.running.fetch_add(1, Relaxed) >= route.max_processes {
            route.running.fetch_sub(1, Relaxed);
            return None;
        }
        server.counters.cgi.running.fetch_add(1, Relaxed);
        Some(Self { route, server })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.route.running.fetch_sub(1, Relaxed);
        self.server.counters.cgi.running.fetch_sub(1, Relaxed);
    }
}

/// Everything needed to start the child, kept while a body is spooled.
struct Prepared {
    nph: bool,
    program: PathBuf,
    args: Vec<Vec<u8>>,
    env: Environment,
    cwd: PathBuf,
}

enum State {
    /// Placeholder while the state is being built.
    Starting,
    /// A body of unknown length goes to a temporary file first.
    Spooling {
        prepared: Box<Prepared>,
        spool: Spool,
    },
    /// Being started on the blocking pool.
    Spawning {
        task: tokio::task::JoinHandle<std::io::Result<Spawned>>,
        nph: bool,
    },
    Running(Box<Running>),
    /// The script asked for a local redirect: this exchange answers instead.
    Redirected(Box<Started>),
    /// Could not start; answered with this.
    Failed(ExchangeError),
}

struct Running {
    /// Declared first: dropped first, it kills what is left of the process group.
    child: ChildProcess,
    stdin: Option<pipe::Sender>,
    stdout: pipe::Receiver,
    output: GatewayOutput,
    buf: Box<[u8]>,
}

/// One request's child process.
struct CgiExchange {
    route: &'static CgiRoute,
    /// The request, for a local redirect.
    head: RequestHead,
    conn: ConnInfo,
    /// Local redirects that led to this request.
    depth: u8,
    /// The script, for log lines.
    name: String,
    state: State,
    /// Request body pieces not yet written to stdin.
    stdin_queue: VecDeque<Bytes>,
    queued: usize,
    body_done: bool,
    deadline: Pin<Box<Sleep>>,
    server: Arc<crate::server::Server>,
    /// The process slot, held while a child of this exchange may run.
    slot: Option<Slot>,
}

impl CgiExchange {
    fn launch(&self, prepared: Prepared, stdin: Stdin) -> State {
        let nph = prepared.nph;
        let vars = prepared.env.as_slice();
        let mut env = EnvBlock::with_capacity(
            vars.iter()
                .map(|(k, v)| k.len() + v.len() + 2)
                .sum::<usize>()
                + 64,
        );
        // An inherited variable wins over one of the same name.
        for (name, value) in vars {
            if !self.route.inherited_names.iter().any(|n| n == name) {
                env.push(name, value);
            }
        }
        env.extend(&self.route.inherited);
        let launch = Launch {
            program: prepared.program,
            args: prepared.args,
            env,
            cwd: prepared.cwd,
            stdin,
        };
        // The vfork holds the calling thread until the child has exec'd: off the session's
        // thread, so the other sessions on this worker are served meanwhile (spawning
        // inline measured 0.83x the req/s).
        let policy = self.route.policy.clone();
        let task = tokio::task::spawn_blocking(move || child::spawn(launch, &policy));
        State::Spawning { task, nph }
    }

    /// Moves a spawning child on to running once it has started; `Pending` until then.
    fn advance(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let State::Spawning { task, nph } = &mut self.state else {
            return Poll::Ready(());
        };
        let nph = *nph;
        let spawned = match Pin::new(task).poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Ok(spawned)) => spawned,
            Poll::Ready(Err(e)) => Err(std::io::Error::other(e)),
        };
        self.state = self.started(spawned, nph);
        Poll::Ready(())
    }

    /// The state once `spawn` has returned: running, or failed with its status.
    fn started(&self, spawned: std::io::Result<Spawned>, nph: bool) -> State {
        let pipes = spawned.and_then(|spawned| {
            let stdin = spawned
                .stdin
                .map(pipe::Sender::from_owned_fd_unchecked)
                .transpose()?;
            let stdout = pipe::Receiver::from_owned_fd_unchecked(spawned.stdout)?;
            let stderr = pipe::Receiver::from_owned_fd_unchecked(spawned.stderr)?;
            Ok((spawned.process, stdin, stdout, stderr))
        });
        match pipes {
            Ok((child, stdin, stdout, stderr)) => {
                tokio::spawn(log_stderr(stderr, self.name.clone()));
                State::Running(Box::new(Running {
                    child,
                    stdin,
                    stdout,
                    output: GatewayOutput::new(nph),
                    buf: vec![0; STDOUT_CHUNK].into_boxed_slice(),
                }))
            }
            Err(e) => {
                // The resolver found the script: failing to start it (a missing
                // interpreter is ENOENT too) is the server's 500, unless it may not run.
                let status = match e.kind() {
                    std::io::ErrorKind::PermissionDenied => 403,
                    _ => 500,
                };
                State::Failed(ExchangeError::new(
                    status,
                    format!("cgi {}: cannot start: {e}", self.name),
                ))
            }
        }
    }

    /// Writes queued body bytes to the child's stdin while it takes them; closes stdin
    /// once the body is complete. A child that stopped reading drops the rest.
    fn flush_stdin(&mut self, cx: &mut Context<'_>) {
        let State::Running(running) = &mut self.state else {
            return;
        };
        let Some(stdin) = &mut running.stdin else {
            self.stdin_queue.clear();
            self.queued = 0;
            return;
        };
        while let Some(front) = self.stdin_queue.front_mut() {
            match Pin::new(&mut *stdin).poll_write(cx, front) {
                Poll::Ready(Ok(n)) => {
                    front.advance(n);
                    self.queued -= n;
                    if front.is_empty() {
                        self.stdin_queue.pop_front();
                    }
                }
                Poll::Ready(Err(_)) => {
                    // EPIPE: the script does not read (all of) its input. Not an error.
                    running.stdin = None;
                    self.stdin_queue.clear();
                    self.queued = 0;
                    return;
                }
                Poll::Pending => return,
            }
        }
        if self.body_done {
            running.stdin = None;
        }
    }

    /// RFC 3875 §6.2.2: the script asked for `location` instead; the exchange that
    /// answers it replaces the child.
    fn redirect(&mut self, location: &[u8]) -> Result<(), String> {
        let started =
            gateway::local_redirect(&self.server, &self.head, &self.conn, self.depth, location)?;
        // Dropping the running child kills what is left of its process group, and its
        // slot is free for the exchange that answers now.
        self.state = State::Redirected(Box::new(started));
        self.slot = None;
        Ok(())
    }

    fn fail(&self, status: u16, message: String) -> Poll<Result<(), ExchangeError>> {
        self.server.counters.cgi.errors.fetch_add(1, Relaxed);
        Poll::Ready(Err(ExchangeError::new(status, message)))
    }
}

impl Exchange for CgiExchange {
    fn poll_body_room(&mut self, cx: &mut Context<'_>) -> Poll<BodyRoom> {
        // Body pieces queue while the child starts; `advance` wakes the task once it has.
        let _ = self.advance(cx);
        match &self.state {
            State::Spooling { .. } => return Poll::Ready(BodyRoom::Ready),
            State::Spawning { .. } if self.queued < STDIN_QUEUE => {
                return Poll::Ready(BodyRoom::Ready);
            }
            State::Spawning { .. } => return Poll::Pending,
            State::Running(running) if running.stdin.is_none() => {
                return Poll::Ready(BodyRoom::Refused);
            }
            State::Running(_) => {}
            State::Starting | State::Failed(_) | State::Redirected(_) => {
                return Poll::Ready(BodyRoom::Refused);
            }
        }
        self.flush_stdin(cx);
        match &self.state {
            State::Running(running) if running.stdin.is_none() => Poll::Ready(BodyRoom::Refused),
            _ if self.queued < STDIN_QUEUE => Poll::Ready(BodyRoom::Ready),
            // `flush_stdin` left a wake-up with the pipe.
            _ => Poll::Pending,
        }
    }

    fn body_data(&mut self, data: Bytes) {
        match &mut self.state {
            State::Spooling { spool, .. } => {
                if let Err(e) = spool.write(&data) {
                    self.state = State::Failed(e);
                }
            }
            State::Running(_) | State::Spawning { .. } => {
                self.queued += data.len();
                self.stdin_queue.push_back(data);
            }
            State::Starting | State::Failed(_) | State::Redirected(_) => {}
        }
    }

    fn body_end(&mut self) {
        self.body_done = true;
        if let State::Spooling { .. } = self.state {
            let State::Spooling { prepared, spool } =
                std::mem::replace(&mut self.state, State::Starting)
            else {
                return;
            };
            let mut prepared = *prepared;
            self.state = match spool.finish(&mut prepared.env) {
                Ok(file) => self.launch(prepared, Stdin::File(file)),
                Err(e) => State::Failed(e),
            };
        }
    }

    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.server.counters.cgi.timeouts.fetch_add(1, Relaxed);
            return self.fail(
                504,
                format!(
                    "cgi {}: no complete response within {:?}",
                    self.name, self.route.timeout
                ),
            );
        }
        if self.advance(cx).is_pending() {
            return Poll::Pending;
        }
        self.flush_stdin(cx);
        let running = match &mut self.state {
            State::Running(running) => running,
            State::Redirected(started) => return started.get().poll_response(cx, sink),
            State::Failed(e) => {
                let e = e.clone();
                return self.fail(e.status, e.message.into_owned());
            }
            // The body is still being spooled (or, briefly, the child started).
            State::Starting | State::Spooling { .. } | State::Spawning { .. } => {
                return Poll::Pending;
            }
        };
        loop {
            match running
                .output
                .pump(sink, &gateway::LogName("cgi", &self.name))
            {
                Ok(Pumped::Full) => return Poll::Pending,
                Ok(Pumped::Ended) => {
                    // Reaped now if it has exited: nothing left to kill then.
                    let _ = running.child.try_reap();
                    return Poll::Ready(Ok(()));
                }
                Ok(Pumped::LocalRedirect(location)) => {
                    if let Err(e) = self.redirect(&location) {
                        return self.fail(500, format!("cgi {}: {e}", self.name));
                    }
                    return self.poll_response(cx, sink);
                }
                Ok(Pumped::NeedData) => {}
                Err(e) => return self.fail(e.status, e.message.into_owned()),
            }
            let mut buf = ReadBuf::new(&mut running.buf);
            match Pin::new(&mut running.stdout).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) if buf.filled().is_empty() => running.output.feed_eof(),
                Poll::Ready(Ok(())) => running.output.feed(buf.filled()),
                Poll::Ready(Err(e)) => {
                    return self.fail(502, format!("cgi {}: reading its output: {e}", self.name));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn cancel_on_client_close(&self) -> bool {
        true
    }
}

/// Logs a child's stderr, one error-log line per line with the script's name; at most
/// [`STDERR_LINES`] lines of [`STDERR_LINE`] bytes, then a count of what was left out.
async fn log_stderr(stderr: pipe::Receiver, name: String) {
    use tokio::io::AsyncReadExt;
    let mut stderr = stderr;
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    let mut lines = 0usize;
    let flush = |line: &mut Vec<u8>, lines: &mut usize| {
        *lines += 1;
        if *lines <= STDERR_LINES {
            tracing::warn!(
                "cgi {name}: stderr: {}",
                String::from_utf8_lossy(line).trim_end()
            );
        }
        line.clear();
    };
    loop {
        let n = match stderr.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        for &b in &buf[..n] {
            if b == b'\n' {
                flush(&mut line, &mut lines);
            } else if line.len() < STDERR_LINE {
                line.push(b);
            }
        }
    }
    if !line.is_empty() {
        flush(&mut line, &mut lines);
    }
    if lines > STDERR_LINES {
        tracing::warn!(
            "cgi {name}: stderr: {} more lines not logged",
            lines - STDERR_LINES
        );
    }
}
