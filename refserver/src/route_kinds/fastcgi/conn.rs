//! One connection to a FastCGI application: fcgi-proto's `ServerConn` behind a lock,
//! shared by the requests multiplexed on it, and a task that moves its bytes.
//!
//! Exchanges call in under the lock (begin, stdin, take stdout, abort) and wake the task;
//! the task writes what fcgi-proto queued, reads what the socket has and hands each
//! request its records. Nothing blocks under the lock: the socket is driven with
//! `try_read`/`try_write`. Back-pressure both ways: `send_stdin` takes only what
//! fcgi-proto's send buffer has room for, and the task stops reading the socket while
//! any request has [`STDOUT_BUFFER`] bytes its client has not taken (FastCGI has no
//! per-request flow control, so on a multiplexed connection one slow client holds up
//! the others: that is the protocol's trade).

use super::upstream::Upstream;
use crate::transport::Transport;
use bytes::Bytes;
use fcgi_proto::params::EncodedParams;
use fcgi_proto::{ProtocolStatus, Role, ServerConn, ServerEvent};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::AsFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::thread::ThreadId;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Response bytes held for one request before the connection stops reading.
const STDOUT_BUFFER: usize = 64 * 1024;
/// Room the receive buffer is given before a read when it has less than [`READ_MIN`]
/// left: without it `BytesMut` grows by 64 bytes, and a small response takes several
/// reads (a record's header, its rest, its end).
const READ_CHUNK: usize = 16 * 1024;
const READ_MIN: usize = 1024;
/// An idle keep-alive connection is closed after this (nginx's upstream `keepalive_timeout`).
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long an aborted request may take to end before its connection is closed.
const ABORT_GRACE: Duration = Duration::from_secs(5);
/// stderr lines logged per request.
const STDERR_LINES: usize = 100;

/// What a request receives.
#[derive(Debug)]
pub(crate) enum Received {
    /// A piece of the response (STDOUT).
    Data(Bytes),
    /// `END_REQUEST`.
    End {
        app_status: u32,
        protocol_status: ProtocolStatus,
    },
    /// The connection broke before the request ended.
    Broken(Broken),
}

/// Why a connection cannot carry a request on.
#[derive(Debug, Clone)]
pub(crate) struct Broken {
    pub(crate) reason: Arc<str>,
    /// Nothing of this request's response had arrived, and none of its body was sent:
    /// it may be retried on another connection (a keep-alive connection the
    /// application closed just as it was reused).
    pub(crate) retryable: bool,
}

/// A request's state on its connection, kept until its exchange has taken its end (the
/// request id is free for the next request as soon as `END_REQUEST` arrives, so slots are
/// keyed by a ticket of their own).
struct Slot {
    /// The FastCGI request id, while the request is active.
    id: u16,
    stdout: VecDeque<Bytes>,
    buffered: usize,
    end: Option<(u32, ProtocolStatus)>,
    /// The exchange waiting for something to receive.
    waker: Option<Waker>,
    /// The exchange waiting for send-buffer room for its body (woken by writes only, so
    /// the requests multiplexed on a connection are not all woken by every write).
    send_waker: Option<Waker>,
    /// The exchange is gone (since then): drop its output until `END_REQUEST`.
    abandoned: Option<Instant>,
    received_any: bool,
    sent_stdin: bool,
    /// The script, for stderr lines.
    name: Arc<str>,
    stderr_lines: usize,
}

impl Slot {
    /// Wakes the exchange whatever it waits for (its request ended, or can go no further).
    fn wake_all(&mut self) {
        for waker in [self.waker.take(), self.send_waker.take()]
            .into_iter()
            .flatten()
        {
            waker.wake();
        }
    }
}

struct Core {
    fcgi: ServerConn,
    /// Keyed by small numbers the server picks: Fx rather than SipHash.
    slots: FxHashMap<u64, Slot>,
    /// Active request ids and their tickets.
    by_id: FxHashMap<u16, u64>,
    next_ticket: u64,
    unsent: VecDeque<Bytes>,
    task: Option<Waker>,
    broken: Option<Arc<str>>,
    /// No request since then.
    idle_since: Option<Instant>,
    /// No write readiness seen yet: see [`Core::write`].
    fresh: bool,
}

/// One FastCGI connection, shared by its requests and its task.
pub(crate) struct Conn {
    core: Mutex<Core>,
    /// The thread whose runtime drives the socket: requests there are woken cheaply.
    pub(crate) thread: ThreadId,
}

