//! The typed session value a handler sees: [`Visitor`], in the request's extensions.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// This visitor's session, as the handler sees it: read the value, change it, rotate the id
/// on a privilege change, or end the session. Found in the request's extensions (put there
/// by [`VisitorLayer`](super::VisitorLayer)):
///
/// ```
/// use refserver::handler::Request;
/// use refserver::visitor::Visitor;
///
/// async fn visits(request: Request) -> http::Response<String> {
///     let Some(visitor) = Visitor::<u64>::of(&request) else {
///         return http::Response::new("no visitor layer".to_owned());
///     };
///     let n = visitor.get().unwrap_or(0) + 1;
///     visitor.set(n);
///     http::Response::new(n.to_string())
/// }
/// # let _ = visits;
/// ```
///
/// Changes are written to the store once the handler has answered; a visitor with no
/// session gets one (and its cookie) only when a value is set, so a crawler that never
/// logs in costs nothing.
#[derive(Debug)]
pub struct Visitor<T> {
    shared: Arc<Mutex<Shared<T>>>,
}

impl<T> Clone for Visitor<T> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// What the handler did to the session, read by the layer after it answered.
#[derive(Debug)]
pub(super) struct Shared<T> {
    pub(super) value: Option<T>,
    /// The request came with a live session.
    pub(super) existed: bool,
    pub(super) changed: bool,
    pub(super) rotate: bool,
    pub(super) end: bool,
}

impl<T: Clone + Send + Sync + 'static> Visitor<T> {
    pub(super) fn new(value: Option<T>) -> Self {
        Self {
            shared: Arc::new(Mutex::new(Shared {
                existed: value.is_some(),
                value,
                changed: false,
                rotate: false,
                end: false,
            })),
        }
    }

    /// The visitor's session in `request`, if a [`VisitorLayer`](super::VisitorLayer)
    /// for `T` put one there.
    #[must_use]
    pub fn of<B>(request: &http::Request<B>) -> Option<Self> {
        request.extensions().get::<Self>().cloned()
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, Shared<T>> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The session's value; `None` for a visitor without a (live) session.
    #[must_use]
    pub fn get(&self) -> Option<T> {
        self.lock().value.clone()
    }

    /// Whether the request came with a live session.
    #[must_use]
    pub fn existed(&self) -> bool {
        self.lock().existed
    }

    /// Sets the value; a visitor without a session gets one.
    pub fn set(&self, value: T) {
        let mut shared = self.lock();
        shared.value = Some(value);
        shared.changed = true;
        shared.end = false;
    }

    /// Gives the session a new id and kills the old one, keeping the value: call it on
    /// login, logout and every role change (OWASP's renewal on privilege change).
    pub fn rotate(&self) {
        self.lock().rotate = true;
    }

    /// Ends the session (logout): removed from the store, the cookie deleted.
    pub fn end(&self) {
        let mut shared = self.lock();
        shared.end = true;
        shared.value = None;
        shared.changed = false;
    }
}
