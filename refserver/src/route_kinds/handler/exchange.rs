//! One request answered by an in-process handler: the service is made ready, called, and
//! its response head and body written through the sink as they come.
//!
//! Isolation, the classic weakness of a server API: every call into the handler (its
//! `poll_ready`, `call`, future, response body, and their `Drop`) runs under
//! `catch_unwind`, so a panic answers 500 for this request alone (or cuts its response if
//! the head went out), is logged with its route, and the session goes on. Past the
//! route's `timeout_ms` the handler is dropped and the request answered 504. Cancellation
//! is the seam's: dropping this exchange drops the handler's future.

use super::body::{BodyFeed, Room};
use super::service::{BoxError, HandlerService, Request, ResponseBody};
use super::{HandlerCounters, HandlerRoute};
use crate::exchange::{BodyRoom, Exchange, ExchangeError};
use crate::response::ResponseSink;
use crate::router::Route;
use bytes::Bytes;
use http_body::Body as _;
use smallvec::SmallVec;
use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::time::Sleep;
use tower::Service;

type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<ResponseBody>, BoxError>> + Send>>;

pub(super) struct HandlerExchange {
    route: &'static HandlerRoute,
    /// The configured route, for log lines.
    seam_route: &'static Route,
    state: State,
    feed: Option<BodyFeed>,
    /// The session task knows whether the body is read (no body, read, refused or done).
    body_decided: bool,
    /// When the route's timeout passes; the timer is armed only once the handler makes
    /// the exchange wait (a handler that answers at once costs no timer).
    deadline: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

enum State {
    /// Waiting for the service to be ready.
    Ready(HandlerService, Option<Request>),
    /// Waiting for the response head.
    Calling(ResponseFuture),
    /// Answered while the session had not been told about the request body: the head
    /// waits one turn (see `Calling`).
    Answered(Option<http::Response<ResponseBody>>),
    /// Sending the response body.
    Streaming(ResponseBody),
    /// Answered, failed or cancelled.
    Done,
}

/// Why the exchange cannot go on, for the counters.
enum Failure {
    Error(ExchangeError),
    Panic(ExchangeError),
}

impl From<ExchangeError> for Failure {
    fn from(e: ExchangeError) -> Self {
        Self::Error(e)
    }
}

impl HandlerExchange {
    pub(super) fn new(
        route: &'static HandlerRoute,
        seam_route: &'static Route,
        request: Request,
        feed: Option<BodyFeed>,
    ) -> Self {
        route.counters.running.fetch_add(1, Relaxed);
        Self {
            route,
            seam_route,
            state: State::Ready(route.take_service(), Some(request)),
            body_decided: feed.is_none(),
            feed,
            deadline: route.timeout.map(|t| Instant::now() + t),
            timer: None,
        }
    }

    fn counters(&self) -> &HandlerCounters {
        &self.route.counters
    }

    /// Drops the handler's state; a panic in its `Drop` is caught too.
    fn stop(&mut self) {
        let state = std::mem::replace(&mut self.state, State::Done);
        self.drop_caught(state);
    }

    /// Drops what came from the handler (its state, a service the route does not keep),
    /// catching a panic in its `Drop`.
    fn drop_caught<T>(&self, value: T) {
        if catch_unwind(AssertUnwindSafe(move || drop(value))).is_err() {
            self.counters().panics.fetch_add(1, Relaxed);
            tracing::error!(
                "route {}: handler `{}` panicked while being dropped",
                self.seam_route.describe(),
                self.route.name
            );
        }
    }

    fn panicked(&self, payload: &(dyn Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(not a string)");
        Failure::Panic(ExchangeError::new(
            500,
            format!("handler `{}` panicked: {what}", self.route.name),
        ))
    }

    fn failed(&self, what: &str, e: &BoxError) -> Failure {
        Failure::Error(ExchangeError::new(
            500,
            format!("handler `{}`: {what}: {e}", self.route.name),
        ))
    }

    /// Moves the handler on as far as it goes now.
    fn step(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), Failure>> {
        loop {
            match &mut self.state {
                State::Ready(service, request) => {
                    match catch_unwind(AssertUnwindSafe(|| service.poll_ready(cx))) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(Ok(()))) => {}
                        Ok(Poll::Ready(Err(e))) => {
                            return Poll::Ready(Err(self.failed("not ready", &e)));
                        }
                        Err(payload) => return Poll::Ready(Err(self.panicked(&*payload))),
                    }
                    let Some(request) = request.take() else {
                        return Poll::Ready(Err(ExchangeError::new(500, "called twice").into()));
                    };
                    match catch_unwind(AssertUnwindSafe(|| service.call(request))) {
                        Ok(future) => {
                            let called = std::mem::replace(&mut self.state, State::Calling(future));
                            if let State::Ready(service, _) = called
                                && let Some(extra) = self.route.give_service(service)
                            {
                                self.drop_caught(extra);
                            }
                        }
                        Err(payload) => return Poll::Ready(Err(self.panicked(&*payload))),
                    }
                }
                State::Calling(future) => {
                    match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(Ok(response))) => {
                            self.state = State::Answered(Some(response));
                        }
                        Ok(Poll::Ready(Err(e))) => {
                            return Poll::Ready(Err(self.failed("error", &e)));
                        }
                        Err(payload) => return Poll::Ready(Err(self.panicked(&*payload))),
                    }
                }
                State::Answered(response) => {
                    if !self.body_decided {
                        // A head sent now would make session-core refuse the body. A
                        // handler that answers holding the body (an echo streams it back,
                        // a task reads it) wants it; one that dropped it, not. The session
                        // task asks `poll_body_room` on its next turn, then the head goes.
                        if let Some(feed) = &self.feed {
                            feed.want();
                        }
                        cx.waker().wake_by_ref();
                        return Poll::Pending;
                    }
                    let Some(response) = response.take() else {
                        return Poll::Ready(Err(ExchangeError::new(500, "answered twice").into()));
                    };
                    let (parts, body) = response.into_parts();
                    send_head(&parts, &body, sink)?;
                    if !sink.wants_body() {
                        // HEAD, 204, 304: the body is never polled.
                        sink.end(&[])?;
                        return Poll::Ready(Ok(()));
                    }
                    self.state = State::Streaming(body);
                }
                State::Streaming(body) => {
                    while sink.has_room() {
                        let frame =
                            catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *body).poll_frame(cx)));
                        match frame {
                            Ok(Poll::Pending) => return Poll::Pending,
                            Ok(Poll::Ready(Some(Ok(frame)))) => match frame.into_data() {
                                Ok(data) => sink.data(&data)?,
                                Err(frame) => {
                                    // Trailers end the body.
                                    let trailers = frame.into_trailers().unwrap_or_default();
                                    let fields: SmallVec<[(&[u8], &[u8]); 8]> = trailers
                                        .iter()
                                        .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes()))
                                        .collect();
                                    sink.end(&fields)?;
                                    return Poll::Ready(Ok(()));
                                }
                            },
                            Ok(Poll::Ready(Some(Err(e)))) => {
                                return Poll::Ready(Err(self.failed("response body", &e)));
                            }
                            Ok(Poll::Ready(None)) => {
                                sink.end(&[])?;
                                return Poll::Ready(Ok(()));
                            }
                            Err(payload) => return Poll::Ready(Err(self.panicked(&*payload))),
                        }
                    }
                    // Polled again once the client has read.
                    return Poll::Pending;
                }
                State::Done => return Poll::Ready(Ok(())),
            }
        }
    }

    /// Whether the route's timeout has passed; arms its timer when the exchange is about
    /// to wait.
    fn timed_out(&mut self, cx: &mut Context<'_>, waiting: bool) -> bool {
        let Some(deadline) = self.deadline else {
            return false;
        };
        if Instant::now() >= deadline {
            return true;
        }
        if waiting {
            let timer = self
                .timer
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline.into())));
            return timer.as_mut().poll(cx).is_ready();
        }
        false
    }
}

