//! The configuration file: TOML read with serde, unknown keys refused with their line number.
//! [`Config`] is also the embedding API's configuration (`refserver::Config`).
//!
//! Every field has a default, so `--check` can print the effective configuration and a
//! file written today keeps working when later issues add keys. Relative paths in a file
//! (`static.dir`, `access_log`) are resolved against the file's directory.

use crate::access_log::{LogFormat, LogTime};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The whole configuration: what the binary reads from `--config FILE`, and what an
/// embedding program builds its server from ([`Config::parse`], [`Config::load`],
/// [`Config::demo_site`]). The format is the binary's (see the README).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to listen on: `"127.0.0.1:8080"`, `"[::1]:8080"`, `"localhost:8080"`, a
    /// bare port (`"8080"`: every IPv4 address, as nginx's `listen 8080`),
    /// `"unix:/run/refserver.sock"`, or a table with TLS or a redirect to HTTPS
    /// (`{ addr = "443", tls = { cert = "fullchain.pem", key = "key.pem" } }`); one
    /// address may be given alone.
    #[serde(default = "default_listen", deserialize_with = "one_or_many")]
    pub(crate) listen: Vec<ListenConfig>,
    /// Worker threads; 0 means one per core.
    #[serde(default)]
    pub(crate) workers: usize,
    /// How workers are laid out on runtimes.
    #[serde(default)]
    pub(crate) runtime: RuntimeLayout,
    /// Listen backlog passed to `listen(2)`.
    #[serde(default = "default_backlog")]
    pub(crate) backlog: u32,
    /// `"stdout"`, `"off"`, or a file path (appended to).
    #[serde(default = "default_access_log")]
    pub(crate) access_log: String,
    /// `"combined"` (the Combined Log Format) or `"json"` (one object per line).
    #[serde(default)]
    pub(crate) access_log_format: LogFormat,
    /// Timestamps in `"local"` time (nginx's `$time_local`) or `"utc"`.
    #[serde(default)]
    pub(crate) access_log_time: LogTime,
    /// How long in-flight requests may run after SIGTERM/SIGINT before the process exits anyway.
    #[serde(default = "default_shutdown_timeout_ms")]
    pub(crate) shutdown_timeout_ms: u64,
    /// Session limits and deadlines (handed to session-core).
    #[serde(default)]
    pub(crate) limits: LimitsConfig,
    /// Where visitor sessions live (handlers' sessions and sticky FastCGI upstreams).
    #[serde(default)]
    pub(crate) visitor_sessions: VisitorSessionsConfig,
    /// Routes, first match wins, in file order.
    #[serde(default, rename = "route")]
    pub(crate) routes: Vec<RouteConfig>,
}

/// `[visitor_sessions]`: the store of visitor sessions, in this process (`"memory"`, the
/// default) or shared by several instances in Redis (`"redis://..."`), and their timeouts.
/// Handlers' sessions (a layer built with `ConfiguredStore::from_config`) and sticky
/// FastCGI upstreams both use it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct VisitorSessionsConfig {
    /// `"memory"`, or a Redis URL: `redis://[USER][:PASSWORD@]HOST[:PORT][/DB]`,
    /// `rediss://...` for TLS, `redis+unix:///path/redis.sock[?db=N]`.
    pub(crate) store: String,
    /// Prepended to every key the server writes in Redis, so several sites can share one.
    pub(crate) key_prefix: String,
    /// Connections to Redis, each multiplexing any number of requests; calls are spread
    /// over them in turn.
    pub(crate) pool_size: usize,
    /// Longest wait for one Redis call, from the request's side (a reconnection included);
    /// past it the route answers 503.
    pub(crate) timeout_ms: u64,
    /// Longest wait for one connection attempt to Redis.
    pub(crate) connect_timeout_ms: u64,
    /// The longest pause between reconnection attempts while Redis is away (they back
    /// off exponentially from 50 ms up to this).
    pub(crate) reconnect_max_delay_ms: u64,
    /// A session ends this long after its last request (in Redis: the key's TTL).
    pub(crate) idle_timeout_ms: u64,
    /// A session ends this long after it began, however active (kept with its data).
    pub(crate) absolute_timeout_ms: u64,
    /// Most sessions held at once by the memory store (Redis's own `maxmemory` bounds it there).
    pub(crate) capacity: usize,
}

impl Default for VisitorSessionsConfig {
    fn default() -> Self {
        let limits = session_core::visitor::StoreLimits::default();
        Self {
            store: "memory".to_owned(),
            key_prefix: "refserver:visitor:".to_owned(),
            pool_size: 2,
            timeout_ms: 500,
            connect_timeout_ms: 1000,
            reconnect_max_delay_ms: 2000,
            idle_timeout_ms: millis(limits.idle_timeout),
            absolute_timeout_ms: millis(limits.absolute_timeout),
            capacity: limits.capacity,
        }
    }
}

impl VisitorSessionsConfig {
    /// Whether sessions live in Redis.
    pub(crate) fn is_redis(&self) -> bool {
        self.store != "memory"
    }

    /// session-core's store limits from these values.
    pub(crate) fn store_limits(&self) -> session_core::visitor::StoreLimits {
        let mut limits = session_core::visitor::StoreLimits::default();
        limits.idle_timeout = Duration::from_millis(self.idle_timeout_ms);
        limits.absolute_timeout = Duration::from_millis(self.absolute_timeout_ms);
        limits.capacity = self.capacity;
        limits
    }

    /// Checks the URL and that no count or timeout is zero.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError::new(format!("visitor_sessions: {m}")));
        if self.is_redis()
            && let Err(e) = redis::Client::open(self.store.as_str())
        {
            return err(format!(
                "store `{}` is neither `memory` nor a Redis URL: {e}",
                crate::visitor::redacted_url(&self.store)
            ));
        }
        if self.pool_size == 0 {
            return err("pool_size must be at least 1".to_owned());
        }
        for (key, ms) in [
            ("timeout_ms", self.timeout_ms),
            ("connect_timeout_ms", self.connect_timeout_ms),
            ("idle_timeout_ms", self.idle_timeout_ms),
            ("absolute_timeout_ms", self.absolute_timeout_ms),
        ] {
            if ms == 0 {
                return err(format!("{key} must be at least 1"));
            }
        }
        Ok(())
    }
}

/// Multi-thread runtime, or one current-thread runtime per worker with its own
/// `SO_REUSEPORT` listener (the kernel spreads connections over them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum RuntimeLayout {
    /// One current-thread runtime per worker thread, each with its own listening socket.
    #[default]
    PerWorker,
    /// One multi-thread (work-stealing) runtime with `workers` threads.
    MultiThread,
}

/// What to do with a connection when `max_sessions` are already open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum OverloadConfig {
    /// Answer `503 Service Unavailable` and close.
    #[default]
    Reject503,
    /// Close without a word.
    Close,
}