impl Conn {
    pub(crate) fn new(fcgi: ServerConn) -> Arc<Self> {
        Arc::new(Self {
            core: Mutex::new(Core {
                fcgi,
                slots: FxHashMap::default(),
                by_id: FxHashMap::default(),
                next_ticket: 0,
                unsent: VecDeque::new(),
                task: None,
                broken: None,
                idle_since: None,
                fresh: true,
            }),
            thread: std::thread::current().id(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Core> {
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether another request may begin here now.
    pub(crate) fn has_room(&self) -> bool {
        let core = self.lock();
        core.broken.is_none() && core.fcgi.can_begin_request()
    }

    /// Requests on it now.
    pub(crate) fn active(&self) -> usize {
        self.lock().slots.len()
    }

    /// Queues `GET_VALUES` for what the application allows (answered to the upstream).
    pub(crate) fn ask_values(&self) {
        let mut core = self.lock();
        let names = [
            fcgi_proto::FCGI_MAX_CONNS,
            fcgi_proto::FCGI_MAX_REQS,
            fcgi_proto::FCGI_MPXS_CONNS,
        ];
        if core.fcgi.get_values(names).is_ok() {
            core.wake_task();
        }
    }

    /// Begins a Responder request with `params` (PARAMS sent whole) and returns its
    /// ticket, or `None` when the connection has no room or is broken.
    pub(crate) fn begin(
        &self,
        params: &EncodedParams,
        keep_conn: bool,
        name: &Arc<str>,
    ) -> Option<u64> {
        let mut core = self.lock();
        if core.broken.is_some() || !core.fcgi.can_begin_request() {
            return None;
        }
        let id = core.fcgi.begin_request(Role::Responder, keep_conn).ok()?;
        if let Err(e) = core
            .fcgi
            .send_encoded_params(id, params)
            .and_then(|()| core.fcgi.end_params(id))
        {
            // A param past the record format's limits: nothing sensible can follow.
            tracing::warn!("fastcgi {name}: params refused: {e}");
            let _ = core.fcgi.abort_request(id);
            core.wake_task();
            return None;
        }
        let ticket = core.next_ticket;
        core.next_ticket += 1;
        core.by_id.insert(id, ticket);
        core.slots.insert(
            ticket,
            Slot {
                id,
                stdout: VecDeque::new(),
                buffered: 0,
                end: None,
                waker: None,
                send_waker: None,
                abandoned: None,
                received_any: false,
                sent_stdin: false,
                name: Arc::clone(name),
                stderr_lines: 0,
            },
        );
        core.wake_task();
        Some(ticket)
    }

    /// Queues request-body bytes; returns how many were taken (0: full, the exchange is
    /// woken when there is room again).
    pub(crate) fn send_stdin(&self, ticket: u64, data: Bytes, cx: &mut Context<'_>) -> usize {
        let mut core = self.lock();
        // The application may have ended the request without reading its body: the rest
        // is dropped, as a CGI script's unread stdin is.
        let len = data.len();
        let Some(id) = core.active_id(ticket) else {
            return len;
        };
        let Ok(n) = core.fcgi.send_stdin_bytes(id, data) else {
            return len;
        };
        if let Some(slot) = core.slots.get_mut(&ticket) {
            if n == 0 {
                slot.send_waker = Some(cx.waker().clone());
            } else {
                slot.sent_stdin = true;
            }
        }
        if n > 0 {
            core.wake_task();
        }
        n
    }

    /// Ends the request body.
    pub(crate) fn end_stdin(&self, ticket: u64) {
        let mut core = self.lock();
        if let Some(id) = core.active_id(ticket)
            && core.fcgi.end_stdin(id).is_ok()
        {
            core.wake_task();
        }
    }

    /// The next thing received for the request of `ticket`.
    pub(crate) fn poll_receive(&self, ticket: u64, cx: &mut Context<'_>) -> Poll<Received> {
        let mut core = self.lock();
        let broken = core.broken.clone();
        let Some(slot) = core.slots.get_mut(&ticket) else {
            return Poll::Ready(Received::Broken(Broken {
                reason: Arc::from("request not on this connection"),
                retryable: false,
            }));
        };
        if let Some(data) = slot.stdout.pop_front() {
            let was_full = slot.buffered >= STDOUT_BUFFER;
            slot.buffered -= data.len();
            if was_full && slot.buffered < STDOUT_BUFFER {
                core.wake_task();
            }
            return Poll::Ready(Received::Data(data));
        }
        if let Some((app_status, protocol_status)) = slot.end {
            core.slots.remove(&ticket);
            // The idle clock starts when the last request leaves.
            core.wake_task();
            return Poll::Ready(Received::End {
                app_status,
                protocol_status,
            });
        }
        if let Some(reason) = broken {
            let retryable = !slot.received_any && !slot.sent_stdin;
            core.slots.remove(&ticket);
            return Poll::Ready(Received::Broken(Broken { reason, retryable }));
        }
        slot.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// The exchange of `ticket` is gone: aborts its request (`ABORT_REQUEST`) unless it
    /// ended.
    pub(crate) fn abandon(&self, ticket: u64) {
        let mut core = self.lock();
        let broken = core.broken.is_some();
        let Some(slot) = core.slots.get_mut(&ticket) else {
            return;
        };
        let id = slot.id;
        if slot.end.is_some() || broken {
            core.slots.remove(&ticket);
            return;
        }
        slot.abandoned = Some(Instant::now());
        slot.stdout.clear();
        slot.buffered = 0;
        slot.waker = None;
        slot.send_waker = None;
        if core.fcgi.abort_request(id).is_ok() {
            core.wake_task();
        }
    }

    /// Drives the socket until the connection closes: writes what is queued, reads and
    /// hands out what arrives, closes after [`IDLE_TIMEOUT`] without requests.
    pub(crate) async fn drive<S: Transport + AsFd>(
        self: Arc<Self>,
        mut socket: S,
        upstream: Arc<Upstream>,
    ) {
        let mut timer: Pin<Box<Sleep>> = Box::pin(tokio::time::sleep(IDLE_TIMEOUT));
        let reason =
            std::future::poll_fn(|cx| self.poll_io(&mut socket, &upstream, &mut timer, cx)).await;
        let mut core = self.lock();
        core.broken = Some(Arc::clone(&reason));
        let active = core.slots.values().filter(|s| s.end.is_none()).count();
        for slot in core.slots.values_mut() {
            slot.wake_all();
        }
        drop(core);
        if active > 0 {
            tracing::warn!(
                "fastcgi {}: connection lost with {active} requests in flight: {reason}",
                upstream.name
            );
        }
        upstream.closed(&self);
    }

    fn poll_io<S: Transport + AsFd>(
        &self,
        socket: &mut S,
        upstream: &Arc<Upstream>,
        timer: &mut Pin<Box<Sleep>>,
        cx: &mut Context<'_>,
    ) -> Poll<Arc<str>> {
        let mut core = self.lock();
        core.task = Some(cx.waker().clone());
        loop {
            if let Err(e) = core.write(socket, cx) {
                return Poll::Ready(Arc::from(format!("write: {e}")));
            }
            let mut progressed = false;
            if !core.slots.values().any(|s| s.buffered >= STDOUT_BUFFER) {
                let buf = core.fcgi.receive_buffer();
                if buf.capacity() - buf.len() < READ_MIN {
                    buf.reserve(READ_CHUNK);
                }
                match socket.try_read_buf(buf) {
                    Ok(0) => {
                        return Poll::Ready(Arc::from(if core.fcgi.has_partial_record() {
                            "closed by the application in the middle of a record"
                        } else {
                            "closed by the application"
                        }));
                    }
                    Ok(_) => {
                        progressed = true;
                        if let Err(reason) = core.dispatch(upstream) {
                            return Poll::Ready(reason);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        match socket.poll_read_ready(cx) {
                            Poll::Ready(Ok(())) => progressed = true,
                            Poll::Ready(Err(e)) => {
                                return Poll::Ready(Arc::from(format!("read: {e}")));
                            }
                            Poll::Pending => {}
                        }
                    }
                    Err(e) => return Poll::Ready(Arc::from(format!("read: {e}"))),
                }
            }
            // Without keep-alive the connection is done once its request has ended (its
            // slot may wait for the exchange to take the end): closed now rather than
            // after reading the application's EOF (php-fpm reads until we close).
            if !core.fcgi.is_reusable() && core.by_id.is_empty() && core.unsent.is_empty() {
                return Poll::Ready(Arc::from("done (no keep-alive)"));
            }
            if let Some(reason) = core.poll_deadline(timer, cx) {
                return Poll::Ready(reason);
            }
            if !progressed {
                return Poll::Pending;
            }
        }
    }
}

impl Core {
    /// The request id of `ticket` while its request is active.
    fn active_id(&self, ticket: u64) -> Option<u16> {
        let id = self.slots.get(&ticket)?.id;
        (self.broken.is_none() && self.by_id.get(&id) == Some(&ticket)).then_some(id)
    }

    /// The slot of an active request id.
    fn slot_of(&mut self, id: u16) -> Option<&mut Slot> {
        let ticket = self.by_id.get(&id)?;
        self.slots.get_mut(ticket)
    }

    /// Closes an idle connection after [`IDLE_TIMEOUT`], and one whose aborted request
    /// was not ended within [`ABORT_GRACE`] (it cannot be reused safely).
    fn poll_deadline(
        &mut self,
        timer: &mut Pin<Box<Sleep>>,
        cx: &mut Context<'_>,
    ) -> Option<Arc<str>> {
        let deadline = if self.slots.is_empty() {
            *self.idle_since.get_or_insert_with(Instant::now) + IDLE_TIMEOUT
        } else {
            self.idle_since = None;
            self.slots.values().filter_map(|s| s.abandoned).min()? + ABORT_GRACE
        };
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        timer.as_mut().poll(cx).is_ready().then(|| {
            Arc::from(if self.slots.is_empty() {
                "idle"
            } else {
                "an aborted request was not ended in time"
            })
        })
    }

    fn wake_task(&mut self) {
        if let Some(waker) = &self.task {
            waker.wake_by_ref();
        }
    }

    /// Writes what fcgi-proto queued, as far as the socket takes it; wakes requests
    /// waiting for send-buffer room once some went out.
    ///
    /// tokio's `try_write` answers `WouldBlock` without a syscall until the reactor has
    /// reported the socket writable, a turn after it was registered: on a fresh
    /// connection the first records go out with a plain `send` instead, in the turn
    /// that began the request (a php-fpm child waits on the connection meanwhile).
    fn write<S: Transport + AsFd>(
        &mut self,
        socket: &mut S,
        cx: &mut Context<'_>,
    ) -> std::io::Result<()> {
        let mut wrote = false;
        loop {
            if self.unsent.is_empty() {
                match self.fcgi.poll_transmit() {
                    Some(bytes) => self.unsent.push_back(bytes),
                    None => break,
                }
            }
            let Some(front) = self.unsent.front_mut() else {
                break;
            };
            let written = match socket.try_write(front) {
                Err(e) if self.fresh && e.kind() == std::io::ErrorKind::WouldBlock => {
                    socket2::SockRef::from(&*socket).send_with_flags(front, libc::MSG_NOSIGNAL)
                }
                other => other,
            };
            match written {
                Ok(n) => {
                    wrote = true;
                    let _ = front.split_to(n);
                    if front.is_empty() {
                        self.unsent.pop_front();
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    self.fresh = false;
                    match socket.poll_write_ready(cx) {
                        Poll::Ready(Ok(())) => {}
                        Poll::Ready(Err(e)) => return Err(e),
                        Poll::Pending => break,
                    }
                }
                Err(e) => return Err(e),
            }
        }
        if wrote {
            for slot in self.slots.values_mut() {
                if let Some(waker) = slot.send_waker.take() {
                    waker.wake();
                }
            }
        }
        Ok(())
    }

    /// Hands every complete record to its request.
    fn dispatch(&mut self, upstream: &Arc<Upstream>) -> Result<(), Arc<str>> {
        loop {
            let event = match self.fcgi.poll_event() {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(()),
                Err(e) if e.is_fatal() => return Err(Arc::from(format!("protocol: {e}"))),
                Err(e) => {
                    tracing::warn!("fastcgi {}: record dropped: {e}", upstream.name);
                    continue;
                }
            };
            match event {
                ServerEvent::Stdout { request_id, data } => {
                    let Some(slot) = self.slot_of(request_id) else {
                        continue;
                    };
                    slot.received_any = true;
                    if slot.abandoned.is_some() {
                        continue;
                    }
                    slot.buffered += data.len();
                    slot.stdout.push_back(data);
                    if let Some(waker) = slot.waker.take() {
                        waker.wake();
                    }
                }
                ServerEvent::Stderr { request_id, data } => {
                    if let Some(slot) = self.slot_of(request_id) {
                        log_stderr(slot, &data);
                    }
                }
                ServerEvent::EndRequest {
                    request_id,
                    app_status,
                    protocol_status,
                } => {
                    let Some(ticket) = self.by_id.remove(&request_id) else {
                        continue;
                    };
                    let Some(slot) = self.slots.get_mut(&ticket) else {
                        continue;
                    };
                    if slot.abandoned.is_some() {
                        self.slots.remove(&ticket);
                        upstream.request_slot_freed();
                        continue;
                    }
                    slot.received_any = true;
                    slot.end = Some((app_status, protocol_status));
                    slot.wake_all();
                    upstream.request_slot_freed();
                }
                ServerEvent::GetValuesResult { values } => upstream.learn(&values),
                ServerEvent::UnknownType { record_type } => {
                    tracing::debug!(
                        "fastcgi {}: application does not know record type {record_type}",
                        upstream.name
                    );
                    upstream.learn(&[]);
                }
            }
        }
    }
}

/// One error-log line per line of the application's STDERR, with the script's name;
/// at most [`STDERR_LINES`] per request.
fn log_stderr(slot: &mut Slot, data: &[u8]) {
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        slot.stderr_lines += 1;
        if slot.stderr_lines <= STDERR_LINES {
            tracing::warn!(
                "fastcgi {}: stderr: {}",
                slot.name,
                String::from_utf8_lossy(line).trim_end()
            );
        } else if slot.stderr_lines == STDERR_LINES + 1 {
            tracing::warn!("fastcgi {}: stderr: further lines not logged", slot.name);
        }
    }
}
