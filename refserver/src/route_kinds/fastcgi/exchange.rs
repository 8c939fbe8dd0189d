//! One request to a FastCGI application: find a connection (retrying another upstream
//! while nothing was sent), stream the body to `STDIN`, parse `STDOUT` as a CGI response
//! and stream it out, and answer each failure with its status and a log line.
//!
//! | failure | answer |
//! |---|---|
//! | every upstream refused or is down | 502 |
//! | no connection, or no response, within the timeouts | 504 (a cut response once the head went out) |
//! | `FCGI_OVERLOADED` | 503 |
//! | a malformed head, `FCGI_UNKNOWN_ROLE`, a connection lost before the head | 502 |
//! | a connection lost after the head | the client's connection is closed: never a short response that looks complete |
//! | the client goes away | `ABORT_REQUEST` (in `Drop`) |

use super::FastCgiRoute;
use super::conn::{Conn, Received};
use super::sticky::StickyChoice;
use super::upstream::{Unreachable, Upstream};
use crate::exchange::{BodyRoom, Exchange, ExchangeError, Request, Started};
use crate::response::ResponseSink;
use crate::route_kinds::gateway::{self, GatewayOutput, Pumped, Spool};
use crate::server::Server;
use crate::transport::ConnInfo;
use bytes::{Bytes, BytesMut};
use cgi_env::Environment;
use fcgi_proto::ProtocolStatus;
use fcgi_proto::params::EncodedParams;
use http_proto::{Framing, RequestHead};
use session_core::visitor::SessionId;
use std::collections::VecDeque;
use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use tokio::time::{Instant, Sleep};

/// Request body bytes queued before the upload is held.
const STDIN_QUEUE: usize = 64 * 1024;
/// Bytes of a spooled body read at a time.
const SPOOL_CHUNK: usize = 64 * 1024;

type Connecting = Pin<Box<dyn Future<Output = Result<(Arc<Conn>, u64), Unreachable>> + Send>>;
type Choosing = Pin<Box<dyn Future<Output = StickyChoice> + Send>>;

enum State {
    /// A sticky route asks the visitor store which upstream first (then spools or
    /// connects).
    Choosing(Choosing),
    /// A body of unknown length goes to a temporary file first.
    Spooling(Spool),
    /// Waiting for a connection to `upstreams[tried - 1]`.
    Connecting(Connecting),
    Running {
        conn: Arc<Conn>,
        ticket: u64,
        output: Box<GatewayOutput>,
        /// `END_REQUEST` or the end of the response came.
        finished: bool,
    },
    /// The application asked for a local redirect: this exchange answers instead.
    Redirected(Box<Started>),
    Done,
    Failed(ExchangeError),
}

/// A request counted as in flight on an upstream (least-busy balancing, status page).
struct Busy {
    upstream: Arc<Upstream>,
    server: Arc<Server>,
}

impl Busy {
    fn new(upstream: Arc<Upstream>, server: Arc<Server>) -> Self {
        upstream.stats.active.fetch_add(1, Relaxed);
        upstream.stats.requests.fetch_add(1, Relaxed);
        server.counters.fastcgi.running.fetch_add(1, Relaxed);
        Self { upstream, server }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.upstream.stats.active.fetch_sub(1, Relaxed);
        self.server.counters.fastcgi.running.fetch_sub(1, Relaxed);
    }
}

pub(crate) struct FastCgiExchange {
    route: &'static FastCgiRoute,
    head: RequestHead,
    conn: ConnInfo,
    depth: u8,
    /// The script, for log lines.
    name: Arc<str>,
    /// The params, once complete (a spooled body adds `CONTENT_LENGTH` at its end).
    env: Option<Environment>,
    params: Option<EncodedParams>,
    /// Upstreams in the order to try them; how many have been tried.
    upstreams: Vec<Arc<Upstream>>,
    tried: usize,
    /// A lost keep-alive connection may be retried once on the same upstream.
    retried_stale: bool,
    busy: Option<Busy>,
    state: State,
    stdin_queue: VecDeque<Bytes>,
    queued: usize,
    /// The whole body is in `stdin_queue` (or in `spool`).
    body_done: bool,
    stdin_ended: bool,
    /// A spooled body, read into `stdin_queue` as the application takes it.
    spool: Option<std::fs::File>,
    deadline: Pin<Box<Sleep>>,
    server: Arc<Server>,
    /// The sticky visitor's session and the upstream the store keeps it on, once chosen.
    kept: Option<(SessionId, String)>,
    /// The cookie to set on the response: a sticky visitor's new id.
    set_cookie: Option<String>,
}

