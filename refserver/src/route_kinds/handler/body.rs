//! The request body a handler reads: an [`http_body::Body`] fed by the session task through
//! the seam, with back-pressure.
//!
//! The exchange holds the producing end ([`BodyFeed`]), the handler the consuming end
//! ([`Body`]). Pieces arrive through `Exchange::body_data` while fewer than
//! [`QUEUE_LIMIT`] bytes wait; past that the exchange tells the session task "no room" and
//! session-core stops reading the socket until the handler has taken a piece. The body is
//! not read at all (so a client waiting with `Expect: 100-continue` gets no `100 Continue`)
//! until the handler first polls it; a handler that drops it unread refuses it.

use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};

/// Bytes of request body held for a handler that has not taken them yet.
pub(crate) const QUEUE_LIMIT: usize = 64 * 1024;

/// A request body as a handler sees it: streamed from the client as the handler polls it,
/// never buffered whole.
///
/// Its pieces are the de-chunked body; its length hint is the request's
/// `Content-Length`. session-core's limits apply before a byte arrives here
/// (`limits.max_body_bytes` answers 413). If the client goes away or the exchange is
/// cancelled mid-body, the next poll gives a [`BodyError`].
#[derive(Debug, Default)]
pub struct Body {
    feed: Option<Arc<Channel>>,
    len: Option<u64>,
}

/// The request body ended early: the client went away, or the exchange was cancelled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError;

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request body ended early (client gone or request cancelled)")
    }
}

impl std::error::Error for BodyError {}

/// The exchange's end of a request body.
#[derive(Debug)]
pub(crate) struct BodyFeed {
    channel: Arc<Channel>,
}

#[derive(Debug, Default)]
struct Channel {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<Bytes>,
    queued: usize,
    ended: bool,
    /// The exchange went away before the end.
    aborted: bool,
    /// The handler has polled the body at least once: it wants it.
    wanted: bool,
    /// The handler dropped its end.
    consumer_gone: bool,
    /// The handler, waiting for a piece.
    consumer: Option<Waker>,
    /// The session task, waiting for the handler to want the body or make room.
    producer: Option<Waker>,
}

fn store_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    match slot {
        Some(w) if w.will_wake(cx.waker()) => {}
        _ => *slot = Some(cx.waker().clone()),
    }
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent whatever panicked while holding the lock.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Body {
    /// A body with nothing in it.
    #[must_use]
    pub fn empty() -> Self {
        Self::default()
    }

    /// A body fed by the returned [`BodyFeed`]; `len` from `Content-Length`.
    pub(crate) fn channel(len: Option<u64>) -> (Self, BodyFeed) {
        let channel = Arc::new(Channel::default());
        let feed = BodyFeed {
            channel: Arc::clone(&channel),
        };
        (
            Self {
                feed: Some(channel),
                len,
            },
            feed,
        )
    }
}

impl http_body::Body for Body {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let Some(channel) = &self.feed else {
            return Poll::Ready(None);
        };
        let mut state = channel.lock();
        let first = !state.wanted;
        state.wanted = true;
        if let Some(piece) = state.queue.pop_front() {
            state.queued -= piece.len();
            if let Some(w) = state.producer.take() {
                w.wake();
            }
            return Poll::Ready(Some(Ok(Frame::data(piece))));
        }
        if state.ended {
            return Poll::Ready(None);
        }
        if state.aborted {
            return Poll::Ready(Some(Err(BodyError)));
        }
        store_waker(&mut state.consumer, cx);
        if first && let Some(w) = state.producer.take() {
            w.wake();
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.feed.as_ref().is_none_or(|c| {
            let state = c.lock();
            state.ended && state.queue.is_empty()
        })
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.feed, self.len) {
            (None, _) => SizeHint::with_exact(0),
            (Some(_), Some(n)) => SizeHint::with_exact(n),
            (Some(_), None) => SizeHint::default(),
        }
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        if let Some(channel) = &self.feed {
            let mut state = channel.lock();
            state.consumer_gone = true;
            state.queue.clear();
            state.queued = 0;
            if let Some(w) = state.producer.take() {
                w.wake();
            }
        }
    }
}

