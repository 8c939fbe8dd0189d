//! The embedding API: build a server from a [`Config`], register handlers and layers by
//! name, start it, and keep a handle to reload or stop it. The binary is a thin `main`
//! over the same calls.

use crate::config::{Config, ConfigError};
use crate::route_kinds::handler::HandlerService;
use crate::route_kinds::handler::service::{
    self, BoxError, Handlers, LayerFn, Registered, Request,
};
use crate::router::Router;
use crate::server::{self, Command, Launch};
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower::{Layer, Service};

/// Builds a server: its configuration, the in-process handlers its `handler` routes name,
/// and the filters (`tower::Layer`s) around them. See the [crate docs](crate) for an
/// example.
pub struct Builder {
    config: Config,
    handlers: Handlers,
    /// Names registered twice: an error at start.
    duplicates: Vec<String>,
    signals: bool,
    reload: Option<server::ReloadConfig>,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("handlers", &self.handlers)
            .field("signals", &self.signals)
            .finish_non_exhaustive()
    }
}

impl Builder {
    /// A server with this configuration, no handlers, and no signal handling.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            config,
            handlers: Handlers::default(),
            duplicates: Vec::new(),
            signals: false,
            reload: None,
        }
    }

    /// Registers `service` as the handler named `name`, for routes with
    /// `handler = { name = "..." }`.
    ///
    /// Any `tower::Service<http::Request<Body>>` answering an `http::Response` whose body
    /// is an `http_body::Body` will do: an axum `Router`, a `tower::service_fn`, or an
    /// `async fn` through [`handler_fn`](crate::handler::handler_fn). It is cloned for
    /// each request and polled inside the session task that received it.
    #[must_use]
    pub fn handler<S, B>(mut self, name: impl Into<String>, service: S) -> Self
    where
        S: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        S::Error: Into<BoxError>,
        S::Future: Send + 'static,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let name = name.into();
        let registered = Registered {
            service: service::erase(service),
            counters: Arc::default(),
        };
        if self
            .handlers
            .handlers
            .insert(name.clone(), registered)
            .is_some()
        {
            self.duplicates.push(name);
        }
        self
    }

    /// Wraps every handler route in `layer` (a filter, as ISAPI filters and NSAPI SAFs
    /// were: a request id, authentication, logging). The first added is outermost, and
    /// these wrap a route's own [`named_layer`](Self::named_layer)s.
    #[must_use]
    pub fn layer<L, B>(mut self, layer: L) -> Self
    where
        L: Layer<HandlerService> + Send + Sync + 'static,
        L::Service: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        self.handlers.layers.push(service::erase_layer(layer));
        self
    }

    /// Registers `layer` under `name`, for routes that list it:
    /// `handler = { name = "app", layers = ["auth"] }` (the first listed outermost).
    #[must_use]
    pub fn named_layer<L, B>(mut self, name: impl Into<String>, layer: L) -> Self
    where
        L: Layer<HandlerService> + Send + Sync + 'static,
        L::Service: Service<Request, Response = http::Response<B>> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Error: Into<BoxError>,
        <L::Service as Service<Request>>::Future: Send + 'static,
        B: http_body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<BoxError>,
    {
        let layer: LayerFn = service::erase_layer(layer);
        let name = name.into();
        if self
            .handlers
            .named_layers
            .insert(name.clone(), layer)
            .is_some()
        {
            self.duplicates.push(format!("layer {name}"));
        }
        self
    }

    /// Whether the server handles SIGTERM and SIGINT (drain, then stop: [`Running::wait`]
    /// returns) and SIGHUP (reload from [`reload_from`](Self::reload_from)), as the
    /// binary does. Off by default: signals belong to the embedding program. Once on,
    /// the process keeps tokio's handlers for them.
    #[must_use]
    pub fn signals(mut self, on: bool) -> Self {
        self.signals = on;
        self
    }

    /// Where SIGHUP reads the configuration again (the binary re-reads its file).
    #[must_use]
    pub fn reload_from(
        mut self,
        read: impl Fn() -> Result<Config, ConfigError> + Send + 'static,
    ) -> Self {
        self.reload = Some(Box::new(move || read().map_err(Into::into)));
        self
    }

    /// Checks the configuration and compiles its routes without starting anything: what
    /// `start` would refuse (a missing static directory, a handler name nothing was
    /// registered under) is refused here, with the route's number.
    ///
    /// # Errors
    /// [`Error::Config`] with the first fault.
    pub fn check(&self) -> Result<(), Error> {
        if let Some(name) = self.duplicates.first() {
            return Err(Error::Config(ConfigError::new(format!(
                "handler {name}: registered twice"
            ))));
        }
        self.config.validate()?;
        Router::with_handlers(&self.config.routes, &self.handlers)?;
        // Certificates and keys are read and checked (match, validity) as `start` will.
        for listen in &self.config.listen {
            if let Some(tls) = listen.tls() {
                crate::tls::acceptor::build(tls).map_err(|e| {
                    Error::Config(ConfigError::new(format!("listen `{}`: {e}", listen.addr())))
                })?;
            }
        }
        // As `nginx -t` does: a log that cannot be opened is found now, not at start.
        crate::access_log::check_target(self.config.access_log()).map_err(|e| {
            Error::Config(ConfigError::new(format!(
                "access_log `{}`: {e}",
                self.config.access_log()
            )))
        })?;
        Ok(())
    }

    /// Binds the listeners and starts serving on worker threads of its own; returns at
    /// once. Call it from any thread, inside an async runtime or not.
    ///
    /// # Errors
    /// [`Error::Config`] as for [`check`](Self::check); [`Error::Start`] when a listener
    /// cannot be bound or the access log opened.
    pub fn start(self) -> Result<Running, Error> {
        self.check()?;
        let started = server::start(
            &self.config,
            Launch {
                handlers: Arc::new(self.handlers),
                signals: self.signals,
                reload: self.reload,
            },
        )
        .map_err(|e| Error::Start(e.to_string()))?;
        Ok(Running {
            listeners: started.listeners,
            handle: Handle {
                commands: started.commands,
            },
            control: started.control,
        })
    }
}