impl FastCgiExchange {
    pub(super) fn new(
        route: &'static FastCgiRoute,
        request: &Request<'_>,
        upstreams: Vec<Arc<Upstream>>,
        name: String,
        env: Environment,
        sticky: Option<(&'static str, Option<SessionId>)>,
    ) -> Self {
        let head = request.head;
        let mut exchange = Self {
            route,
            head: head.clone(),
            conn: request.conn_info(),
            depth: request.redirect.map_or(0, |r| r.depth),
            name: Arc::from(name),
            env: Some(env),
            params: None,
            upstreams,
            tried: 0,
            retried_stale: false,
            busy: None,
            state: State::Done,
            stdin_queue: VecDeque::new(),
            queued: 0,
            body_done: !head.framing().has_body(),
            stdin_ended: false,
            spool: None,
            deadline: Box::pin(tokio::time::sleep(route.read_timeout)),
            server: Arc::clone(request.server),
            kept: None,
            set_cookie: None,
        };
        exchange.state = match sticky {
            Some((cookie, presented)) => {
                let server = Arc::clone(request.server);
                let candidates: Vec<(String, bool)> = exchange
                    .upstreams
                    .iter()
                    .map(|u| (u.name.clone(), u.is_down()))
                    .collect();
                State::Choosing(Box::pin(async move {
                    server
                        .fastcgi
                        .sticky
                        .choose(presented, &candidates, cookie)
                        .await
                }))
            }
            None => exchange.begin(),
        };
        exchange
    }

    /// Spools a body of unknown length, or connects.
    fn begin(&mut self) -> State {
        if self.head.framing() == Framing::Chunked {
            match Spool::new() {
                Ok(spool) => State::Spooling(spool),
                Err(e) => State::Failed(e),
            }
        } else {
            self.connect_next()
        }
    }

    /// The sticky choice is made: its upstream goes first, then the request begins.
    fn chosen(&mut self, choice: StickyChoice) -> State {
        if let Some(upstream) = &choice.upstream
            && let Some(i) = self
                .upstreams
                .iter()
                .position(|u| &u.name == upstream && !u.is_down())
        {
            let kept = self.upstreams.remove(i);
            self.upstreams.insert(0, kept);
        }
        self.kept = choice.id.zip(choice.upstream);
        self.set_cookie = choice.set_cookie;
        self.begin()
    }

    /// Starts on the next upstream to try, or fails when none is left. The new request's
    /// STDIN is its own: ended again once the body is sent, whatever an earlier attempt did.
    fn connect_next(&mut self) -> State {
        self.stdin_ended = false;
        let params = match &self.params {
            Some(params) => params.clone(),
            None => {
                let env = self.env.take().unwrap_or_default();
                match EncodedParams::encode(env.as_slice().iter().map(|(k, v)| (k, v))) {
                    Ok(params) => {
                        self.params = Some(params.clone());
                        params
                    }
                    Err(e) => {
                        let message = format!("fastcgi {}: params refused: {e}", self.name);
                        return State::Failed(ExchangeError::new(500, message));
                    }
                }
            }
        };
        let Some(upstream) = self.upstreams.get(self.tried).cloned() else {
            return State::Failed(ExchangeError::new(502, "no upstream left to try"));
        };
        self.tried += 1;
        self.busy = Some(Busy::new(Arc::clone(&upstream), Arc::clone(&self.server)));
        State::Connecting(Box::pin(upstream.begin(params, Arc::clone(&self.name))))
    }

    /// A sticky visitor whose chosen upstream failed is kept on the one that took the
    /// request, in the background (the response need not wait for the store).
    fn keep_visitor(&self) {
        let (Some((id, kept)), Some(upstream)) = (&self.kept, self.upstream()) else {
            return;
        };
        if *kept == upstream.name {
            return;
        }
        let (id, name, server) = (*id, upstream.name.clone(), Arc::clone(&self.server));
        tokio::spawn(async move { server.fastcgi.sticky.moved(id, name).await });
    }

    fn upstream(&self) -> Option<&Arc<Upstream>> {
        self.busy.as_ref().map(|b| &b.upstream)
    }

    /// Moves a sticky request past its choice, and a connecting request on to running,
    /// or to the next upstream.
    fn advance(&mut self, cx: &mut Context<'_>) {
        if let State::Choosing(choosing) = &mut self.state {
            let Poll::Ready(choice) = choosing.as_mut().poll(cx) else {
                return;
            };
            self.state = self.chosen(choice);
        }
        let State::Connecting(connecting) = &mut self.state else {
            return;
        };
        let Poll::Ready(result) = connecting.as_mut().poll(cx) else {
            return;
        };
        self.state = match result {
            Ok((conn, ticket)) => {
                let mut output = Box::new(GatewayOutput::new(false));
                self.keep_visitor();
                if let Some(set_cookie) = self.set_cookie.take() {
                    output.add_field(b"set-cookie", set_cookie);
                }
                State::Running {
                    conn,
                    ticket,
                    output,
                    finished: false,
                }
            }
            Err(e) => {
                if self.tried < self.upstreams.len() {
                    tracing::warn!(
                        "fastcgi {}: {}; trying the next upstream",
                        self.name,
                        e.message
                    );
                    self.count_error();
                    self.connect_next()
                } else {
                    let status = if e.timed_out { 504 } else { 502 };
                    State::Failed(ExchangeError::new(status, e.message))
                }
            }
        };
        if matches!(self.state, State::Connecting(_)) {
            self.advance(cx);
        }
    }

    /// Moves queued body bytes into the connection while it takes them, refilling from
    /// the spool file; ends `STDIN` once the body is all sent.
    fn flush_stdin(&mut self, cx: &mut Context<'_>) {
        let State::Running { conn, ticket, .. } = &self.state else {
            return;
        };
        if self.stdin_ended {
            return;
        }
        loop {
            if self.stdin_queue.is_empty()
                && let Some(file) = &mut self.spool
            {
                let mut buf = BytesMut::zeroed(SPOOL_CHUNK);
                match file.read(&mut buf) {
                    Ok(0) => self.spool = None,
                    Ok(n) => {
                        buf.truncate(n);
                        self.queued += n;
                        self.stdin_queue.push_back(buf.freeze());
                    }
                    Err(e) => {
                        tracing::warn!("fastcgi {}: spool file: {e}", self.name);
                        self.spool = None;
                    }
                }
            }
            let Some(front) = self.stdin_queue.front_mut() else {
                break;
            };
            let n = conn.send_stdin(*ticket, front.clone(), cx);
            if n == 0 {
                return;
            }
            let _ = front.split_to(n);
            self.queued -= n;
            if front.is_empty() {
                self.stdin_queue.pop_front();
            }
            self.deadline
                .as_mut()
                .reset(Instant::now() + self.route.send_timeout);
        }
        if self.body_done && self.spool.is_none() {
            conn.end_stdin(*ticket);
            self.stdin_ended = true;
            self.deadline
                .as_mut()
                .reset(Instant::now() + self.route.read_timeout);
        }
    }

    fn count_error(&self) {
        self.server.counters.fastcgi.errors.fetch_add(1, Relaxed);
        if let Some(upstream) = self.upstream() {
            upstream.stats.errors.fetch_add(1, Relaxed);
        }
    }

    fn fail(&mut self, status: u16, message: &str) -> Poll<Result<(), ExchangeError>> {
        self.count_error();
        self.finish();
        Poll::Ready(Err(ExchangeError::new(
            status,
            format!("fastcgi {}", message),
        )))
    }

    /// The request is over on its connection (or never got one).
    fn finish(&mut self) {
        if let State::Running {
            conn,
            ticket,
            finished,
            ..
        } = &mut self.state
            && !*finished
        {
            conn.abandon(*ticket);
            *finished = true;
        }
        self.busy = None;
    }

    /// What came back: the next piece of the response, its end, or a failure.
    fn poll_running(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        loop {
            let State::Running {
                conn,
                ticket,
                output,
                finished,
            } = &mut self.state
            else {
                return Poll::Pending;
            };
            let name = gateway::LogName("fastcgi", &self.name);
            match output.pump(sink, &name) {
                Ok(Pumped::Full) => return Poll::Pending,
                Ok(Pumped::Ended) => {
                    if !*finished {
                        // Output can end (its Content-Length reached) before END_REQUEST.
                        conn.abandon(*ticket);
                        *finished = true;
                    }
                    self.busy = None;
                    self.state = State::Done;
                    return Poll::Ready(Ok(()));
                }
                Ok(Pumped::LocalRedirect(location)) => {
                    let started = match gateway::local_redirect(
                        &self.server,
                        &self.head,
                        &self.conn,
                        self.depth,
                        &location,
                    ) {
                        Ok(started) => started,
                        Err(e) => return self.fail(500, &format!("{}: {e}", self.name)),
                    };
                    self.finish();
                    self.state = State::Redirected(Box::new(started));
                    let State::Redirected(started) = &mut self.state else {
                        return Poll::Pending;
                    };
                    return started.get().poll_response(cx, sink);
                }
                Ok(Pumped::NeedData) => {}
                Err(e) => {
                    self.count_error();
                    self.finish();
                    return Poll::Ready(Err(e));
                }
            }
            if *finished {
                // END_REQUEST came and the parser has had the end: pump ends or fails.
                continue;
            }
            match conn.poll_receive(*ticket, cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Received::Data(data)) => {
                    output.feed(&data);
                    self.deadline
                        .as_mut()
                        .reset(Instant::now() + self.route.read_timeout);
                }
                Poll::Ready(Received::End {
                    app_status,
                    protocol_status,
                }) => {
                    *finished = true;
                    match protocol_status {
                        ProtocolStatus::RequestComplete => output.feed_eof(),
                        ProtocolStatus::Overloaded if !output.head_done() => {
                            return self.fail(
                                503,
                                &format!("{}: the application is overloaded", self.name),
                            );
                        }
                        other => {
                            return self.fail(
                                502,
                                &format!(
                                    "{}: request ended with {other:?} (app status {app_status})",
                                    self.name
                                ),
                            );
                        }
                    }
                }
                Poll::Ready(Received::Broken(broken)) => {
                    *finished = true;
                    let stale = broken.retryable && !output.head_done() && !self.retried_stale;
                    if stale {
                        // A keep-alive connection the application had just closed: once more.
                        self.retried_stale = true;
                        self.tried -= 1;
                        self.state = self.connect_next();
                        self.advance(cx);
                        self.flush_stdin(cx);
                        return self.poll_response(cx, sink);
                    }
                    let message = format!("{}: connection lost: {}", self.name, broken.reason);
                    return self.fail(502, &message);
                }
            }
        }
    }
}