/// Limits and deadlines of one session: every `session_core::Limits` field (times in
/// milliseconds), plus the registry's `max_sessions` and `overload`. The defaults are
/// session-core's and http-proto's, read from their `Default`s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LimitsConfig {
    /// Most sessions open at once; past it, `overload` decides.
    pub(crate) max_sessions: usize,
    /// What to do with a connection past `max_sessions`: `"reject503"` or `"close"`.
    pub(crate) overload: OverloadConfig,
    /// On a TLS listener: from accept to the end of the TLS handshake. Past it: silent close.
    pub(crate) handshake_timeout_ms: u64,
    /// From accept (or the end of the TLS handshake) to the first byte of the first
    /// request. Past it: silent close.
    pub(crate) first_byte_timeout_ms: u64,
    /// From a head's first byte to its last (the slowloris bound). Past it: 408.
    pub(crate) header_timeout_ms: u64,
    /// Window over which `body_min_rate` is checked while a body is read.
    pub(crate) body_rate_window_ms: u64,
    /// Minimum request body rate in bytes per second (0: no check). Below it: 408.
    pub(crate) body_min_rate: u64,
    /// Keep-alive idle time between requests. Past it: silent close.
    pub(crate) keepalive_timeout_ms: u64,
    /// Time without write progress while output is pending. Past it: close.
    pub(crate) write_stall_timeout_ms: u64,
    /// Time a handler may take to start (and continue) its response. Past it: 504.
    pub(crate) handler_timeout_ms: u64,
    /// How long a closing session reads and drops what the client still sends, when input
    /// was left unread (a refused body, a rejected request), so the client reads the
    /// response rather than a reset (RFC 9112 §9.6). 0: close at once.
    pub(crate) linger_timeout_ms: u64,
    /// Total lifetime of a session; 0 means unbounded.
    pub(crate) max_lifetime_ms: u64,
    /// Requests served on one connection.
    pub(crate) max_requests: u32,
    /// Stop reading while this many output bytes wait to be written.
    pub(crate) write_watermark: usize,
    /// Stop reading while this many responses wait to be written (pipelining depth).
    pub(crate) max_queued_responses: usize,
    /// Stop reading while this many received bytes wait to be parsed.
    pub(crate) max_read_ahead: usize,
    /// Bytes made room for on each read.
    pub(crate) read_chunk: usize,
    /// Largest request body. Past it: 413.
    pub(crate) max_body_bytes: u64,
    /// Largest request head. Past it: 431.
    pub(crate) max_head_bytes: usize,
    /// Longest request-target. Past it: 414.
    pub(crate) max_target_bytes: usize,
    /// Most header fields in a request. Past it: 431.
    pub(crate) max_headers: usize,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let s = session_core::Limits::default();
        let r = session_core::RegistryConfig::default();
        Self {
            max_sessions: r.max_sessions,
            overload: match r.overload {
                session_core::OverloadPolicy::Close => OverloadConfig::Close,
                _ => OverloadConfig::Reject503,
            },
            handshake_timeout_ms: millis(s.handshake_timeout),
            first_byte_timeout_ms: millis(s.first_byte_timeout),
            header_timeout_ms: millis(s.header_timeout),
            body_rate_window_ms: millis(s.body_rate_window),
            body_min_rate: s.body_min_rate,
            keepalive_timeout_ms: millis(s.keepalive_timeout),
            write_stall_timeout_ms: millis(s.write_stall_timeout),
            handler_timeout_ms: millis(s.handler_timeout),
            linger_timeout_ms: millis(s.linger_timeout),
            max_lifetime_ms: s.max_lifetime.map_or(0, millis),
            max_requests: s.max_requests,
            write_watermark: s.write_watermark,
            max_queued_responses: s.max_queued_responses,
            max_read_ahead: s.max_read_ahead,
            read_chunk: s.read_chunk,
            max_body_bytes: s.http.max_body_len,
            max_head_bytes: s.http.max_head_len,
            max_target_bytes: s.http.max_target_len,
            max_headers: s.http.max_headers,
        }
    }
}

impl LimitsConfig {
    /// session-core's limits from these values.
    pub(crate) fn session_limits(&self) -> session_core::Limits {
        let ms = Duration::from_millis;
        let mut l = session_core::Limits::default();
        l.handshake_timeout = ms(self.handshake_timeout_ms);
        l.first_byte_timeout = ms(self.first_byte_timeout_ms);
        l.header_timeout = ms(self.header_timeout_ms);
        l.body_rate_window = ms(self.body_rate_window_ms);
        l.body_min_rate = self.body_min_rate;
        l.keepalive_timeout = ms(self.keepalive_timeout_ms);
        l.write_stall_timeout = ms(self.write_stall_timeout_ms);
        l.handler_timeout = ms(self.handler_timeout_ms);
        l.linger_timeout = ms(self.linger_timeout_ms);
        l.max_lifetime = (self.max_lifetime_ms > 0).then(|| ms(self.max_lifetime_ms));
        l.max_requests = self.max_requests;
        l.write_watermark = self.write_watermark;
        l.max_queued_responses = self.max_queued_responses;
        l.max_read_ahead = self.max_read_ahead;
        l.read_chunk = self.read_chunk;
        l.http.max_body_len = self.max_body_bytes;
        l.http.max_head_len = self.max_head_bytes;
        l.http.max_target_len = self.max_target_bytes;
        l.http.max_headers = self.max_headers;
        l
    }

    /// session-core's registry settings from these values.
    pub(crate) fn registry_config(&self) -> session_core::RegistryConfig {
        session_core::RegistryConfig {
            max_sessions: self.max_sessions,
            overload: match self.overload {
                OverloadConfig::Reject503 => session_core::OverloadPolicy::Reject503,
                OverloadConfig::Close => session_core::OverloadPolicy::Close,
            },
        }
    }
}

/// One `[[route]]` table: where it matches, and exactly one kind saying what it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteConfig {
    /// Matches paths starting with this (byte prefix, as nginx `location /x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) prefix: Option<String>,
    /// Matches paths ending with this, e.g. `".php"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) suffix: Option<String>,
    /// Matches only this host (the `Host` field without its port, case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) host: Option<String>,
    /// Only clients from these addresses or CIDR ranges (`"10.0.0.0/8"`, `"::1"`) may use
    /// the route; others get 403. Empty: everyone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) allow: Vec<String>,
    /// Clients from these addresses or ranges get 403 (checked before `allow`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) deny: Vec<String>,
    /// A fixed response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) respond: Option<RespondConfig>,
    /// Static files from a directory.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub(crate) static_files: Option<StaticConfig>,
    /// The status page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) status: Option<StatusConfig>,
    /// The request body streamed back (for testing clients).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) echo: Option<EchoConfig>,
    /// CGI programs: a directory of scripts, or one program for the prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cgi: Option<CgiConfig>,
    /// FastCGI applications: upstream addresses, or processes the server spawns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fastcgi: Option<FastCgiConfig>,
    /// An in-process handler registered by name (`Builder::handler`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) handler: Option<HandlerConfig>,
}

