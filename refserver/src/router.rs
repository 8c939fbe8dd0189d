//! Routes: which configured route answers a request. First match wins, in file order.
//!
//! A route matches on a path `prefix` (bytes, like nginx `location /x`), a path `suffix`
//! (e.g. `.php`) and a `host`; every matcher it has must match. Routes see the path after
//! [`normalize_path`](http_proto::semantics::normalize_path): percent-decoded once,
//! dot-segments removed, slashes merged, so `/%63gi-bin/x` cannot slip past a `/cgi-bin/`
//! route to the static files behind it. The host is the request's authority
//! ([`RequestHead::authority`](http_proto::RequestHead::authority): an absolute-form
//! target's, else `Host`), compared without its port ([`host_without_port`]).

use crate::config::{ConfigError, RouteConfig};
use crate::route_kinds::cgi::CgiRoute;
use crate::route_kinds::echo::EchoRoute;
use crate::route_kinds::fastcgi::FastCgiRoute;
use crate::route_kinds::fixed::FixedResponse;
use crate::route_kinds::handler::HandlerRoute;
use crate::route_kinds::handler::service::Handlers;
use crate::route_kinds::static_files::StaticRoute;
use http_proto::semantics::host_without_port;
use std::cell::Cell;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::{PoisonError, RwLock};

/// The routes, compiled from the configuration.
#[derive(Debug)]
pub(crate) struct Router {
    routes: Vec<Route>,
}

/// The routes in force. A reload swaps them without putting a lock on the request path:
/// each worker thread caches the current `&'static Router` and re-reads it only when the
/// generation number moved. Routes are leaked on purpose (`Box::leak`): a request in
/// flight may still use the previous ones, and a reload is rare, so each one keeps its
/// predecessor's few kilobytes for the life of the process.
#[derive(Debug)]
pub(crate) struct RouteTable {
    generation: AtomicU64,
    current: RwLock<&'static Router>,
}

/// Generation numbers, unique in the process so a thread's cache never mistakes one
/// table's routes for another's.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static CACHED_ROUTES: Cell<(u64, Option<&'static Router>)> = const { Cell::new((0, None)) };
}

impl RouteTable {
    pub(crate) fn new(router: Router) -> Self {
        Self {
            generation: AtomicU64::new(GENERATIONS.fetch_add(1, Relaxed)),
            current: RwLock::new(Box::leak(Box::new(router))),
        }
    }

    /// The routes in force: one atomic load on the common path.
    pub(crate) fn get(&self) -> &'static Router {
        let generation = self.generation.load(Acquire);
        CACHED_ROUTES.with(|cache| match cache.get() {
            (cached, Some(router)) if cached == generation => router,
            _ => {
                let router = *self.current.read().unwrap_or_else(PoisonError::into_inner);
                cache.set((generation, Some(router)));
                router
            }
        })
    }

    /// Puts `router` in force for requests dispatched from now on.
    pub(crate) fn replace(&self, router: Router) {
        let router: &'static Router = Box::leak(Box::new(router));
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = router;
        self.generation
            .store(GENERATIONS.fetch_add(1, Relaxed), Release);
    }
}

/// One route's request count and what it matches on.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct RouteCount {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) suffix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<String>,
    pub(crate) requests: u64,
}

