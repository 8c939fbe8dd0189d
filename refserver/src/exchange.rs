//! The streaming seam: the one interface through which every route kind answers.
//!
//! A session task dispatches each request head to its route kind, which starts an
//! [`Exchange`]. From then on the task drives it, and nothing else:
//!
//! - **Request body, with back-pressure.** The task asks [`Exchange::poll_body_room`]
//!   before it reads a byte of the body. `Ready(BodyRoom::Ready)` means "send it": the
//!   first one makes session-core send `100 Continue` to a client that waits for it; then
//!   each piece arrives through [`Exchange::body_data`] and the end through
//!   [`Exchange::body_end`]. `Pending` holds the body: session-core stops reading the
//!   socket until the exchange wakes the task and has room, so a slow consumer slows the
//!   upload and memory stays bounded. `Ready(BodyRoom::Refused)` (the default) never
//!   reads it: no `100 Continue`, and the route may answer 401, 413 or 417 first;
//!   session-core then drops the body or closes (see `session_core::Session::refuse_body`).
//! - **Response, with back-pressure.** The task polls [`Exchange::poll_response`] with a
//!   [`ResponseSink`] whenever the client socket's output has room. The exchange writes
//!   the head, body pieces and the end (with trailers) as they become available, stops
//!   when [`ResponseSink::has_room`] turns false, and returns `Pending` (having arranged
//!   a wake-up if it waits for something other than room) or `Ready(Ok(()))` once ended.
//!   A slow reader therefore slows the producer; nothing buffers a whole body.
//! - **Cancellation is drop.** When the client goes away, a deadline passes or the
//!   session closes for any reason, the task drops the exchange: a gateway kills its
//!   child's process group or sends FastCGI `ABORT_REQUEST` in its `Drop`.
//! - **Shared state** (pools, counters, spawned applications) lives in the
//!   [`Server`] that [`Request::server`] hands every route kind.
//!
//! Route kinds live in [`route_kinds`](crate::route_kinds), one file each.

use crate::response::ResponseSink;
use crate::route_kinds::fixed::FixedExchange;
use crate::router::Route;
use crate::server::Server;
use bytes::Bytes;
use http_proto::RequestHead;
use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

/// What a route kind sees of a request when it starts its exchange.
#[derive(Debug)]
pub(crate) struct Request<'a> {
    /// The request head (its `Bytes` are cheap to clone into a long-lived exchange).
    pub(crate) head: &'a RequestHead,
    /// The path in normal form, as the route matched it.
    pub(crate) path: &'a [u8],
    /// The route that matched.
    pub(crate) route: &'static Route,
    /// The client's address (`None` on a Unix socket).
    pub(crate) peer: Option<SocketAddr>,
    /// The server's address on this connection (`None` on a Unix socket).
    pub(crate) local: Option<SocketAddr>,
    /// What TLS negotiated, on a TLS connection.
    pub(crate) tls: Option<Arc<crate::tls::TlsInfo>>,
    /// State shared by every session of the server.
    pub(crate) server: &'a Arc<Server>,
    /// Set when an exchange redirected this request inside the server.
    pub(crate) redirect: Option<&'a Redirect>,
}

/// A request an exchange re-dispatched inside the server (a CGI local redirect), and
/// what the redirected-to route learns of the original (`REDIRECT_*` variables).
#[derive(Debug, Clone)]
pub(crate) struct Redirect {
    /// How many redirects led here (1 for the first); bounded by [`Redirect::MAX_DEPTH`].
    pub(crate) depth: u8,
    /// The original request's path, as received (`REDIRECT_URL`).
    pub(crate) url: Bytes,
    /// The original request's query (`REDIRECT_QUERY_STRING`).
    pub(crate) query: Option<Bytes>,
}

impl Redirect {
    /// Local redirects followed for one request before it is answered 500.
    pub(crate) const MAX_DEPTH: u8 = 10;
}