/// A running server. Dropping it does not stop the server: call
/// [`shutdown`](Self::shutdown), or [`Handle::shutdown`] and then [`wait`](Self::wait).
#[derive(Debug)]
pub struct Running {
    listeners: Vec<Listening>,
    handle: Handle,
    control: std::thread::JoinHandle<()>,
}

/// One listening socket of a running server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Listening {
    /// A TCP address, with the port the kernel picked for port 0.
    Tcp(SocketAddr),
    /// A TCP address serving HTTPS.
    Tls(SocketAddr),
    /// A Unix socket at this path.
    Unix(PathBuf),
}

impl fmt::Display for Listening {
    /// `http://127.0.0.1:8080/`, `https://127.0.0.1:8443/` or `unix:/path`, as the
    /// binary prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "http://{addr}/"),
            Self::Tls(addr) => write!(f, "https://{addr}/"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Running {
    /// Where the server listens, in configuration order.
    #[must_use]
    pub fn listeners(&self) -> &[Listening] {
        &self.listeners
    }

    /// The first TCP address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.listeners.iter().find_map(|l| match l {
            Listening::Tcp(addr) | Listening::Tls(addr) => Some(*addr),
            Listening::Unix(_) => None,
        })
    }

    /// A handle to reload or stop the server from anywhere.
    #[must_use]
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Blocks until the server has stopped (a [`Handle::shutdown`], or SIGTERM/SIGINT
    /// with [`Builder::signals`]) and drained. From async code, call it on a blocking
    /// thread (`tokio::task::spawn_blocking`).
    pub fn wait(self) {
        // The control thread catches nothing that could panic; a panic there is a bug
        // already reported on stderr.
        let _ = self.control.join();
    }

    /// Stops accepting, drains (requests in flight finish, up to `shutdown_timeout_ms`),
    /// stops the workers and returns.
    pub fn shutdown(self) {
        self.handle.shutdown();
        self.wait();
    }
}

/// Controls a running server; clone it freely.
#[derive(Debug, Clone)]
pub struct Handle {
    commands: tokio::sync::mpsc::UnboundedSender<Command>,
}

impl Handle {
    /// Begins the graceful shutdown and returns at once ([`Running::wait`] returns once
    /// it is over). Nothing happens if it has already stopped.
    pub fn shutdown(&self) {
        let _ = self.commands.send(Command::Stop);
    }

    /// Applies a new configuration without dropping sessions, as SIGHUP does: routes,
    /// the access log, the drain deadline and the limits of new sessions change at once;
    /// `listen`, `workers`, `runtime`, `backlog` and `max_sessions`/`overload` need a
    /// restart (logged, not applied). Blocks until it is applied or refused.
    ///
    /// # Errors
    /// [`Error::Reload`] when the configuration does not compile (the running one stays);
    /// [`Error::Stopped`] when the server has stopped.
    pub fn reload(&self, config: Config) -> Result<(), Error> {
        let (reply, outcome) = std::sync::mpsc::channel();
        self.commands
            .send(Command::Reload(Box::new(config), reply))
            .map_err(|_| Error::Stopped)?;
        outcome
            .recv()
            .map_err(|_| Error::Stopped)?
            .map_err(Error::Reload)
    }
}

/// Why a server could not be built, started or reloaded.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is wrong (the message names the file, line and column, or the
    /// route's number).
    Config(ConfigError),
    /// A listener could not be bound, or the access log opened.
    Start(String),
    /// A reload was refused; the running configuration stays.
    Reload(String),
    /// The server has stopped.
    Stopped,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "configuration error: {e}"),
            Self::Start(e) => write!(f, "cannot start: {e}"),
            Self::Reload(e) => write!(f, "reload refused: {e}"),
            Self::Stopped => f.write_str("the server has stopped"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Config(e) => Some(e),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