impl RouteCount {
    /// `prefix=/x host=a`, as log lines name routes.
    pub(crate) fn describe(&self) -> String {
        [
            ("prefix", &self.prefix),
            ("suffix", &self.suffix),
            ("host", &self.host),
        ]
        .into_iter()
        .filter_map(|(name, v)| Some(format!("{name}={}", v.as_ref()?)))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

/// A route's `host`, as nginx's `server_name` takes it: an exact name (`example.com`), a
/// leading wildcard (`*.example.com`: any name below it), a leading dot (`.example.com`:
/// the name and any below it) or a trailing wildcard (`www.example.*`). Compared without
/// case; other patterns (a `*` elsewhere, nginx's `~` regexes) are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HostPattern {
    Exact(Box<[u8]>),
    /// `*.x` and `.x`: names ending in `.x`; `.x` also matches `x`.
    Below {
        suffix: Box<[u8]>,
        itself: bool,
    },
    /// `x.*`: names starting with `x.`.
    Above(Box<[u8]>),
}

impl HostPattern {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let lower = text.to_ascii_lowercase();
        let (pattern, star) = if let Some(rest) = lower.strip_prefix("*.") {
            (
                Self::Below {
                    suffix: format!(".{rest}").into_bytes().into(),
                    itself: false,
                },
                rest,
            )
        } else if let Some(rest) = lower.strip_prefix('.') {
            (
                Self::Below {
                    suffix: format!(".{rest}").into_bytes().into(),
                    itself: true,
                },
                rest,
            )
        } else if let Some(rest) = lower.strip_suffix(".*") {
            (Self::Above(format!("{rest}.").into_bytes().into()), rest)
        } else {
            (Self::Exact(lower.as_bytes().into()), lower.as_str())
        };
        let ok = !star.is_empty()
            && star
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b':');
        if !ok {
            return Err(
                "not a host name or a `*.example.com`, `.example.com`, `www.example.*` wildcard"
                    .to_owned(),
            );
        }
        Ok(pattern)
    }

    /// Whether `host` (without its port) matches.
    pub(crate) fn matches(&self, host: &[u8]) -> bool {
        let lower = |b: &[u8]| b.to_ascii_lowercase();
        match self {
            Self::Exact(name) => host.eq_ignore_ascii_case(name),
            Self::Below { suffix, itself } => {
                let host = lower(host);
                (host.ends_with(suffix) && host.len() > suffix.len())
                    || (*itself && host == suffix[1..])
            }
            Self::Above(prefix) => {
                let host = lower(host);
                host.starts_with(prefix) && host.len() > prefix.len()
            }
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Exact(name) => String::from_utf8_lossy(name).into_owned(),
            Self::Below {
                suffix,
                itself: false,
            } => format!("*{}", String::from_utf8_lossy(suffix)),
            Self::Below {
                suffix,
                itself: true,
            } => String::from_utf8_lossy(suffix).into_owned(),
            Self::Above(prefix) => format!("{}*", String::from_utf8_lossy(prefix)),
        }
    }
}

/// One route: its matchers and what it does.
pub(crate) struct Route {
    prefix: Option<Box<[u8]>>,
    suffix: Option<Box<[u8]>>,
    host: Option<HostPattern>,
    /// Which clients may use it (`allow`/`deny`).
    pub(crate) access: Option<crate::access_rules::AccessRules>,
    /// Requests routed here since the routes were (re)loaded.
    pub(crate) requests: AtomicU64,
    /// What the route does.
    pub(crate) kind: RouteKind,
}

/// What a route does.
pub(crate) enum RouteKind {
    /// A fixed response.
    Respond(FixedResponse),
    /// Static files.
    Static(StaticRoute),
    /// The status page.
    Status,
    /// The request body streamed back.
    Echo(EchoRoute),
    /// CGI programs.
    Cgi(Box<CgiRoute>),
    /// FastCGI applications.
    FastCgi(Box<FastCgiRoute>),
    /// An in-process handler.
    Handler(Box<HandlerRoute>),
    /// A test's own exchange (the session task's tests).
    #[cfg(test)]
    TestDouble(crate::session_task::tests::StartDouble),
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Route({})", self.describe())
    }
}

impl Router {
    /// Compiles the routes; a static directory that does not exist is an error.
    #[cfg(test)]
    pub(crate) fn new(routes: &[RouteConfig]) -> Result<Self, ConfigError> {
        Self::with_handlers(routes, &Handlers::default())
    }

    /// Compiles the routes, `handler` routes against the registered `handlers`.
    pub(crate) fn with_handlers(
        routes: &[RouteConfig],
        handlers: &Handlers,
    ) -> Result<Self, ConfigError> {
        let routes = routes
            .iter()
            .enumerate()
            .map(|(i, r)| Route::new(i + 1, r, handlers))
            .collect::<Result<_, _>>()?;
        Ok(Self { routes })
    }

    /// Each route's matchers and request count, in order, for the status page.
    pub(crate) fn route_counts(&self) -> Vec<RouteCount> {
        let text = |v: &Option<Box<[u8]>>| {
            v.as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        self.routes
            .iter()
            .map(|r| RouteCount {
                prefix: text(&r.prefix),
                suffix: text(&r.suffix),
                host: r.host.as_ref().map(HostPattern::describe),
                requests: r.requests.load(Relaxed),
            })
            .collect()
    }

    /// The FastCGI routes, for the gateway to attach to its upstreams.
    pub(crate) fn fastcgi_routes(&self) -> impl Iterator<Item = &FastCgiRoute> {
        self.routes.iter().filter_map(|r| match &r.kind {
            RouteKind::FastCgi(f) => Some(&**f),
            _ => None,
        })
    }

    /// The first route matching the request's authority (see the module docs) and path.
    pub(crate) fn find(&self, host: Option<&[u8]>, path: &[u8]) -> Option<&Route> {
        let host = host.map(host_without_port);
        self.routes.iter().find(|r| r.matches(host, path))
    }

    /// The routes, in order.
    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }
}