/// `handler = { name = "hello", timeout_ms = 30000, layers = ["auth"] }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HandlerConfig {
    /// The name the handler was registered under.
    pub(crate) name: String,
    /// From the request to the end of its response; past it the handler is dropped and
    /// the request answered 504 (or cut, once the head went out). 0: no limit but
    /// session-core's `handler_timeout_ms`.
    #[serde(default = "default_handler_timeout_ms")]
    pub(crate) timeout_ms: u64,
    /// Named layers (`Builder::named_layer`) wrapped around this route's handler, the
    /// first outermost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) layers: Vec<String>,
}

fn default_handler_timeout_ms() -> u64 {
    30_000
}

/// `respond = { status = 200, content_type = "text/plain", body = "Hello, World!" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RespondConfig {
    /// Status code.
    #[serde(default = "default_status")]
    pub(crate) status: u16,
    /// `Content-Type` value; none is sent when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    /// Body text.
    #[serde(default)]
    pub(crate) body: String,
}

/// `static = { dir = "site/public", index = ["index.html"] }`, with the nginx-style
/// options (`gzip_static`, `autoindex`, `max_ranges`, `add_header`, `expires`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaticConfig {
    /// Directory served; the path after the route's prefix is looked up inside it.
    pub(crate) dir: PathBuf,
    /// Files tried, in order, when the path names a directory.
    #[serde(default = "default_index")]
    pub(crate) index: Vec<String>,
    /// Precompressed variants looked for beside each file, in the server's order of
    /// preference when the client accepts several equally: `"br"` (`a.css.br`) and
    /// `"gzip"` (`a.css.gz`). Empty: none (nginx's `gzip_static off`).
    #[serde(default)]
    pub(crate) precompressed: Vec<Precompressed>,
    /// A directory without an index file gets a listing (HTML, or JSON with
    /// `?format=json` or `Accept: application/json`) instead of 403.
    #[serde(default)]
    pub(crate) autoindex: bool,
    /// Listings include dot-files.
    #[serde(default)]
    pub(crate) autoindex_hidden: bool,
    /// Ranges one request may ask for; more: the whole file (200), as nginx's
    /// `max_ranges`. 1: single ranges only; 0: `Range` ignored.
    #[serde(default = "default_max_ranges")]
    pub(crate) max_ranges: usize,
    /// Fields added to every response of the route, e.g. `{ "Cache-Control" = "max-age=3600" }`.
    #[serde(default)]
    pub(crate) headers: std::collections::BTreeMap<String, String>,
    /// nginx's `expires`: `"off"`, a duration (`"30s"`, `"10m"`, `"1h"`, `"7d"`,
    /// `"1d12h"`), `"max"` or `"epoch"`; sets `Expires` and `Cache-Control` on
    /// successful and redirect responses.
    #[serde(default = "default_expires")]
    pub(crate) expires: String,
    /// How long a file kept open by the worker's open-file cache is trusted before its
    /// path is checked again with a `stat` (nginx's `open_file_cache_valid`, h2o's cache
    /// of the event loop's turn). 0: checked on every request.
    #[serde(default = "default_file_cache_valid_ms")]
    pub(crate) file_cache_valid_ms: u64,
    /// Send files (those larger than the open-file cache keeps in memory) straight from
    /// the page cache to the socket with `sendfile` on plain connections, as nginx's
    /// `sendfile on`; `false` reads and copies them (TLS always does).
    #[serde(default = "default_true")]
    pub(crate) sendfile: bool,
}

/// A precompressed variant of static files: its content coding and file suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Precompressed {
    /// Brotli, `a.css.br`.
    Br,
    /// gzip, `a.css.gz`.
    Gzip,
}

impl StaticConfig {
    /// `dir` with every option at its default.
    pub(crate) fn serving(dir: PathBuf) -> Self {
        Self {
            dir,
            index: default_index(),
            precompressed: Vec::new(),
            autoindex: false,
            autoindex_hidden: false,
            max_ranges: default_max_ranges(),
            headers: std::collections::BTreeMap::new(),
            expires: default_expires(),
            file_cache_valid_ms: default_file_cache_valid_ms(),
            sendfile: true,
        }
    }
}

fn default_file_cache_valid_ms() -> u64 {
    1000
}

fn default_max_ranges() -> usize {
    16
}

fn default_expires() -> String {
    "off".to_owned()
}

/// `cgi = { dir = "site/cgi-bin" }` or `cgi = { program = "/usr/lib/git-core/git-http-backend" }`,
/// with the child's environment, limits and security policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CgiConfig {
    /// A directory of scripts: the first executable file along the path is the script,
    /// the rest is `PATH_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dir: Option<PathBuf>,
    /// One program for the whole prefix; the path after the prefix is `PATH_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) program: Option<PathBuf>,
    /// The directory `PATH_TRANSLATED` and `DOCUMENT_ROOT` refer to (default: `dir`, or
    /// the program's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_root: Option<PathBuf>,
    /// Extra variables for the child, e.g. `{ GIT_PROJECT_ROOT = "/srv/git" }`.
    #[serde(default)]
    pub(crate) env: std::collections::BTreeMap<String, String>,
    /// Variables of the server's own environment passed on (nothing else is).
    #[serde(default = "default_inherit_env")]
    pub(crate) inherit_env: Vec<String>,
    /// The child's working directory (default: the script's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cwd: Option<PathBuf>,
    /// From start to the end of the response; past it: 504 (or a cut), and the child's
    /// whole process group is killed.
    #[serde(default = "default_cgi_timeout_ms")]
    pub(crate) timeout_ms: u64,
    /// Children of this route running at once; beyond it: 503.
    #[serde(default = "default_max_processes")]
    pub(crate) max_processes: usize,
    /// Run children as this user (name or uid); needs the server to run as root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    /// Run children in this group (name or gid; default: the user's primary group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) group: Option<String>,
    /// Resource limits of each child (`setrlimit`).
    #[serde(default)]
    pub(crate) limits: CgiLimitsConfig,
    /// A request body of unknown length (chunked): `"spool"` it to a temporary file (up
    /// to `limits.max_body_bytes`) so the script gets `CONTENT_LENGTH`, or `"refuse"` it
    /// with 411 Length Required.
    #[serde(default)]
    pub(crate) unknown_length: UnknownLength,
}

/// What a CGI route does with a request body whose length is not known in advance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum UnknownLength {
    /// Spool it to a temporary file, then run the script with `CONTENT_LENGTH`.
    #[default]
    Spool,
    /// Answer 411 Length Required.
    Refuse,
}