/// The handler's head through the sink: its status and fields, the framing from the
/// handler's own `Content-Length` (a HEAD answer's body is empty, its length is not),
/// else the body's exact size, else streamed.
fn send_head(
    parts: &http::response::Parts,
    body: &ResponseBody,
    sink: &mut ResponseSink<'_>,
) -> Result<(), ExchangeError> {
    let status = parts.status.as_u16();
    if status < 200 {
        // An interim response cannot be the answer, and upgrades are not carried.
        return Err(ExchangeError::new(
            500,
            format!("a handler answered the interim status {status}"),
        ));
    }
    let mut declared = None;
    let mut fields: SmallVec<[(&[u8], &[u8]); 16]> = SmallVec::new();
    for (name, value) in &parts.headers {
        // The connection owns the framing (http-proto refuses these fields).
        if name == http::header::CONTENT_LENGTH {
            declared = value.to_str().ok().and_then(|v| v.parse().ok());
        } else if name != http::header::TRANSFER_ENCODING {
            fields.push((name.as_str().as_bytes(), value.as_bytes()));
        }
    }
    let body_len = declared.or_else(|| body.size_hint().exact());
    let mut response = http_proto::Response::new(status).headers(&fields);
    response.body_len = body_len;
    sink.head(&response)
}

impl Exchange for HandlerExchange {
    fn poll_body_room(&mut self, cx: &mut Context<'_>) -> Poll<BodyRoom> {
        let room = match self.feed.as_ref().map(|feed| feed.room(cx)) {
            Some(Room::Ready) => BodyRoom::Ready,
            Some(Room::Pending) => return Poll::Pending,
            Some(Room::Refused) | None => BodyRoom::Refused,
        };
        self.body_decided = true;
        Poll::Ready(room)
    }

    fn body_data(&mut self, data: Bytes) {
        if let Some(feed) = &self.feed {
            feed.data(data);
        }
    }

    fn body_end(&mut self) {
        self.body_decided = true;
        if let Some(feed) = &self.feed {
            feed.end();
        }
    }

    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        if self.timed_out(cx, false) {
            return self.time_out();
        }
        let failure = match self.step(cx, sink) {
            Poll::Ready(Ok(())) => {
                self.state = State::Done;
                return Poll::Ready(Ok(()));
            }
            Poll::Pending if self.timed_out(cx, true) => return self.time_out(),
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(failure)) => failure,
        };
        let error = match failure {
            Failure::Error(e) => {
                self.counters().errors.fetch_add(1, Relaxed);
                e
            }
            Failure::Panic(e) => {
                self.counters().panics.fetch_add(1, Relaxed);
                e
            }
        };
        // The session task logs the error with the route, and answers or cuts.
        self.stop();
        Poll::Ready(Err(error))
    }

    fn cancel_on_client_close(&self) -> bool {
        true
    }
}

impl HandlerExchange {
    fn time_out(&mut self) -> Poll<Result<(), ExchangeError>> {
        self.counters().timeouts.fetch_add(1, Relaxed);
        self.stop();
        let ms = self.route.timeout.map_or(0, |t| t.as_millis());
        Poll::Ready(Err(ExchangeError::new(
            504,
            format!(
                "handler `{}`: past its timeout_ms ({ms}), dropped",
                self.route.name
            ),
        )))
    }
}

impl Drop for HandlerExchange {
    fn drop(&mut self) {
        // Cancellation: the handler's future and body go with the exchange.
        self.stop();
        self.counters().running.fetch_sub(1, Relaxed);
    }
}