impl Route {
    fn new(n: usize, config: &RouteConfig, handlers: &Handlers) -> Result<Self, ConfigError> {
        let kind = if let Some(r) = &config.respond {
            RouteKind::Respond(FixedResponse::new(n, r)?)
        } else if let Some(s) = &config.static_files {
            RouteKind::Static(StaticRoute::new(n, s)?)
        } else if config.status.is_some() {
            RouteKind::Status
        } else if let Some(e) = &config.echo {
            RouteKind::Echo(EchoRoute::new(e))
        } else if let Some(c) = &config.cgi {
            RouteKind::Cgi(Box::new(CgiRoute::new(n, config.prefix.as_deref(), c)?))
        } else if let Some(f) = &config.fastcgi {
            RouteKind::FastCgi(Box::new(FastCgiRoute::new(n, config.prefix.as_deref(), f)?))
        } else if let Some(h) = &config.handler {
            RouteKind::Handler(Box::new(HandlerRoute::new(n, h, handlers)?))
        } else {
            return Err(ConfigError::new(format!("route {n}: no route kind")));
        };
        Ok(Self {
            prefix: config.prefix.as_deref().map(|p| p.as_bytes().into()),
            suffix: config.suffix.as_deref().map(|s| s.as_bytes().into()),
            host: config
                .host
                .as_deref()
                .map(HostPattern::parse)
                .transpose()
                .map_err(|e| ConfigError::new(format!("route {n}: host: {e}")))?,
            access: crate::access_rules::AccessRules::new(&config.allow, &config.deny)
                .map_err(|e| ConfigError::new(format!("route {n}: {e}")))?,
            requests: AtomicU64::new(0),
            kind,
        })
    }

    fn matches(&self, host: Option<&[u8]>, path: &[u8]) -> bool {
        self.prefix.as_deref().is_none_or(|p| path.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| path.ends_with(s))
            && self
                .host
                .as_ref()
                .is_none_or(|h| host.is_some_and(|got| h.matches(got)))
    }