/// `setrlimit` values for CGI children; absent means inherited from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CgiLimitsConfig {
    /// `RLIMIT_CPU`: CPU seconds; past it the kernel kills the child (SIGXCPU, SIGKILL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) cpu_secs: Option<u64>,
    /// `RLIMIT_AS`: bytes of address space.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) address_space_bytes: Option<u64>,
    /// `RLIMIT_NOFILE`: open files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) open_files: Option<u64>,
    /// `RLIMIT_NPROC`: processes of the child's user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) processes: Option<u64>,
}

fn default_inherit_env() -> Vec<String> {
    vec!["PATH".to_owned()]
}
fn default_cgi_timeout_ms() -> u64 {
    30_000
}
fn default_max_processes() -> usize {
    64
}

/// `fastcgi = { upstreams = ["127.0.0.1:9000", "unix:/run/php.sock"], root = "site/php" }`
/// (php-fpm: a script per file under `root`), or `program = "/path"` (one application for
/// the whole prefix, e.g. git-http-backend behind fcgiwrap).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FastCgiConfig {
    /// Application addresses: `IP:PORT`, `HOST:PORT` (resolved at start-up) or
    /// `unix:/path`. Requests go to the least busy healthy one.
    #[serde(default)]
    pub(crate) upstreams: Vec<String>,
    /// Scripts are files under this directory: `SCRIPT_FILENAME` is the first file along
    /// the path, which must exist and end in `script_suffix`; the rest is `PATH_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) root: Option<PathBuf>,
    /// The script a path naming a directory runs (nginx's `fastcgi_index`).
    #[serde(default = "default_fastcgi_index")]
    pub(crate) index: String,
    /// What a script's name must end in, with `root`.
    #[serde(default = "default_script_suffix")]
    pub(crate) script_suffix: String,
    /// One application for the whole prefix: `SCRIPT_FILENAME` is this path and the rest
    /// of the request path is `PATH_INFO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) program: Option<PathBuf>,
    /// `DOCUMENT_ROOT` and the base of `PATH_TRANSLATED` (default: `root`, or the
    /// program's directory).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) document_root: Option<PathBuf>,
    /// Extra params sent with every request, e.g. `{ GIT_PROJECT_ROOT = "/srv/git" }`.
    #[serde(default)]
    pub(crate) env: std::collections::BTreeMap<String, String>,
    /// Connecting to an upstream; past it the upstream counts as down and the next one
    /// is tried (504 when none answers in time).
    #[serde(default = "default_connect_timeout_ms")]
    pub(crate) connect_timeout_ms: u64,
    /// Longest wait for the application to take more of the request body.
    #[serde(default = "default_io_timeout_ms")]
    pub(crate) send_timeout_ms: u64,
    /// Longest wait for the next piece of the response (nginx's `fastcgi_read_timeout`).
    /// Past it: 504, or a cut response once the head went out.
    #[serde(default = "default_io_timeout_ms")]
    pub(crate) read_timeout_ms: u64,
    /// Keep connections open between requests (`FCGI_KEEP_CONN`).
    #[serde(default = "default_true")]
    pub(crate) keep_conn: bool,
    /// Multiplex requests on one connection when the application says it can
    /// (`FCGI_MPXS_CONNS=1`).
    #[serde(default = "default_true")]
    pub(crate) multiplex: bool,
    /// Most connections to each upstream (0: as many as the application's
    /// `FCGI_MAX_CONNS` allows, else unbounded). Requests wait for a free one.
    #[serde(default)]
    pub(crate) max_conns: usize,
    /// How long an upstream that refused or reset a connection is skipped.
    #[serde(default = "default_fail_timeout_ms")]
    pub(crate) fail_timeout_ms: u64,
    /// A request body of unknown length (chunked): `"spool"` it to a temporary file so
    /// the application gets `CONTENT_LENGTH` (PHP needs it), or `"refuse"` it with 411.
    #[serde(default)]
    pub(crate) unknown_length: UnknownLength,
    /// A cookie of this name keeps each visitor on the upstream that served it while that
    /// upstream is up (a visitor session: random id, `HttpOnly`, `SameSite=Lax`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sticky_cookie: Option<String>,
    /// Application processes the server starts on a socket it owns, supervises and
    /// restarts (lighttpd's and spawn-fcgi's way), tried before `upstreams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) spawn: Option<crate::route_kinds::fastcgi::spawn::SpawnConfig>,
}

fn default_fastcgi_index() -> String {
    "index.php".to_owned()
}
fn default_script_suffix() -> String {
    ".php".to_owned()
}
fn default_connect_timeout_ms() -> u64 {
    10_000
}
fn default_io_timeout_ms() -> u64 {
    60_000
}
fn default_fail_timeout_ms() -> u64 {
    10_000
}
fn default_true() -> bool {
    true
}

/// `echo = { delay_ms = 0 }`: answers with the request body, after `delay_ms`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EchoConfig {
    /// Wait this long before answering (httpbin's `/delay`), for testing timeouts.
    #[serde(default)]
    pub(crate) delay_ms: u64,
}

/// `status = {}`: plain text, or JSON with `?format=json` or `Accept: application/json`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusConfig {}

/// `"a"` or `["a", "b"]`.
/// One `listen` entry: an address, or a table with what the listener serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub(crate) enum ListenConfig {
    /// `"127.0.0.1:8080"`, `"8080"`, `"unix:/path"`: plain HTTP.
    Addr(String),
    /// `{ addr = "443", tls = { .. } }` or `{ addr = "80", redirect_https = true }`.
    Table(ListenTable),
}

/// A `listen` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenTable {
    /// The address, in any of the string forms.
    pub(crate) addr: String,
    /// Serve HTTPS with these certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tls: Option<crate::tls::TlsConfig>,
    /// Answer every plain-text request with 301 to the same host and target over HTTPS.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) redirect_https: bool,
    /// The port `redirect_https` sends clients to (443, the default, is left out of the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) https_port: Option<u16>,
}

impl ListenConfig {
    /// The address as written.
    pub(crate) fn addr(&self) -> &str {
        match self {
            Self::Addr(addr) => addr,
            Self::Table(t) => &t.addr,
        }
    }

    /// The TLS table, on a TLS listener.
    pub(crate) fn tls(&self) -> Option<&crate::tls::TlsConfig> {
        match self {
            Self::Addr(_) => None,
            Self::Table(t) => t.tls.as_ref(),
        }
    }

    /// The HTTPS port a redirecting listener sends clients to.
    pub(crate) fn redirect_https(&self) -> Option<u16> {
        match self {
            Self::Table(t) if t.redirect_https => Some(t.https_port.unwrap_or(443)),
            _ => None,
        }
    }