impl Exchange for FastCgiExchange {
    fn poll_body_room(&mut self, cx: &mut Context<'_>) -> Poll<BodyRoom> {
        self.advance(cx);
        match &self.state {
            // The body waits for the choice (the future woke us when it is made).
            State::Choosing(_) => return Poll::Pending,
            State::Spooling(_) => return Poll::Ready(BodyRoom::Ready),
            State::Connecting(_) | State::Running { .. } => {}
            State::Redirected(_) | State::Done | State::Failed(_) => {
                return Poll::Ready(BodyRoom::Refused);
            }
        }
        self.flush_stdin(cx);
        if self.queued < STDIN_QUEUE {
            Poll::Ready(BodyRoom::Ready)
        } else {
            // `flush_stdin` (or the connecting future) left a wake-up.
            Poll::Pending
        }
    }

    fn body_data(&mut self, data: Bytes) {
        match &mut self.state {
            State::Spooling(spool) => {
                if let Err(e) = spool.write(&data) {
                    self.state = State::Failed(e);
                }
            }
            State::Connecting(_) | State::Running { .. } => {
                self.queued += data.len();
                self.stdin_queue.push_back(data);
            }
            State::Choosing(_) | State::Redirected(_) | State::Done | State::Failed(_) => {}
        }
    }