impl Request<'_> {
    /// The connection's facts an exchange keeps (for a local redirect's dispatch).
    pub(crate) fn conn_info(&self) -> crate::transport::ConnInfo {
        crate::transport::ConnInfo {
            peer: self.peer,
            local: self.local,
            tls: self.tls.clone(),
            ..crate::transport::ConnInfo::default()
        }
    }

    /// The path after the route's prefix.
    pub(crate) fn rest(&self) -> &[u8] {
        self.route.rest_of(self.path)
    }
}

/// Whether an exchange can take the request body now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyRoom {
    /// Send the next piece (the first `Ready` asks the client for the body).
    Ready,
    /// The exchange will never read the body.
    Refused,
}

/// An exchange could not produce (the rest of) its response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExchangeError {
    /// The status to answer with if no response head went out yet (500, 502, 503, 504).
    pub(crate) status: u16,
    /// What went wrong, for the error log.
    pub(crate) message: Cow<'static, str>,
}

impl ExchangeError {
    /// An error answered with `status` when nothing was sent yet.
    pub(crate) fn new(status: u16, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (answers {})", self.message, self.status)
    }
}

impl std::error::Error for ExchangeError {}

/// A started exchange as the session task holds it: a fixed response's inline (the
/// benchmark path allocates nothing), any other boxed. The task uses it only as
/// `&mut dyn Exchange`, through [`Started::get`]: one interface either way.
pub(crate) enum Started {
    /// A `respond` route's exchange, a pointer to the prepared response.
    Fixed(FixedExchange),
    /// Any other route kind's.
    Boxed(Box<dyn Exchange>),
}

impl Started {
    /// The exchange.
    pub(crate) fn get(&mut self) -> &mut dyn Exchange {
        match self {
            Self::Fixed(fixed) => fixed,
            Self::Boxed(boxed) => boxed.as_mut(),
        }
    }
}

impl From<Box<dyn Exchange>> for Started {
    fn from(boxed: Box<dyn Exchange>) -> Self {
        Self::Boxed(boxed)
    }
}

/// One request being answered by a route kind. See the module docs for the protocol.
///
/// Owned by the session task: polled from it, never from another task, and dropped by it
/// to cancel. `Send` because a multi-thread runtime may move the task between threads.
pub(crate) trait Exchange: Send {
    /// Whether the exchange can take the next piece of the request body. Polled before
    /// the first piece (to decide whether the body is read at all) and after each piece;
    /// `Pending` must arrange a wake-up for when there is room.
    ///
    /// Only asked while a body remains to be read. The default refuses the body.
    fn poll_body_room(&mut self, _cx: &mut Context<'_>) -> Poll<BodyRoom> {
        Poll::Ready(BodyRoom::Refused)
    }

    /// The next piece of the request body, de-chunked. Arrives only after
    /// `poll_body_room` said `Ready(BodyRoom::Ready)`, at most one piece per such answer.
    fn body_data(&mut self, _data: Bytes) {}

    /// The request body is complete (also called for a request without a body).
    fn body_end(&mut self) {}

    /// Writes what it can of the response into `sink`. `Ready(Ok(()))` once the response
    /// has ended ([`ResponseSink::end`]); `Ready(Err(_))` if it cannot go on (the task
    /// answers the error's status if no head went out, else cuts the connection);
    /// `Pending` when it waits for something (a wake-up arranged) or for room
    /// (`!sink.has_room()`: the task polls again once output drains).
    fn poll_response(
        &mut self,
        cx: &mut Context<'_>,
        sink: &mut ResponseSink<'_>,
    ) -> Poll<Result<(), ExchangeError>>;

    /// Whether the exchange is dropped when the client closes its side before the
    /// response is complete (nginx's default for upstreams): true for gateways, whose
    /// program or application would otherwise work for nobody. A fixed or static response
    /// is still sent to a client that half-closed after its request.
    fn cancel_on_client_close(&self) -> bool {
        false
    }
}
