//! Limits both sides enforce, as one value.

/// Bounds on what a peer can make a connection hold, and on how much output a
/// connection queues before it pushes back.
///
/// Worst-case memory a hostile peer can pin on one connection is about
/// `max_concurrent_requests * max_params_bytes` (partial name-value pairs) plus
/// one record ([`MAX_RECORD_LEN`](crate::record::MAX_RECORD_LEN)) of receive
/// buffer, plus `send_buffer_bytes` of our own output.
///
/// ```
/// let limits = fcgi_proto::Limits::default()
///     .with_max_params_bytes(16 * 1024)
///     .with_max_concurrent_requests(64);
/// assert_eq!(limits.max_params_bytes(), 16 * 1024);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    max_params_bytes: usize,
    max_concurrent_requests: usize,
    send_buffer_bytes: usize,
    max_conns: usize,
    require_stdout_end: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_params_bytes: 128 * 1024,
            max_concurrent_requests: 128,
            send_buffer_bytes: 256 * 1024,
            max_conns: 64,
            require_stdout_end: false,
        }
    }
}

impl Limits {
    /// Largest total encoded size of one request's params stream (and of one
    /// `GET_VALUES`/`GET_VALUES_RESULT` body). Default 128 KiB.
    #[must_use]
    pub fn max_params_bytes(&self) -> usize {
        self.max_params_bytes
    }

    /// Sets [`max_params_bytes`](Self::max_params_bytes).
    #[must_use]
    pub fn with_max_params_bytes(mut self, n: usize) -> Self {
        self.max_params_bytes = n;
        self
    }

    /// Most requests active at once on one connection. The application side
    /// advertises it as `FCGI_MAX_REQS` (and `FCGI_MPXS_CONNS=1` when above 1)
    /// and refuses more with `FCGI_OVERLOADED`; the web-server side never
    /// starts more than the smaller of this and what the application allows.
    /// Default 128; clamped to 1..=65535.
    #[must_use]
    pub fn max_concurrent_requests(&self) -> usize {
        self.max_concurrent_requests
    }

    /// Sets [`max_concurrent_requests`](Self::max_concurrent_requests).
    #[must_use]
    pub fn with_max_concurrent_requests(mut self, n: usize) -> Self {
        self.max_concurrent_requests = n.clamp(1, usize::from(u16::MAX));
        self
    }

    /// Output queued but not yet taken by `poll_transmit` above which stream
    /// writes (`send_stdin`, `send_stdout`, ...) accept no more bytes: the
    /// back-pressure point. Default 256 KiB.
    #[must_use]
    pub fn send_buffer_bytes(&self) -> usize {
        self.send_buffer_bytes
    }

    /// Sets [`send_buffer_bytes`](Self::send_buffer_bytes).
    #[must_use]
    pub fn with_send_buffer_bytes(mut self, n: usize) -> Self {
        self.send_buffer_bytes = n;
        self
    }

    /// `FCGI_MAX_CONNS` the application side advertises in `GET_VALUES_RESULT`
    /// (the connection itself cannot count its siblings; the driver knows).
    /// Unused by the web-server side. Default 64.
    #[must_use]
    pub fn max_conns(&self) -> usize {
        self.max_conns
    }

    /// Sets [`max_conns`](Self::max_conns).
    #[must_use]
    pub fn with_max_conns(mut self, n: usize) -> Self {
        self.max_conns = n;
        self
    }

    /// Whether the web-server side refuses an `END_REQUEST` that arrives
    /// before the empty `STDOUT` record ending the response stream, with
    /// [`Error::EndRequestBeforeStdoutClosed`](crate::Error::EndRequestBeforeStdoutClosed).
    /// Default false: §5.5 implies the order, but php-fpm (8.2 at least) never
    /// sends the empty `STDOUT` record, and nginx accepts that; when false,
    /// `END_REQUEST` ends the streams.
    #[must_use]
    pub fn require_stdout_end(&self) -> bool {
        self.require_stdout_end
    }

    /// Sets [`require_stdout_end`](Self::require_stdout_end).
    #[must_use]
    pub fn with_require_stdout_end(mut self, on: bool) -> Self {
        self.require_stdout_end = on;
        self
    }
}