    /// What a reload cannot change without a restart: the address, TLS or not, the
    /// redirect. (Certificates and `hsts` reload.)
    pub(crate) fn shape(&self) -> (&str, bool, Option<u16>) {
        (self.addr(), self.tls().is_some(), self.redirect_https())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let addr = ListenAddr::parse(self.addr())?;
        let Self::Table(t) = self else {
            return Ok(());
        };
        let fail = |m: String| Err(ConfigError::new(format!("listen `{}`: {m}", t.addr)));
        if let Some(tls) = &t.tls {
            if matches!(addr, ListenAddr::Unix(_)) {
                return fail("TLS is for TCP listeners".to_owned());
            }
            if t.redirect_https {
                return fail("a TLS listener cannot redirect to HTTPS".to_owned());
            }
            if let Err(e) = tls.validate() {
                return fail(e);
            }
        }
        if t.https_port.is_some() && !t.redirect_https {
            return fail("`https_port` is for `redirect_https = true`".to_owned());
        }
        Ok(())
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<ListenConfig>, D::Error> {
    // Many first: serde reads a struct from a sequence too, so `["a"]` would be one table.
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<ListenConfig>),
        One(ListenConfig),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}

fn default_listen() -> Vec<ListenConfig> {
    vec![ListenConfig::Addr("127.0.0.1:8080".to_owned())]
}
fn default_backlog() -> u32 {
    1024
}
fn default_access_log() -> String {
    "stdout".to_owned()
}
fn default_shutdown_timeout_ms() -> u64 {
    10_000
}
fn default_status() -> u16 {
    200
}
fn default_index() -> Vec<String> {
    vec!["index.html".to_owned()]
}

/// A configuration that could not be used: where and why (`FILE:LINE:COL: message`, or
/// the route's number).
#[derive(Debug)]
pub struct ConfigError {
    message: String,
}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConfigError {}

/// One listening address, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ListenAddr {
    /// TCP over IPv4 or IPv6.
    Tcp(SocketAddr),
    /// A Unix domain socket at this path.
    Unix(PathBuf),
}

impl ListenAddr {
    /// Parses `IP:PORT`, `[v6]:PORT`, `localhost:PORT` (or another name, resolved now:
    /// its first address; port 80 without one), a bare `PORT` (`0.0.0.0:PORT`) or
    /// `unix:/path`.
    pub(crate) fn parse(text: &str) -> Result<Self, ConfigError> {
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(ConfigError::new("listen: `unix:` needs a path"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        if let Ok(port) = text.parse::<u16>() {
            return Ok(Self::Tcp(SocketAddr::from(([0, 0, 0, 0], port))));
        }
        if let Ok(addr) = text.parse() {
            return Ok(Self::Tcp(addr));
        }
        let wrong = || {
            ConfigError::new(format!(
                "listen: `{text}` is not `IP:PORT`, `[IPv6]:PORT`, `HOST:PORT`, `PORT` or `unix:/path`"
            ))
        };
        // A name: resolved once, IPv4 first (`localhost` is 127.0.0.1, as nginx binds it);
        // without a port, 80 (nginx's `listen localhost`).
        let with_port = if text.contains(':') {
            text.to_owned()
        } else {
            format!("{text}:80")
        };
        let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(with_port.as_str())
            .map_err(|_| wrong())?
            .collect();
        addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .map(Self::Tcp)
            .ok_or_else(wrong)
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "{addr}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl Config {
    /// Reads and checks a file; relative paths in it become relative to its directory.
    ///
    /// # Errors
    /// The file cannot be read, or is not a valid configuration (the error names the file,
    /// line and column).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(format!("{}: {e}", path.display())))?;
        let mut config = Self::parse(&text).map_err(|e| {
            ConfigError::new(format!("{}:{}", path.display(), e.message.trim_end()))
        })?;
        let base = path.parent().unwrap_or(Path::new(""));
        config.resolve_paths(base);
        config.validate()?;
        Ok(config)
    }

    /// Parses TOML text; an error names its line and column (`LINE:COL: message`).
    /// Relative paths in it stay relative to the working directory.
    ///
    /// # Errors
    /// Bad syntax, an unknown key or a value of the wrong type.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e: toml::de::Error| {
            let (line, col) = e
                .span()
                .map_or((0, 0), |span| line_and_column(text, span.start));
            ConfigError::new(format!("{line}:{col}: {}", e.message().trim_end()))
        })
    }

    /// Makes relative paths relative to `base` (the config file's directory).
    pub(crate) fn resolve_paths(&mut self, base: &Path) {
        if base.as_os_str().is_empty() {
            return;
        }
        let absolute = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        for route in &mut self.routes {
            if let Some(s) = &mut route.static_files {
                absolute(&mut s.dir);
            }
            if let Some(c) = &mut route.cgi {
                for p in [&mut c.dir, &mut c.program, &mut c.document_root, &mut c.cwd]
                    .into_iter()
                    .flatten()
                {
                    absolute(p);
                }
            }
            if let Some(f) = &mut route.fastcgi {
                for p in [&mut f.root, &mut f.program, &mut f.document_root]
                    .into_iter()
                    .flatten()
                {
                    absolute(p);
                }
                if let Some(spawn) = &mut f.spawn {
                    for p in [&mut spawn.cwd, &mut spawn.socket].into_iter().flatten() {
                        absolute(p);
                    }
                    // A program named with a path is found from the file; a bare name on PATH.
                    if let Some(program) = spawn.command.first_mut()
                        && program.contains('/')
                        && Path::new(program).is_relative()
                    {
                        *program = base.join(&*program).display().to_string();
                    }
                }
            }
        }
        for listen in &mut self.listen {
            if let ListenConfig::Table(ListenTable { tls: Some(tls), .. }) = listen {
                tls.resolve_paths(base);
            }
        }
        if !matches!(self.access_log.as_str(), "stdout" | "off")
            && Path::new(&self.access_log).is_relative()
        {
            self.access_log = base.join(&self.access_log).display().to_string();
        }
    }

    /// Checks what serde cannot: addresses, one kind per route, a matcher per route.
    /// (What needs the routes compiled, such as a static directory that exists or a
    /// handler name that was registered, is checked when the server starts.)
    ///
    /// # Errors
    /// The first fault found, naming the key or the route's number.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.listen.is_empty() {
            return Err(ConfigError::new("listen: at least one address is needed"));
        }
        for listen in &self.listen {
            listen.validate()?;
        }
        if self.limits.max_sessions == 0 {
            return Err(ConfigError::new("limits.max_sessions must be at least 1"));
        }
        self.visitor_sessions.validate()?;
        if self.routes.is_empty() {
            return Err(ConfigError::new(
                "no [[route]]: every request would be answered 404",
            ));
        }
        for (i, route) in self.routes.iter().enumerate() {
            let n = i + 1;
            if let Some(prefix) = &route.prefix
                && !prefix.starts_with('/')
            {
                return Err(ConfigError::new(format!(
                    "route {n}: prefix `{prefix}` must start with `/` (paths always do)"
                )));
            }
            if let Some(host) = &route.host {
                crate::router::HostPattern::parse(host)
                    .map_err(|e| ConfigError::new(format!("route {n}: host `{host}`: {e}")))?;
            }
            let kinds = usize::from(route.respond.is_some())
                + usize::from(route.static_files.is_some())
                + usize::from(route.status.is_some())
                + usize::from(route.echo.is_some())
                + usize::from(route.cgi.is_some())
                + usize::from(route.fastcgi.is_some())
                + usize::from(route.handler.is_some());
            if kinds != 1 {
                return Err(ConfigError::new(format!(
                    "route {n}: needs exactly one of respond, static, status, echo, cgi, fastcgi, handler (has {kinds})"
                )));
            }
            if route.prefix.is_none() && route.suffix.is_none() && route.host.is_none() {
                return Err(ConfigError::new(format!(
                    "route {n}: needs `prefix`, `suffix` or `host` to match on"
                )));
            }
        }
        Ok(())
    }

    /// The listening addresses, parsed (valid after [`validate`](Self::validate)).
    pub(crate) fn listen_addrs(&self) -> Result<Vec<ListenAddr>, ConfigError> {
        self.listen
            .iter()
            .map(|l| ListenAddr::parse(l.addr()))
            .collect()
    }

    /// Worker threads to run: `workers`, or one per core when 0.
    pub(crate) fn effective_workers(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        }
    }

    /// The configuration as TOML, defaults included (`--check`).
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }

    /// The demo configuration used with no arguments: `/plaintext`, `/status`, `/echo`,
    /// the CGI scripts in `root/../cgi-bin` under `/cgi-bin/`, and the demo site under
    /// `root`.
    #[must_use]
    pub fn demo(root: PathBuf) -> Self {
        let cgi_dir = root.join("../cgi-bin");
        let mut config = Self::for_static_root(root);
        config.routes.insert(
            0,
            RouteConfig {
                prefix: Some("/cgi-bin/".to_owned()),
                cgi: Some(CgiConfig {
                    dir: Some(cgi_dir),
                    program: None,
                    document_root: None,
                    env: std::collections::BTreeMap::new(),
                    inherit_env: default_inherit_env(),
                    cwd: None,
                    timeout_ms: default_cgi_timeout_ms(),
                    max_processes: default_max_processes(),
                    user: None,
                    group: None,
                    limits: CgiLimitsConfig::default(),
                    unknown_length: UnknownLength::default(),
                }),
                ..RouteConfig::empty()
            },
        );
        config.routes.insert(
            0,
            RouteConfig {
                prefix: Some("/echo".to_owned()),
                echo: Some(EchoConfig::default()),
                ..RouteConfig::empty()
            },
        );
        config.routes.insert(
            0,
            RouteConfig {
                prefix: Some("/status".to_owned()),
                status: Some(StatusConfig {}),
                ..RouteConfig::empty()
            },
        );
        config.routes.insert(
            0,
            RouteConfig {
                prefix: Some("/plaintext".to_owned()),
                respond: Some(RespondConfig {
                    status: 200,
                    content_type: Some("text/plain".to_owned()),
                    body: "Hello, World!".to_owned(),
                }),
                ..RouteConfig::empty()
            },
        );
        config
    }

    /// Serves `root` as static files on the default address (`--root DIR`).
    #[must_use]
    pub fn for_static_root(root: PathBuf) -> Self {
        Self {
            routes: vec![RouteConfig {
                prefix: Some("/".to_owned()),
                static_files: Some(StaticConfig::serving(root)),
                ..RouteConfig::empty()
            }],
            ..Self::default()
        }
    }
}

