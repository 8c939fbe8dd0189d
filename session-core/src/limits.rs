//! Every rule about time, memory and order for one session, in one value.

use std::time::Duration;

/// Deadlines and limits for a session. Share one value between sessions with an `Arc`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// HTTP parsing limits (head size, header count, body size, leniencies).
    pub http: http_proto::Limits,
    /// From accept to the end of the transport's handshake (TLS), for a session made with
    /// [`Session::with_handshake`](crate::Session::with_handshake). Past it: silent close
    /// (no HTTP can be spoken yet), like a stalled head.
    pub handshake_timeout: Duration,
    /// From accept (or the end of the handshake) to the first byte of the first request.
    /// Past it: silent close.
    pub first_byte_timeout: Duration,
    /// From a head's first byte to its last (the slowloris bound). Past it: 408.
    pub header_timeout: Duration,
    /// While the handler waits for request body bytes, each window of this length must
    /// bring at least `body_min_rate` bytes per second. Else: 408.
    pub body_rate_window: Duration,
    /// Minimum request body data rate, bytes per second (0 turns the check off).
    pub body_min_rate: u64,
    /// Idle time allowed between keep-alive requests. Past it: silent close.
    pub keepalive_timeout: Duration,
    /// Time allowed without write progress while output is pending. Past it: close.
    /// Default 60 s, nginx's `send_timeout`: real clients (`curl --limit-rate`) pause that long.
    pub write_stall_timeout: Duration,
    /// Time the handler may take to start its response, and then between pieces of it.
    /// Past it: 504 if no response started, else close.
    pub handler_timeout: Duration,
    /// How long a closing session keeps reading (and dropping) what the client still
    /// sends, after its last response is flushed and its sending side shut down, when
    /// input may be left unread (a refused body, a rejected request): RFC 9112 §9.6's
    /// staged close, so the client reads the response instead of a reset. Zero closes
    /// at once.
    pub linger_timeout: Duration,
    /// Total lifetime of a session, if bounded: then it closes when idle, or after the
    /// response in flight (with `Connection: close`).
    pub max_lifetime: Option<Duration>,
    /// Requests served on one session; the last one is answered with `Connection: close`.
    pub max_requests: u32,
    /// Stop reading while this many bytes of output wait to be written.
    pub write_watermark: usize,
    /// Stop reading while this many complete responses wait to be written (pipelining depth).
    pub max_queued_responses: usize,
    /// Stop reading while this many received bytes wait to be parsed (pipelined requests
    /// queued behind the one being handled).
    pub max_read_ahead: usize,
    /// Bytes to make room for on each read.
    pub read_chunk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            http: http_proto::Limits::default(),
            handshake_timeout: Duration::from_secs(10),
            first_byte_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(10),
            body_rate_window: Duration::from_secs(10),
            body_min_rate: 256,
            keepalive_timeout: Duration::from_secs(75),
            write_stall_timeout: Duration::from_secs(60),
            handler_timeout: Duration::from_secs(60),
            linger_timeout: Duration::from_secs(5),
            max_lifetime: None,
            max_requests: 10_000,
            write_watermark: 256 * 1024,
            max_queued_responses: 32,
            max_read_ahead: 64 * 1024,
            read_chunk: 4096,
        }
    }
}
