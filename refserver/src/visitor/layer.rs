//! The `tower::Layer` that loads a visitor's session before the handler and saves it after.

use super::handle::Visitor;
use super::store::{MemoryVisitorStore, VisitorStore};
use crate::handler::BoxError;
use crate::log_limit::LogBudget;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use session_core::visitor::{CookieHeader, SameSite, SessionId, SetCookie};
use smallvec::SmallVec;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

/// Ids tried from one request's cookies: a browser may send the same name twice (a
/// narrower path's cookie first, RFC 6265 §5.4), rarely more.
const MAX_PRESENTED: usize = 4;

/// Visitor sessions for the handlers it wraps: the id from the cookie, the value from the
/// store, a typed [`Visitor`] in the request's extensions, and the store and cookie
/// brought up to date once the handler has answered.
///
/// The cookie carries only the id (128 random bits); the data stays on the server. Its
/// flags are session-core's defaults (`Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`,
/// host-only, no `Max-Age`: gone when the browser closes), changed with the setters
/// below. Idle and absolute expiry are the store's ([`MemoryVisitorStore::new`] takes
/// them; [`ConfiguredStore`](super::ConfiguredStore) reads them from `[visitor_sessions]`,
/// in memory or in Redis). A response that sets or deletes the cookie gets `Cache-Control: no-store` when
/// it has no `Cache-Control` of its own, so no cache hands it to someone else. A store
/// that fails, or is slower than its timeout, answers 503 (logged, at most 20 lines a
/// second); routes without the layer never touch the store.
///
/// ```
/// use refserver::visitor::{MemoryVisitorStore, StoreLimits, VisitorLayer};
/// use std::time::Duration;
///
/// let mut limits = StoreLimits::default();
/// limits.idle_timeout = Duration::from_secs(15 * 60);
/// let store = MemoryVisitorStore::<u64>::new(limits);
/// let layer = VisitorLayer::with_store(store).cookie_name("__Host-id");
/// # let _ = layer;
/// ```
pub struct VisitorLayer<T, S = MemoryVisitorStore<T>> {
    settings: Arc<Settings<S>>,
    _value: PhantomData<fn() -> T>,
}

struct Settings<S> {
    store: S,
    cookie: String,
    secure: bool,
    same_site: Option<SameSite>,
    path: String,
}

impl<T, S> Clone for VisitorLayer<T, S> {
    fn clone(&self) -> Self {
        Self {
            settings: Arc::clone(&self.settings),
            _value: PhantomData,
        }
    }
}

impl<T, S> fmt::Debug for VisitorLayer<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisitorLayer")
            .field("cookie", &self.settings.cookie)
            .field("secure", &self.settings.secure)
            .finish_non_exhaustive()
    }
}

impl<T: Clone + Send + Sync + 'static> VisitorLayer<T> {
    /// Sessions in a [`MemoryVisitorStore`] with session-core's default limits, cookie `id`.
    #[must_use]
    pub fn new() -> Self {
        Self::with_store(MemoryVisitorStore::default())
    }
}

impl<T: Clone + Send + Sync + 'static> Default for VisitorLayer<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone + Send + Sync + 'static, S: VisitorStore<T>> VisitorLayer<T, S> {
    /// Sessions in `store`, cookie `id`.
    #[must_use]
    pub fn with_store(store: S) -> Self {
        Self {
            settings: Arc::new(Settings {
                store,
                cookie: "id".to_owned(),
                secure: true,
                same_site: Some(SameSite::Lax),
                path: "/".to_owned(),
            }),
            _value: PhantomData,
        }
    }

    fn settings_mut(&mut self) -> Option<&mut Settings<S>> {
        // Unique until the layer is cloned or applied: settings come first.
        Arc::get_mut(&mut self.settings)
    }

    /// The cookie's name (`id`; `__Host-id` over HTTPS). Set before the layer is
    /// cloned or applied; later calls change nothing.
    #[must_use]
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        if let Some(s) = self.settings_mut() {
            s.cookie = name.into();
        }
        self
    }

    /// Whether the cookie is `Secure` (on by default). Off only for plain-HTTP
    /// development: browsers do not send a `Secure` cookie over plain HTTP.
    #[must_use]
    pub fn secure(mut self, on: bool) -> Self {
        if let Some(s) = self.settings_mut() {
            s.secure = on;
        }
        self
    }

    /// The cookie's `SameSite` (`Lax` by default).
    #[must_use]
    pub fn same_site(mut self, same_site: Option<SameSite>) -> Self {
        if let Some(s) = self.settings_mut() {
            s.same_site = same_site;
        }
        self
    }

    /// The cookie's `Path` (`/` by default).
    #[must_use]
    pub fn path(mut self, path: impl Into<String>) -> Self {
        if let Some(s) = self.settings_mut() {
            s.path = path.into();
        }
        self
    }

    /// The store, e.g. to count its sessions.
    #[must_use]
    pub fn store(&self) -> &S {
        &self.settings.store
    }
}

