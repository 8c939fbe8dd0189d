//! What a handler is to refserver: any `tower::Service` over `http` types, erased to one
//! type at registration, and the registry of handlers and layers by name.

use super::body::Body;
use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::task::{Context, Poll};
use tower::util::BoxCloneSyncService;
use tower::{Layer, Service, ServiceExt};

/// The error type handlers and bodies are erased to.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A response body as refserver holds it: any handler's body, boxed.
pub type ResponseBody = UnsyncBoxBody<Bytes, BoxError>;

/// A request as a handler receives it.
pub type Request = http::Request<Body>;

/// Every handler, after registration: one clonable, shareable service type.
pub type HandlerService = BoxCloneSyncService<Request, http::Response<ResponseBody>, BoxError>;

/// Boxes a service answering any streaming body into a [`HandlerService`].
pub(crate) fn erase<S, B>(service: S) -> HandlerService
where
    S: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    BoxCloneSyncService::new(
        service
            .map_response(|response| response.map(box_body))
            .map_err(Into::into),
    )
}

/// Any body as a [`ResponseBody`], its data as `Bytes` (no copy when it already is).
fn box_body<B>(body: B) -> ResponseBody
where
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    // A layer's inner service answers a body boxed already: no second box around it.
    let mut slot = Some(body);
    if let Some(boxed) =
        (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<ResponseBody>>()
        && let Some(boxed) = boxed.take()
    {
        return boxed;
    }
    match slot {
        Some(body) => BytesBody { inner: body }.boxed_unsync(),
        None => ResponseBody::default(),
    }
}

pin_project_lite::pin_project! {
    /// A body with its data turned into `Bytes` and its errors boxed, keeping its size
    /// hint (`http_body_util`'s `map_frame` drops it, and the hint is what makes a
    /// `Content-Length` response rather than a chunked one).
    struct BytesBody<B> {
        #[pin]
        inner: B,
    }
}

impl<B> http_body::Body for BytesBody<B>
where
    B: http_body::Body,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, BoxError>>> {
        self.project().inner.poll_frame(cx).map(|frame| {
            frame.map(|frame| {
                frame
                    .map(|f| f.map_data(|mut data| data.copy_to_bytes(data.remaining())))
                    .map_err(Into::into)
            })
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A handler made from an `async fn(Request) -> Response`: see [`handler_fn`].
#[derive(Clone)]
pub struct HandlerFn<F> {
    f: F,
}

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}

/// Makes a handler from an async function of a request that always answers:
///
/// ```
/// use refserver::handler::{Request, handler_fn};
///
/// let hello = handler_fn(|_request: Request| async {
///     http::Response::new(String::from("Hello"))
/// });
/// # let _ = hello;
/// ```
///
/// The response body may be anything that implements `http_body::Body` (`String`,
/// `Bytes`, `http_body_util::Full`, a stream).
pub fn handler_fn<F, Fut, B>(f: F) -> HandlerFn<F>
where
    F: Fn(Request) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = http::Response<B>> + Send + 'static,
{
    HandlerFn { f }
}

impl<F, Fut, B> Service<Request> for HandlerFn<F>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = Infallible;
    type Future = InfallibleFuture<Fut>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        InfallibleFuture {
            inner: (self.f)(request),
        }
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`HandlerFn`]: its function's, as a `Result` that is never `Err`.
    pub struct InfallibleFuture<Fut> {
        #[pin]
        inner: Fut,
    }
}

impl<Fut> fmt::Debug for InfallibleFuture<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InfallibleFuture")
    }
}

impl<Fut: Future> Future for InfallibleFuture<Fut> {
    type Output = Result<Fut::Output, Infallible>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(Ok)
    }
}

/// A layer applied to erased handlers.
pub(crate) type LayerFn = Arc<dyn Fn(HandlerService) -> HandlerService + Send + Sync>;

/// Erases a `tower::Layer` into a [`LayerFn`].
pub(crate) fn erase_layer<L, B>(layer: L) -> LayerFn
where
    L: Layer<HandlerService> + Send + Sync + 'static,
    L::Service: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
    <L::Service as Service<Request>>::Error: Into<BoxError>,
    <L::Service as Service<Request>>::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    Arc::new(move |inner| erase(layer.layer(inner)))
}

/// One handler's live counts, shown on the status page.
#[derive(Debug, Default)]
pub(crate) struct HandlerCounters {
    /// Requests routed to it.
    pub(crate) requests: AtomicU64,
    /// Requests it failed: an `Err` from the service or its body, or a response http-proto
    /// refused (panics and timeouts are counted apart).
    pub(crate) errors: AtomicU64,
    /// Requests whose handler panicked.
    pub(crate) panics: AtomicU64,
    /// Requests past their route's `timeout_ms`.
    pub(crate) timeouts: AtomicU64,
    /// Requests being answered now.
    pub(crate) running: AtomicU64,
}

/// A registered handler: its service and its counters.
pub(crate) struct Registered {
    pub(crate) service: HandlerService,
    pub(crate) counters: Arc<HandlerCounters>,
}

/// The handlers and layers an embedding program registered, by name; fixed once the
/// server starts, so counters survive reloads (which compile routes again).
#[derive(Default)]
pub(crate) struct Handlers {
    pub(crate) handlers: BTreeMap<String, Registered>,
    /// Layers around every handler route, the first outermost.
    pub(crate) layers: Vec<LayerFn>,
    /// Layers a route names in its `layers` list.
    pub(crate) named_layers: BTreeMap<String, LayerFn>,
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handlers")
            .field("handlers", &self.handlers.keys().collect::<Vec<_>>())
            .field("layers", &self.layers.len())
            .field(
                "named_layers",
                &self.named_layers.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Handlers {
    /// The registered names, for an error message.
    pub(crate) fn names(&self) -> String {
        if self.handlers.is_empty() {
            return "none".to_owned();
        }
        let names: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        names.join(", ")
    }
}
