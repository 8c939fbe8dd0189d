//! The `echo` route kind: the request body streamed back as the response body, like
//! httpbin's `/anything` for testing clients, and the simplest exchange that uses both
//! directions of the seam with back-pressure: at most [`QUEUE_LIMIT`] bytes of the upload
//! wait in memory, so a client that does not read its echo stops its own upload.
//!
//! `echo = { delay_ms = 2000 }` answers only after the delay (httpbin's `/delay`), for
//! testing timeouts; the body is read meanwhile, up to the queue limit.
//!
//! The response is `200` with the request's `Content-Type` (else
//! `application/octet-stream`), the request's length when it had one (else chunked), and
//! `x-echo-method` / `x-echo-target` fields naming the request.

use crate::config::EchoConfig;
use crate::exchange::{BodyRoom, Exchange, ExchangeError, Request};
use crate::response::ResponseSink;
use bytes::Bytes;
use http_proto::{Framing, Response};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::time::Sleep;

/// Bytes of request body held while the client has not read their echo.
pub(crate) const QUEUE_LIMIT: usize = 64 * 1024;

/// An `echo` route.
#[derive(Debug)]
pub(crate) struct EchoRoute {
    delay: Duration,
}

impl EchoRoute {
    /// Compiles an `echo` table.
    pub(crate) fn new(config: &EchoConfig) -> Self {
        Self {
            delay: Duration::from_millis(config.delay_ms),
        }
    }

    /// Starts the exchange for a request on this route.
    pub(crate) fn start(&self, request: &Request<'_>) -> Box<dyn Exchange> {
        let head = request.head;
        Box::new(EchoExchange {
            delay: (!self.delay.is_zero()).then(|| Box::pin(tokio::time::sleep(self.delay))),
            content_type: head.headers().get_bytes("content-type"),
            method: Bytes::copy_from_slice(head.method_bytes()),
            target: head.target_bytes(),
            body_len: match head.framing() {
                Framing::Length(n) => Some(n),
                Framing::None => Some(0),
                _ => None,
            },
            queue: VecDeque::new(),
            queued: 0,
            body_done: false,
            room_waker: None,
        })
    }
}

struct EchoExchange {
    delay: Option<Pin<Box<Sleep>>>,
    content_type: Option<Bytes>,
    method: Bytes,
    target: Bytes,
    /// The request body's length, when known: the response's too.
    body_len: Option<u64>,
    /// Body pieces received and not yet written back.
    queue: VecDeque<Bytes>,
    queued: usize,
    body_done: bool,
    /// The session task, waiting for room in `queue` to read more body.
    room_waker: Option<Waker>,
}

impl Exchange for EchoExchange {
    fn poll_body_room(&mut self, cx: &mut Context<'_>) -> Poll<BodyRoom> {
        if self.queued < QUEUE_LIMIT {
            Poll::Ready(BodyRoom::Ready)
        } else {
            self.room_waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }

    fn body_data(&mut self, data: Bytes) {
        self.queued += data.len();
        self.queue.push_back(data);
    }

    fn body_end(&mut self) {
        self.body_done = true;
    }

    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>> {
        if let Some(delay) = &mut self.delay {
            if delay.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            self.delay = None;
        }
        if !sink.is_started() {
            let content_type = self
                .content_type
                .as_deref()
                .unwrap_or(b"application/octet-stream");
            let fields: [(&[u8], &[u8]); 3] = [
                (b"content-type", content_type),
                (b"x-echo-method", &self.method),
                (b"x-echo-target", &self.target),
            ];
            let response = Response::new(200).headers(&fields);
            let response = match self.body_len {
                Some(n) => response.body_len(n),
                None => response.streamed(),
            };
            sink.head(&response)?;
        }
        while sink.has_room() {
            let Some(piece) = self.queue.pop_front() else {
                break;
            };
            self.queued -= piece.len();
            sink.data(&piece)?;
            if let Some(waker) = self.room_waker.take() {
                waker.wake();
            }
        }
        if self.body_done && self.queue.is_empty() {
            sink.end(&[])?;
            return Poll::Ready(Ok(()));
        }
        // More body arrives through `body_data`, after which the task polls again.
        Poll::Pending
    }
}