    fn body_end(&mut self) {
        self.body_done = true;
        if !matches!(self.state, State::Spooling(_)) {
            return;
        }
        let State::Spooling(spool) = std::mem::replace(&mut self.state, State::Done) else {
            return;
        };
        let Some(env) = self.env.as_mut() else {
            return;
        };
        self.state = match spool.finish(env) {
            Ok(file) => {
                self.spool = Some(file);
                self.connect_next()
            }
            Err(e) => State::Failed(e),
        };
    }

    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        if let State::Redirected(started) = &mut self.state {
            return started.get().poll_response(cx, sink);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.server.counters.fastcgi.timeouts.fetch_add(1, Relaxed);
            if let Some(upstream) = self.upstream() {
                upstream.stats.timeouts.fetch_add(1, Relaxed);
            }
            let message = format!("{}: no answer within the route's timeouts", self.name);
            return self.fail(504, &message);
        }
        self.advance(cx);
        self.flush_stdin(cx);
        match &self.state {
            State::Running { .. } => self.poll_running(cx, sink),
            State::Failed(e) => {
                let e = e.clone();
                self.fail(e.status, &format!("{}: {}", self.name, e.message))
            }
            State::Done => Poll::Ready(Ok(())),
            State::Choosing(_)
            | State::Spooling(_)
            | State::Connecting(_)
            | State::Redirected(_) => Poll::Pending,
        }
    }

    fn cancel_on_client_close(&self) -> bool {
        true
    }
}

impl Drop for FastCgiExchange {
    fn drop(&mut self) {
        self.finish();
    }
}