/// What the command line overrides and an embedding program sets in code.
impl Config {
    /// The binary's configuration with no arguments: [`demo`](Self::demo) with the demo
    /// site from the repository (`refserver/site/public` from the repository root, else
    /// the copy beside this crate's sources).
    #[must_use]
    pub fn demo_site() -> Self {
        let from_repo_root = Path::new("refserver/site/public");
        let root = if from_repo_root.is_dir() {
            from_repo_root.to_path_buf()
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("site/public")
        };
        Self::demo(root)
    }

    /// Parses `[[route]]` tables from TOML text and puts them before the routes already
    /// configured: first match wins, so they take precedence (handler routes in front of
    /// the demo site, say).
    ///
    /// # Errors
    /// The text is not a valid configuration, or has keys other than `[[route]]` tables.
    pub fn add_routes_first(&mut self, toml: &str) -> Result<(), ConfigError> {
        let mut more = Self::parse(toml)?;
        let routes = std::mem::take(&mut more.routes);
        if more != Self::default() {
            return Err(ConfigError::new(
                "add_routes_first: only `[[route]]` tables are taken",
            ));
        }
        self.routes.splice(0..0, routes);
        Ok(())
    }

    /// The addresses to listen on (TLS or not).
    #[must_use]
    pub fn listen(&self) -> Vec<&str> {
        self.listen.iter().map(ListenConfig::addr).collect()
    }

    /// Replaces the addresses to listen on: `127.0.0.1:8080`, `[::1]:8080`,
    /// `unix:/path`; port 0 picks a free port ([`Running::listeners`](crate::Running::listeners)
    /// says which).
    pub fn set_listen(&mut self, addrs: Vec<String>) {
        self.listen = addrs.into_iter().map(ListenConfig::Addr).collect();
    }

    /// Worker threads (0: one per core).
    #[must_use]
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Sets the worker threads (0: one per core).
    pub fn set_workers(&mut self, workers: usize) {
        self.workers = workers;
    }

    /// The runtime layout.
    #[must_use]
    pub fn runtime(&self) -> RuntimeLayout {
        self.runtime
    }

    /// Sets the runtime layout.
    pub fn set_runtime(&mut self, runtime: RuntimeLayout) {
        self.runtime = runtime;
    }

    /// The access log target: `stdout`, `off` or a file path.
    #[must_use]
    pub fn access_log(&self) -> &str {
        &self.access_log
    }

    /// Sets the access log target: `stdout`, `off` or a file path.
    pub fn set_access_log(&mut self, target: String) {
        self.access_log = target;
    }

    /// The visitor store `[visitor_sessions]` names: `memory` or a Redis URL.
    #[must_use]
    pub fn visitor_store(&self) -> &str {
        &self.visitor_sessions.store
    }

    /// Sets the visitor store: `memory`, or a Redis URL (`redis://HOST:PORT/DB`,
    /// `rediss://` for TLS); checked by [`validate`](Self::validate).
    pub fn set_visitor_store(&mut self, store: String) {
        self.visitor_sessions.store = store;
    }