impl<I, T, S> Layer<I> for VisitorLayer<T, S> {
    type Service = VisitorService<I, T, S>;

    fn layer(&self, inner: I) -> Self::Service {
        VisitorService {
            inner,
            settings: Arc::clone(&self.settings),
            _value: PhantomData,
        }
    }
}

/// A service wrapped by a [`VisitorLayer`].
pub struct VisitorService<I, T, S> {
    inner: I,
    settings: Arc<Settings<S>>,
    _value: PhantomData<fn() -> T>,
}

impl<I: Clone, T, S> Clone for VisitorService<I, T, S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            settings: Arc::clone(&self.settings),
            _value: PhantomData,
        }
    }
}

impl<I, T, S> fmt::Debug for VisitorService<I, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VisitorService")
            .field("cookie", &self.settings.cookie)
            .finish_non_exhaustive()
    }
}

type BoxFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<I, T, S, B, RB> Service<http::Request<B>> for VisitorService<I, T, S>
where
    I: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    I::Future: Send,
    B: Send + 'static,
    RB: Default + Send + 'static,
    T: Clone + Send + Sync + 'static,
    S: VisitorStore<T>,
{
    type Response = http::Response<RB>;
    type Error = I::Error;
    type Future = BoxFuture<http::Response<RB>, I::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), I::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The instance polled ready answers this request; its clone waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let settings = Arc::clone(&self.settings);
        Box::pin(async move {
            let presented = presented_ids(request.headers(), &settings.cookie);
            let mut live = None;
            for id in &presented {
                match settings.store.load(id).await {
                    Ok(Some(value)) => {
                        live = Some((*id, value));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => return Ok(unavailable(&e)),
                }
            }
            let (id, value) = live.unzip();
            let visitor = Visitor::new(value);
            request.extensions_mut().insert(visitor.clone());
            let mut response = inner.call(request).await?;
            let cookie = match settle(&settings, &visitor, id, !presented.is_empty()).await {
                Ok(cookie) => cookie,
                Err(e) => return Ok(unavailable(&e)),
            };
            if let Some(cookie) = cookie {
                let headers = response.headers_mut();
                headers.append(SET_COOKIE, cookie);
                if !headers.contains_key(CACHE_CONTROL) {
                    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                }
            }
            Ok(response)
        })
    }
}

/// The well-formed session ids among the request's cookies of that name.
fn presented_ids(headers: &http::HeaderMap, name: &str) -> SmallVec<[SessionId; 2]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|value| CookieHeader::parse(value.as_bytes()).iter())
        .filter(|(n, _)| *n == name)
        .filter_map(|(_, text)| SessionId::parse(text).ok())
        .take(MAX_PRESENTED)
        .collect()
}

/// Writes what the handler did to the store; the `Set-Cookie` value to send, if any.
async fn settle<T, S>(
    settings: &Settings<S>,
    visitor: &Visitor<T>,
    id: Option<SessionId>,
    presented: bool,
) -> Result<Option<HeaderValue>, BoxError>
where
    T: Clone + Send + Sync + 'static,
    S: VisitorStore<T>,
{
    let (value, changed, rotate, end) = {
        let shared = visitor.lock();
        (
            shared.value.clone(),
            shared.changed,
            shared.rotate,
            shared.end,
        )
    };
    let cookie = |id: Option<&SessionId>| {
        let encoded = id.map(SessionId::encode);
        let cookie = match &encoded {
            Some(e) => SetCookie::new(&settings.cookie, e.as_str()),
            None => SetCookie::removal(&settings.cookie),
        };
        let text = cookie
            .secure(settings.secure)
            .same_site(settings.same_site)
            .path(Some(&settings.path))
            .encode()?;
        Ok::<_, BoxError>(Some(HeaderValue::try_from(text)?))
    };
    if end {
        if let Some(id) = &id {
            settings.store.remove(id).await?;
        }
        return if presented { cookie(None) } else { Ok(None) };
    }
    let mut current = id;
    let mut renewed = false;
    if rotate && let Some(old) = current {
        current = settings.store.rotate(&old).await?;
        renewed = true;
    }
    if changed && let Some(value) = value {
        let saved = match &current {
            Some(id) => settings.store.save(id, value.clone()).await?,
            None => false,
        };
        if !saved {
            current = Some(settings.store.create(value).await?);
            renewed = true;
        }
    }
    match current {
        Some(id) if renewed => cookie(Some(&id)),
        _ => Ok(None),
    }
}

/// 503s logged: while the store is down every session request fails the same way.
static UNAVAILABLE: LogBudget = LogBudget::new("visitor sessions answered 503");

/// The answer when the store fails (or the cookie settings are invalid): 503, logged
/// (rate-limited).
fn unavailable<RB: Default>(e: &BoxError) -> http::Response<RB> {
    if UNAVAILABLE.allow() {
        tracing::error!("visitor sessions: {e}; answering 503");
    }
    let mut response = http::Response::new(RB::default());
    *response.status_mut() = http::StatusCode::SERVICE_UNAVAILABLE;
    response
}