    /// The path after this route's prefix (the whole path when it has none), always
    /// starting at a `/` boundary the static route can look up.
    pub(crate) fn rest_of<'p>(&self, path: &'p [u8]) -> &'p [u8] {
        match self.prefix.as_deref() {
            Some(p) => path.get(p.len()..).unwrap_or(&[]),
            None => path,
        }
    }

    /// A short description for logs: `prefix=/x suffix=.php host=a`.
    pub(crate) fn describe(&self) -> String {
        let text = |v: &Option<Box<[u8]>>| {
            v.as_deref()
                .map(|v| String::from_utf8_lossy(v).into_owned())
        };
        let parts = [
            ("prefix", text(&self.prefix)),
            ("suffix", text(&self.suffix)),
            ("host", self.host.as_ref().map(HostPattern::describe)),
        ];
        parts
            .into_iter()
            .filter_map(|(name, value)| Some(format!("{name}={}", value?)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

#[cfg(test)]
impl Router {
    /// `routes`, behind a first route at `prefix` answered by a test's own exchange.
    pub(crate) fn with_test_double(
        prefix: &str,
        start: crate::session_task::tests::StartDouble,
        routes: &[RouteConfig],
    ) -> Self {
        let mut router = Self::new(routes).expect("test routes compile");
        router.routes.insert(
            0,
            Route {
                prefix: Some(prefix.as_bytes().into()),
                suffix: None,
                host: None,
                access: None,
                requests: AtomicU64::new(0),
                kind: RouteKind::TestDouble(start),
            },
        );
        router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_patterns_match_as_nginx_server_name() {
        let m = |pattern: &str, host: &str| {
            HostPattern::parse(pattern)
                .unwrap()
                .matches(host.as_bytes())
        };
        assert!(m("Example.com", "example.COM"));
        assert!(!m("example.com", "www.example.com"));
        assert!(m("*.example.com", "www.example.com") && m("*.example.com", "a.b.example.com"));
        assert!(!m("*.example.com", "example.com") && !m("*.example.com", "badexample.com"));
        assert!(m(".example.com", "example.com") && m(".example.com", "www.example.com"));
        assert!(m("www.example.*", "www.example.org") && !m("www.example.*", "www.example."));
        assert!(!m("www.example.*", "www.examples.org"));
        assert_eq!(
            HostPattern::parse("*.Example.com").unwrap().describe(),
            "*.example.com"
        );
    }
    use crate::config::Config;

    fn router(toml: &str) -> Router {
        let config = Config::parse(toml).unwrap();
        config.validate().unwrap();
        Router::new(&config.routes).unwrap()
    }

    fn kind_of(r: &Router, host: Option<&[u8]>, path: &[u8]) -> &'static str {
        match r.find(host, path).map(|r| &r.kind) {
            Some(RouteKind::Respond(f)) if f.body == "a" => "a",
            Some(RouteKind::Respond(_)) => "respond",
            Some(RouteKind::Static(_)) => "static",
            Some(RouteKind::Status) => "status",
            Some(RouteKind::Echo(_)) => "echo",
            Some(RouteKind::TestDouble(_)) => "test",
            Some(RouteKind::Cgi(_)) => "cgi",
            Some(RouteKind::FastCgi(_)) => "fastcgi",
            Some(RouteKind::Handler(_)) => "handler",
            None => "none",
        }
    }

    #[test]
    fn first_match_wins_in_file_order() {
        let r = router(
            r#"
[[route]]
prefix = "/status"
host = "admin.example"
status = {}
[[route]]
prefix = "/plain"
respond = { body = "a" }
[[route]]
suffix = ".php"
fastcgi = { upstreams = ["127.0.0.1:9000"], program = "/srv/app" }
[[route]]
prefix = "/cgi-bin/"
cgi = { program = "/bin/sh" }
[[route]]
prefix = "/"
respond = { body = "b" }
"#,
        );
        assert_eq!(kind_of(&r, Some(b"admin.example"), b"/status"), "status");
        assert_eq!(
            kind_of(&r, Some(b"ADMIN.example:8080"), b"/status"),
            "status"
        );
        assert_eq!(kind_of(&r, Some(b"other"), b"/status"), "respond");
        assert_eq!(kind_of(&r, None, b"/status"), "respond");
        assert_eq!(kind_of(&r, None, b"/plaintext"), "a");
        assert_eq!(kind_of(&r, None, b"/plain/x.php"), "a");
        assert_eq!(kind_of(&r, None, b"/x/index.php"), "fastcgi");
        assert_eq!(kind_of(&r, None, b"/cgi-bin/env"), "cgi");
        assert_eq!(kind_of(&r, None, b"/"), "respond");
        assert_eq!(kind_of(&r, None, b"*"), "none");
    }

    #[test]
    fn the_rest_of_the_path_follows_the_prefix() {
        let r = router("[[route]]\nprefix = \"/assets\"\nrespond = {}\n");
        let route = r.find(None, b"/assets/a.css").unwrap();
        assert_eq!(route.rest_of(b"/assets/a.css"), b"/a.css");
        assert_eq!(route.describe(), "prefix=/assets");
    }

    #[test]
    fn a_body_on_a_bodiless_status_is_a_config_error() {
        for status in [204, 304] {
            let text = format!(
                "[[route]]\nprefix = \"/\"\nrespond = {{ status = {status}, body = \"x\" }}\n"
            );
            let config = Config::parse(&text).unwrap();
            let err = Router::new(&config.routes).unwrap_err().to_string();
            assert!(
                err.contains(&format!("respond.status {status} has no body")),
                "{err}"
            );
        }
        let config =
            Config::parse("[[route]]\nprefix = \"/\"\nrespond = { status = 204 }\n").unwrap();
        assert!(Router::new(&config.routes).is_ok());
        let config =
            Config::parse("[[route]]\nprefix = \"/\"\nrespond = { status = 101 }\n").unwrap();
        let err = Router::new(&config.routes).unwrap_err().to_string();
        assert!(err.contains("not a final status"), "{err}");
    }

    #[test]
    fn a_missing_static_dir_is_a_config_error() {
        let config =
            Config::parse("[[route]]\nprefix = \"/\"\nstatic = { dir = \"/no/such/dir\" }\n")
                .unwrap();
        let err = Router::new(&config.routes).unwrap_err();
        assert!(err.to_string().contains("/no/such/dir"), "{err}");
    }
}