/// What the exchange answers `poll_body_room` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Room {
    /// Send the next piece.
    Ready,
    /// The handler dropped the body unread: refuse it.
    Refused,
    /// Not now: the handler has not asked for it yet, or has not taken what waits.
    Pending,
}

impl BodyFeed {
    /// Whether a piece can be taken now; on `Pending` the task is woken when it can.
    pub(crate) fn room(&self, cx: &Context<'_>) -> Room {
        let mut state = self.channel.lock();
        if state.consumer_gone {
            Room::Refused
        } else if state.wanted && state.queued < QUEUE_LIMIT {
            Room::Ready
        } else {
            store_waker(&mut state.producer, cx);
            Room::Pending
        }
    }

    /// The handler answered holding the body: it is wanted (read it) unless dropped.
    pub(crate) fn want(&self) {
        self.channel.lock().wanted = true;
    }

    /// The next piece of the body.
    pub(crate) fn data(&self, piece: Bytes) {
        let mut state = self.channel.lock();
        if state.consumer_gone {
            return;
        }
        state.queued += piece.len();
        state.queue.push_back(piece);
        if let Some(w) = state.consumer.take() {
            w.wake();
        }
    }

    /// The body is complete.
    pub(crate) fn end(&self) {
        let mut state = self.channel.lock();
        state.ended = true;
        if let Some(w) = state.consumer.take() {
            w.wake();
        }
    }
}

impl Drop for BodyFeed {
    fn drop(&mut self) {
        let mut state = self.channel.lock();
        state.aborted = true;
        if let Some(w) = state.consumer.take() {
            w.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Body as _;
    use std::task::Waker;

    fn poll(body: &mut Body) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        Pin::new(body).poll_frame(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn the_body_is_read_only_once_the_handler_asks_for_it() {
        let (mut body, feed) = Body::channel(Some(3));
        let cx = Context::from_waker(Waker::noop());
        assert_eq!(
            feed.room(&cx),
            Room::Pending,
            "not asked yet: no 100 Continue"
        );
        assert!(poll(&mut body).is_pending());
        assert_eq!(feed.room(&cx), Room::Ready);
        feed.data(Bytes::from_static(b"abc"));
        feed.end();
        let Poll::Ready(Some(Ok(frame))) = poll(&mut body) else {
            panic!("a piece")
        };
        assert_eq!(frame.into_data().unwrap(), "abc");
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
        assert!(body.is_end_stream());
        assert_eq!(body.size_hint().exact(), Some(3));
    }

    #[test]
    fn a_full_queue_holds_the_upload_until_the_handler_takes_a_piece() {
        let (mut body, feed) = Body::channel(None);
        let cx = Context::from_waker(Waker::noop());
        assert!(poll(&mut body).is_pending());
        feed.data(Bytes::from(vec![0; QUEUE_LIMIT]));
        assert_eq!(feed.room(&cx), Room::Pending);
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        assert_eq!(feed.room(&cx), Room::Ready);
    }

    #[test]
    fn a_dropped_body_is_refused_and_a_dropped_feed_is_an_error() {
        let (body, feed) = Body::channel(Some(10));
        let cx = Context::from_waker(Waker::noop());
        drop(body);
        assert_eq!(feed.room(&cx), Room::Refused);

        let (mut body, feed) = Body::channel(Some(10));
        assert!(poll(&mut body).is_pending());
        feed.data(Bytes::from_static(b"12345"));
        drop(feed);
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Ok(_)))));
        assert!(matches!(poll(&mut body), Poll::Ready(Some(Err(BodyError)))));
    }

    #[test]
    fn an_empty_body_ends_at_once() {
        let mut body = Body::empty();
        assert!(matches!(poll(&mut body), Poll::Ready(None)));
        assert!(body.is_end_stream());
    }
}