    /// How long visitor sessions last: after their last request, and after they began.
    #[must_use]
    pub fn visitor_timeouts(&self) -> (Duration, Duration) {
        (
            Duration::from_millis(self.visitor_sessions.idle_timeout_ms),
            Duration::from_millis(self.visitor_sessions.absolute_timeout_ms),
        )
    }

    /// Sets how long visitor sessions last: `idle` after their last request, `absolute`
    /// after they began.
    pub fn set_visitor_timeouts(&mut self, idle: Duration, absolute: Duration) {
        self.visitor_sessions.idle_timeout_ms = millis(idle);
        self.visitor_sessions.absolute_timeout_ms = millis(absolute);
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            workers: 0,
            runtime: RuntimeLayout::default(),
            backlog: default_backlog(),
            access_log: default_access_log(),
            access_log_format: LogFormat::default(),
            access_log_time: LogTime::default(),
            shutdown_timeout_ms: default_shutdown_timeout_ms(),
            limits: LimitsConfig::default(),
            visitor_sessions: VisitorSessionsConfig::default(),
            routes: Vec::new(),
        }
    }
}

impl RouteConfig {
    fn empty() -> Self {
        Self {
            prefix: None,
            suffix: None,
            host: None,
            allow: Vec::new(),
            deny: Vec::new(),
            respond: None,
            static_files: None,
            status: None,
            echo: None,
            cgi: None,
            fastcgi: None,
            handler: None,
        }
    }
}

/// 1-based line and column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE_EXAMPLE: &str = r#"
listen = ["127.0.0.1:8080"]
workers = 2                 # 0 or absent: one per core
access_log = "stdout"       # or a file path, or "off"

[limits]                    # every session-core limit, with the defaults shown by --check
max_sessions = 10000
header_timeout_ms = 10000
keepalive_timeout_ms = 75000
max_body_bytes = 10485760

[[route]]                   # first match wins, in file order
prefix = "/plaintext"
respond = { status = 200, content_type = "text/plain", body = "Hello, World!" }

[[route]]
prefix = "/"
static = { dir = "site/public", index = ["index.html"] }
"#;

    #[test]
    fn the_example_from_the_issue_parses() {
        let config = Config::parse(ISSUE_EXAMPLE).unwrap();
        config.validate().unwrap();
        assert_eq!(config.workers, 2);
        assert_eq!(config.routes.len(), 2);
        assert_eq!(config.limits.max_sessions, 10_000);
        assert_eq!(
            config.routes[0].respond.as_ref().unwrap().body,
            "Hello, World!"
        );
        assert_eq!(
            config.routes[1].static_files.as_ref().unwrap().dir,
            PathBuf::from("site/public")
        );
    }

    #[test]
    fn an_empty_file_is_all_defaults() {
        let config = Config::parse("").unwrap();
        assert_eq!(config, Config::default());
    }

    #[test]
    fn unknown_keys_are_errors_with_their_line() {
        let err = Config::parse("listen = [\"127.0.0.1:1\"]\nworkerz = 3\n").unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("2:1:"), "{text}");
        assert!(text.contains("workerz"), "{text}");

        let err = Config::parse("[limits]\nmax_sessions = 1\nheader_timeout = 5\n").unwrap_err();
        assert!(err.to_string().starts_with("3:1:"), "{err}");

        let err =
            Config::parse("[[route]]\nprefix = \"/\"\nrespond = { status = 200, bdy = \"x\" }\n")
                .unwrap_err();
        assert!(err.to_string().starts_with("3:"), "{err}");
    }

    #[test]
    fn type_errors_name_their_line() {
        let err = Config::parse("workers = \"two\"\n").unwrap_err();
        assert!(err.to_string().starts_with("1:"), "{err}");
    }

    #[test]
    fn a_route_needs_exactly_one_kind_and_a_matcher() {
        let two =
            Config::parse("[[route]]\nprefix = \"/\"\nstatus = {}\nrespond = { body = \"x\" }\n")
                .unwrap();
        assert!(
            two.validate()
                .unwrap_err()
                .to_string()
                .contains("exactly one")
        );
        let none = Config::parse("[[route]]\nprefix = \"/\"\n").unwrap();
        assert!(none.validate().is_err());
        let unmatched = Config::parse("[[route]]\nstatus = {}\n").unwrap();
        assert!(unmatched.validate().is_err());
    }

    #[test]
    fn cgi_and_fastcgi_routes_parse() {
        let mut config = Config::parse(
            "[[route]]\nsuffix = \".cgi\"\ncgi = { dir = \"cgi-bin\", env = { A = \"1\" }, limits = { cpu_secs = 2 } }\n\n[[route]]\nsuffix = \".php\"\nfastcgi = { upstreams = [\"127.0.0.1:9000\"], root = \"php\" }\n",
        )
        .unwrap();
        config.validate().unwrap();
        config.resolve_paths(Path::new("/etc/refserver"));
        let cgi = config.routes[0].cgi.as_ref().unwrap();
        assert_eq!(
            cgi.dir.as_deref(),
            Some(Path::new("/etc/refserver/cgi-bin"))
        );
        assert_eq!(cgi.inherit_env, ["PATH"]);
        assert_eq!(cgi.limits.cpu_secs, Some(2));
        assert_eq!(cgi.unknown_length, UnknownLength::Spool);
        let fastcgi = config.routes[1].fastcgi.as_ref().unwrap();
        assert_eq!(
            fastcgi.root.as_deref(),
            Some(Path::new("/etc/refserver/php"))
        );
        assert_eq!(
            (fastcgi.index.as_str(), fastcgi.script_suffix.as_str()),
            ("index.php", ".php")
        );
        assert!(fastcgi.keep_conn && fastcgi.multiplex);
        assert_eq!(fastcgi.read_timeout_ms, 60_000);
        let err = Config::parse("[[route]]\nprefix = \"/\"\ncgi = { dir = \"x\", colour = 1 }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn listen_addresses_parse() {
        assert_eq!(
            ListenAddr::parse("[::1]:80").unwrap(),
            ListenAddr::Tcp("[::1]:80".parse().unwrap())
        );
        assert_eq!(
            ListenAddr::parse("unix:/tmp/x.sock").unwrap(),
            ListenAddr::Unix(PathBuf::from("/tmp/x.sock"))
        );
        assert_eq!(
            ListenAddr::parse("localhost").unwrap(),
            ListenAddr::Tcp("127.0.0.1:80".parse().unwrap())
        );
        assert!(ListenAddr::parse("host:notaport").is_err());
        let bad = Config::parse("listen = [\"nope:notaport\"]").unwrap();
        assert!(bad.validate().is_err());
        // nginx's forms: a bare port, a name, one string.
        assert_eq!(
            ListenAddr::parse("8080").unwrap(),
            ListenAddr::Tcp("0.0.0.0:8080".parse().unwrap())
        );
        assert_eq!(
            ListenAddr::parse("localhost:8080").unwrap(),
            ListenAddr::Tcp("127.0.0.1:8080".parse().unwrap())
        );
        let one =
            Config::parse("listen = \"127.0.0.1:81\"\n[[route]]\nprefix = \"/\"\nrespond = {}\n")
                .unwrap();
        assert_eq!(one.listen(), ["127.0.0.1:81"]);
    }

    #[test]
    fn listeners_carry_tls_or_a_redirect() {
        let text = r#"
listen = [{ addr = "127.0.0.1:8443", tls = { cert = "fullchain.pem", key = "key.pem", hsts = "max-age=60" } },
          { addr = "127.0.0.1:8444", tls = { certs = [{ cert = "a.pem", key = "a.key" }, { cert = "b.pem", key = "b.key" }] } },
          { addr = "8080", redirect_https = true, https_port = 8443 },
          "unix:/tmp/x.sock"]
[[route]]
prefix = "/"
respond = {}
"#;
        let mut config = Config::parse(text).unwrap();
        config.validate().unwrap();
        assert_eq!(
            config.listen(),
            [
                "127.0.0.1:8443",
                "127.0.0.1:8444",
                "8080",
                "unix:/tmp/x.sock"
            ]
        );
        assert_eq!(config.listen[2].redirect_https(), Some(8443));
        assert_eq!(config.listen[1].tls().unwrap().pairs().len(), 2);
        let printed = config.to_toml();
        assert_eq!(Config::parse(&printed).unwrap(), config, "{printed}");
        config.resolve_paths(Path::new("/etc/refserver"));
        assert_eq!(
            config.listen[0].tls().unwrap().cert.as_deref(),
            Some(Path::new("/etc/refserver/fullchain.pem"))
        );
        let check = |text: &str| {
            Config::parse(&format!(
                "{text}\n[[route]]\nprefix = \"/\"\nrespond = {{}}\n"
            ))
            .and_then(|c| c.validate())
            .unwrap_err()
            .to_string()
        };
        let e = check(r#"listen = { addr = "unix:/x", tls = { cert = "a", key = "b" } }"#);
        assert!(e.contains("TLS is for TCP"), "{e}");
        let e = check(r#"listen = { addr = "1", tls = { cert = "a" } }"#);
        assert!(e.contains("needs its `key`"), "{e}");
        let e = check(r#"listen = { addr = "1", tls = {} }"#);
        assert!(e.contains("needs `cert` and `key`"), "{e}");
        let e = check(r#"listen = { addr = "1", https_port = 8443 }"#);
        assert!(e.contains("https_port"), "{e}");
        assert!(Config::parse(r#"listen = { addr = "1", tsl = {} }"#).is_err());
    }

    #[test]
    fn mistakes_that_would_silently_do_nothing_are_errors() {
        let check = |text: &str| {
            Config::parse(text)
                .and_then(|c| c.validate().map(|()| c))
                .err()
                .map(|e| e.to_string())
        };
        let none = check("listen = \"127.0.0.1:81\"\n").unwrap();
        assert!(none.contains("no [[route]]"), "{none}");
        let prefix = check("[[route]]\nprefix = \"static\"\nrespond = {}\n").unwrap();
        assert!(prefix.contains("must start with `/`"), "{prefix}");
        for host in ["*example.com", "www.*.com", "~^www", "a b"] {
            let e = check(&format!("[[route]]\nhost = \"{host}\"\nrespond = {{}}\n")).unwrap();
            assert!(e.contains("not a host name"), "{host}: {e}");
        }
        for host in [
            "example.com",
            "*.example.com",
            ".example.com",
            "www.example.*",
        ] {
            assert_eq!(
                check(&format!("[[route]]\nhost = \"{host}\"\nrespond = {{}}\n")),
                None
            );
        }
    }

    #[test]
    fn printed_config_parses_back_to_itself() {
        let mut config = Config::parse(ISSUE_EXAMPLE).unwrap();
        config.routes.push(RouteConfig {
            prefix: Some("/cgi-bin/".to_owned()),
            cgi: Config::parse(
                "[[route]]\nprefix = \"/\"\ncgi = { program = \"/bin/true\", env = { A = \"1\" }, limits = { open_files = 64 } }\n",
            )
            .unwrap()
            .routes[0]
                .cgi
                .clone(),
            ..RouteConfig::empty()
        });
        let printed = config.to_toml();
        assert_eq!(Config::parse(&printed).unwrap(), config, "{printed}");
        let demo = Config::demo(PathBuf::from("site"));
        assert_eq!(Config::parse(&demo.to_toml()).unwrap(), demo);
    }

    #[test]
    fn visitor_sessions_default_to_memory_and_take_a_redis_url() {
        let config = Config::parse("").unwrap();
        assert!(!config.visitor_sessions.is_redis());
        assert_eq!(config.visitor_store(), "memory");
        let config = Config::parse(
            "[visitor_sessions]\nstore = \"redis://user:pw@127.0.0.1:6379/2\"\nkey_prefix = \"site:\"\npool_size = 4\ntimeout_ms = 50\nidle_timeout_ms = 1000\n[[route]]\nprefix = \"/\"\nrespond = {}\n",
        )
        .unwrap();
        config.validate().unwrap();
        let v = &config.visitor_sessions;
        assert!(v.is_redis());
        assert_eq!((v.pool_size, v.timeout_ms), (4, 50));
        assert_eq!(v.store_limits().idle_timeout, Duration::from_secs(1));
        assert_eq!(Config::parse(&config.to_toml()).unwrap(), config);
        let check = |table: &str| {
            Config::parse(&format!(
                "[visitor_sessions]\n{table}\n[[route]]\nprefix = \"/\"\nrespond = {{}}\n"
            ))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string()
        };
        let bad = check("store = \"mysql://user:s3cret@db\"");
        assert!(bad.contains("neither `memory` nor a Redis URL"), "{bad}");
        assert!(
            !bad.contains("s3cret"),
            "the password stays out of errors: {bad}"
        );
        assert!(check("pool_size = 0").contains("pool_size"));
        assert!(check("timeout_ms = 0").contains("timeout_ms"));
        let unknown = Config::parse("[visitor_sessions]\nstroe = \"memory\"\n").unwrap_err();
        assert!(unknown.to_string().starts_with("2:"), "{unknown}");
    }

    #[test]
    fn relative_paths_follow_the_config_file() {
        let mut config = Config::parse(ISSUE_EXAMPLE).unwrap();
        config.access_log = "logs/access.log".to_owned();
        config.resolve_paths(Path::new("/etc/refserver"));
        assert_eq!(
            config.routes[1].static_files.as_ref().unwrap().dir,
            PathBuf::from("/etc/refserver/site/public")
        );
        assert_eq!(config.access_log, "/etc/refserver/logs/access.log");
    }
}
