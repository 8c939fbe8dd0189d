//! The web server's end of a FastCGI connection (§3.3, §5, §6): the side
//! nginx, Apache and our `refserver` play against php-fpm or fcgiwrap.

use bytes::{Bytes, BytesMut};

use crate::error::Error;
use crate::id_map::IdMap;
use crate::limits::Limits;
use crate::params::{EncodedParams, Param, decode_pairs, encode_pair};
use crate::record::{
    BeginRequestBody, EndRequestBody, HEADER_LEN, MANAGEMENT_REQUEST_ID, ProtocolStatus, Record,
    RecordDecoder, RecordType, Role, UnknownTypeBody, encode_record, encode_stream,
    encode_stream_end, encode_stream_in_place,
};
use crate::transmit::{Payload, Transmit};

/// Room reserved for a request's `PARAMS` before they are encoded: a typical CGI
/// environment (20-40 variables) fits, so encoding it does not grow the buffer.
const PARAMS_RESERVE: usize = 2048;

/// Names a web server may ask about with [`ServerConn::get_values`] (§4.1).
pub const FCGI_MAX_CONNS: &str = "FCGI_MAX_CONNS";
/// Maximum concurrent requests the application accepts (§4.1).
pub const FCGI_MAX_REQS: &str = "FCGI_MAX_REQS";
/// "1" when the application multiplexes connections (§4.1).
pub const FCGI_MPXS_CONNS: &str = "FCGI_MPXS_CONNS";

/// What an application said of itself in a `GET_VALUES_RESULT` (§4.1): each value a
/// decimal number, absent when it did not answer for it (or the value is not a number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AppValues {
    /// `FCGI_MAX_CONNS`: transport connections it accepts at once.
    pub max_conns: Option<usize>,
    /// `FCGI_MAX_REQS`: requests it accepts at once.
    pub max_reqs: Option<usize>,
    /// `FCGI_MPXS_CONNS`: whether it multiplexes requests on a connection (non-zero).
    pub mpxs_conns: Option<bool>,
}

impl AppValues {
    /// Reads the pairs of a [`ServerEvent::GetValuesResult`].
    ///
    /// ```
    /// use fcgi_proto::{AppValues, Param};
    /// let pairs = [Param { name: "FCGI_MPXS_CONNS".into(), value: "1".into() },
    ///              Param { name: "FCGI_MAX_REQS".into(), value: " 50 ".into() }];
    /// let v = AppValues::from_pairs(&pairs);
    /// assert_eq!((v.max_conns, v.max_reqs, v.mpxs_conns), (None, Some(50), Some(true)));
    /// ```
    #[must_use]
    pub fn from_pairs(values: &[Param]) -> Self {
        let number = |name: &str| {
            let p = values.iter().find(|p| &p.name[..] == name.as_bytes())?;
            std::str::from_utf8(&p.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        };
        Self {
            max_conns: number(FCGI_MAX_CONNS),
            max_reqs: number(FCGI_MAX_REQS),
            mpxs_conns: number(FCGI_MPXS_CONNS).map(|n| n != 0),
        }
    }
}

/// What the application said or did, as [`ServerConn::poll_event`] hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A piece of the response stream (never empty). `data` is a zero-copy
    /// view of the received bytes.
    Stdout {
        /// The request it belongs to.
        request_id: u16,
        /// Response bytes (a CGI response: headers, blank line, body).
        data: Bytes,
    },
    /// A piece of the error stream (never empty), for the server's error log.
    Stderr {
        /// The request it belongs to.
        request_id: u16,
        /// Error-stream bytes.
        data: Bytes,
    },
    /// The request is over; its id is free again. The last event for a request.
    EndRequest {
        /// The request that ended.
        request_id: u16,
        /// The application's exit status.
        app_status: u32,
        /// Why it ended: [`ProtocolStatus::RequestComplete`] normally, else a
        /// refusal (`CantMpxConn`, `Overloaded`, `UnknownRole`).
        protocol_status: ProtocolStatus,
    },
    /// The answer to [`ServerConn::get_values`]. The connection has already
    /// applied `FCGI_MAX_REQS` and `FCGI_MPXS_CONNS` to
    /// [`max_concurrent`](ServerConn::max_concurrent).
    GetValuesResult {
        /// The pairs the application answered with.
        values: Vec<Param>,
    },
    /// The application did not understand a management record we sent.
    UnknownType {
        /// The type byte it did not understand.
        record_type: u8,
    },
}

#[derive(Debug)]
struct ServerRequest {
    role: Role,
    params_open: bool,
    stdin_open: bool,
    data_open: bool,
    stdout_open: bool,
    stderr_open: bool,
    aborted: bool,
}

/// The web server's end of one FastCGI connection, Sans-IO.
///
/// The driver loop:
/// 1. start requests with [`begin_request`](Self::begin_request), then
///    [`send_params`](Self::send_params), [`end_params`](Self::end_params),
///    [`send_stdin`](Self::send_stdin) (which accepts only as many bytes as
///    the send buffer has room for: that is the back-pressure) and
///    [`end_stdin`](Self::end_stdin);
/// 2. write everything [`poll_transmit`](Self::poll_transmit) returns to the socket;
/// 3. [`feed`](Self::feed) what the socket gives and call
///    [`poll_event`](Self::poll_event) until it returns `Ok(None)`.
///
/// Only one request is active at a time until the application says it
/// multiplexes (a `GET_VALUES` answer with `FCGI_MPXS_CONNS=1`, or
/// [`set_app_max_requests`](Self::set_app_max_requests)); then up to
/// [`max_concurrent`](Self::max_concurrent) requests interleave.
///
/// ```
/// use fcgi_proto::{Limits, Role, ServerConn};
/// let mut conn = ServerConn::new(Limits::default());
/// let id = conn.begin_request(Role::Responder, true).unwrap();
/// conn.send_params(id, [("REQUEST_METHOD", "GET"), ("SCRIPT_FILENAME", "/srv/a.php")]).unwrap();
/// conn.end_params(id).unwrap();
/// conn.end_stdin(id).unwrap();
/// let wire = conn.poll_transmit().unwrap();
/// assert_eq!(wire.len() % 8, 0);
/// assert!(conn.poll_transmit().is_none());
/// ```
#[derive(Debug)]
pub struct ServerConn {
    limits: Limits,
    decoder: RecordDecoder,
    out: Transmit,
    requests: IdMap<ServerRequest>,
    app_max_requests: usize,
    /// A request was begun without `FCGI_KEEP_CONN`: the application closes
    /// the connection after it, so no other request may start.
    closing: bool,
}

impl ServerConn {
    /// A fresh connection, assuming the application does not multiplex until told otherwise.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            decoder: RecordDecoder::new(),
            out: Transmit::default(),
            requests: IdMap::default(),
            app_max_requests: 1,
            closing: false,
        }
    }

    /// The limits this connection enforces.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Requests begun and not yet ended by `END_REQUEST`.
    #[must_use]
    pub fn active_requests(&self) -> usize {
        self.requests.len()
    }

    /// Most requests that may be active at once: the smaller of
    /// [`Limits::max_concurrent_requests`] and what the application allows (1
    /// until it says it multiplexes). Changes after a `GET_VALUES_RESULT` or an
    /// `END_REQUEST` with `FCGI_CANT_MPX_CONN`.
    #[must_use]
    pub fn max_concurrent(&self) -> usize {
        self.app_max_requests
            .min(self.limits.max_concurrent_requests())
            .max(1)
    }

    /// Tells the connection how many concurrent requests the application
    /// accepts, as `GET_VALUES` would (e.g. from configuration).
    pub fn set_app_max_requests(&mut self, n: usize) {
        self.app_max_requests = n.max(1);
    }

    /// Whether [`begin_request`](Self::begin_request) would succeed now. May
    /// change after an [`ServerEvent::EndRequest`] or a `GET_VALUES_RESULT`.
    #[must_use]
    pub fn can_begin_request(&self) -> bool {
        !self.closing && self.requests.len() < self.max_concurrent()
    }

    /// Whether the connection can carry more requests after the active ones
    /// end: false once a request was begun without `keep_conn` (the
    /// application closes the connection after ending it, §5.1).
    #[must_use]
    pub fn is_reusable(&self) -> bool {
        !self.closing
    }

    /// Starts a request: queues `BEGIN_REQUEST` and returns its request id.
    /// With `keep_conn` false the application closes the connection after the
    /// request and no other request may start on it.
    ///
    /// # Errors
    /// [`Error::ConnectionBusy`] when [`can_begin_request`](Self::can_begin_request) is false.
    pub fn begin_request(&mut self, role: Role, keep_conn: bool) -> Result<u16, Error> {
        if !self.can_begin_request() {
            return Err(Error::ConnectionBusy {
                active: self.requests.len(),
            });
        }
        // Lowest free id: id 1 for the common one-at-a-time case (like nginx).
        // can_begin_request bounds the active set below 65535, so one is free.
        let Some(id) = (1..=u16::MAX).find(|id| !self.requests.contains_key(id)) else {
            return Err(Error::ConnectionBusy {
                active: self.requests.len(),
            });
        };
        let body = BeginRequestBody { role, keep_conn }.encode();
        // Room for the params and the stream ends that follow, in one allocation.
        self.out
            .buf()
            .reserve(4 * HEADER_LEN + body.len() + PARAMS_RESERVE);
        let _ = encode_record(self.out.buf(), RecordType::BeginRequest, id, &body);
        self.requests.insert(
            id,
            ServerRequest {
                role,
                params_open: true,
                stdin_open: true,
                data_open: role == Role::Filter,
                stdout_open: true,
                stderr_open: true,
                aborted: false,
            },
        );
        if !keep_conn {
            self.closing = true;
        }
        Ok(id)
    }

    fn request_mut(&mut self, request_id: u16) -> Result<&mut ServerRequest, Error> {
        self.requests
            .get_mut(&request_id)
            .ok_or(Error::RequestNotActive { request_id })
    }

    /// Queues name-value pairs on the request's `PARAMS` stream, split into
    /// records of at most 65535 bytes. Pass all params in one call where you
    /// can: each call writes at least one record. Params are not subject to
    /// back-pressure (they are small and bounded by the caller).
    ///
    /// # Errors
    /// [`Error::RequestNotActive`], [`Error::StreamClosed`] after
    /// [`end_params`](Self::end_params), [`Error::ParamTooLong`].
    pub fn send_params<I, N, V>(&mut self, request_id: u16, params: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = (N, V)>,
        N: AsRef<[u8]>,
        V: AsRef<[u8]>,
    {
        self.check_params_open(request_id)?;
        encode_stream_in_place(self.out.buf(), RecordType::Params, request_id, |out| {
            // Reserved by `begin_request` when the buffer was empty; otherwise now.
            out.reserve(PARAMS_RESERVE);
            params
                .into_iter()
                .try_for_each(|(n, v)| encode_pair(out, n.as_ref(), v.as_ref()))
        })
    }

    /// Queues pairs encoded beforehand on the request's `PARAMS` stream, as
    /// [`send_params`](Self::send_params) does for pairs given one by one.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`], [`Error::StreamClosed`] after
    /// [`end_params`](Self::end_params).
    pub fn send_encoded_params(
        &mut self,
        request_id: u16,
        params: &EncodedParams,
    ) -> Result<(), Error> {
        self.check_params_open(request_id)?;
        encode_stream(
            self.out.buf(),
            RecordType::Params,
            request_id,
            params.as_bytes(),
        );
        Ok(())
    }

    /// `Ok` while the request's `PARAMS` stream takes pairs.
    fn check_params_open(&mut self, request_id: u16) -> Result<(), Error> {
        if self.request_mut(request_id)?.params_open {
            return Ok(());
        }
        Err(Error::StreamClosed {
            record_type: RecordType::Params,
            request_id,
        })
    }

    /// Ends the `PARAMS` stream (the empty record, §3.3).
    ///
    /// # Errors
    /// [`Error::RequestNotActive`], [`Error::StreamClosed`] when already ended.
    pub fn end_params(&mut self, request_id: u16) -> Result<(), Error> {
        let req = self.request_mut(request_id)?;
        close_stream(&mut req.params_open, RecordType::Params, request_id)?;
        encode_stream_end(self.out.buf(), RecordType::Params, request_id);
        Ok(())
    }

    /// Room left in the send buffer: how many stream bytes
    /// [`send_stdin`](Self::send_stdin) or [`send_data`](Self::send_data) will
    /// take now. Grows after [`poll_transmit`](Self::poll_transmit).
    #[must_use]
    pub fn send_capacity(&self) -> usize {
        self.limits
            .send_buffer_bytes()
            .saturating_sub(self.out.len())
    }

    fn send_stream(
        &mut self,
        request_id: u16,
        record_type: RecordType,
        data: Payload<'_>,
    ) -> Result<usize, Error> {
        let cap = self.send_capacity();
        let req = self.request_mut(request_id)?;
        let open = match record_type {
            RecordType::Stdin => req.stdin_open,
            _ => req.data_open,
        };
        if !open {
            return Err(Error::StreamClosed {
                record_type,
                request_id,
            });
        }
        let n = data.len().min(cap);
        data.queue_prefix(&mut self.out, record_type, request_id, n);
        Ok(n)
    }

    /// Queues request-body bytes on `STDIN`, as many as
    /// [`send_capacity`](Self::send_capacity) allows, and returns how many it
    /// took (0 when the buffer is full: transmit, then call again). Empty
    /// input queues nothing.
    ///
    /// The application may end a request before reading all of its body
    /// (e.g. an early error response): once [`ServerEvent::EndRequest`] came,
    /// this returns [`Error::RequestNotActive`] and the driver stops sending.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`], [`Error::StreamClosed`] after [`end_stdin`](Self::end_stdin).
    pub fn send_stdin(&mut self, request_id: u16, data: &[u8]) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Stdin, Payload::Borrowed(data))
    }

    /// [`send_stdin`](Self::send_stdin) for a body already in `Bytes` (e.g.
    /// straight from the HTTP decoder): large chunks go to
    /// [`poll_transmit`](Self::poll_transmit) as views of `data`, not copies.
    /// Returns how many bytes it took; keep the rest (`data.slice(n..)`) for later.
    ///
    /// # Errors
    /// As [`send_stdin`](Self::send_stdin).
    pub fn send_stdin_bytes(&mut self, request_id: u16, data: Bytes) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Stdin, Payload::Shared(data))
    }

    /// Ends `STDIN`. Every request must end it, even one with no body.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`], [`Error::StreamClosed`] when already ended.
    pub fn end_stdin(&mut self, request_id: u16) -> Result<(), Error> {
        let req = self.request_mut(request_id)?;
        close_stream(&mut req.stdin_open, RecordType::Stdin, request_id)?;
        encode_stream_end(self.out.buf(), RecordType::Stdin, request_id);
        Ok(())
    }

    /// Queues file bytes on `DATA` (Filter role only, §6.4), like [`send_stdin`](Self::send_stdin).
    ///
    /// # Errors
    /// [`Error::RequestNotActive`]; [`Error::StreamClosed`] after
    /// [`end_data`](Self::end_data) or when the role is not Filter.
    pub fn send_data(&mut self, request_id: u16, data: &[u8]) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Data, Payload::Borrowed(data))
    }

    /// Ends `DATA` (Filter role only).
    ///
    /// # Errors
    /// As [`send_data`](Self::send_data).
    pub fn end_data(&mut self, request_id: u16) -> Result<(), Error> {
        let req = self.request_mut(request_id)?;
        close_stream(&mut req.data_open, RecordType::Data, request_id)?;
        encode_stream_end(self.out.buf(), RecordType::Data, request_id);
        Ok(())
    }

    /// Queues `ABORT_REQUEST` (§5.4), e.g. when the HTTP client went away. The
    /// request stays active until the application answers with `END_REQUEST`;
    /// our streams count as ended (nothing more may be sent on them).
    /// A second abort of the same request queues nothing.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`].
    pub fn abort_request(&mut self, request_id: u16) -> Result<(), Error> {
        let req = self.request_mut(request_id)?;
        if req.aborted {
            return Ok(());
        }
        req.aborted = true;
        req.params_open = false;
        req.stdin_open = false;
        req.data_open = false;
        let _ = encode_record(self.out.buf(), RecordType::AbortRequest, request_id, &[]);
        Ok(())
    }

    /// The role a request was begun with.
    #[must_use]
    pub fn role(&self, request_id: u16) -> Option<Role> {
        self.requests.get(&request_id).map(|r| r.role)
    }

    /// Queues a `GET_VALUES` management record asking for `names` (usually
    /// [`FCGI_MAX_CONNS`], [`FCGI_MAX_REQS`], [`FCGI_MPXS_CONNS`]). The answer
    /// arrives as [`ServerEvent::GetValuesResult`].
    ///
    /// # Errors
    /// [`Error::ContentTooLong`] when the names do not fit one record;
    /// [`Error::ParamTooLong`].
    pub fn get_values<I, N>(&mut self, names: I) -> Result<(), Error>
    where
        I: IntoIterator<Item = N>,
        N: AsRef<[u8]>,
    {
        let mut content = BytesMut::new();
        for n in names {
            encode_pair(&mut content, n.as_ref(), b"")?;
        }
        encode_record(
            self.out.buf(),
            RecordType::GetValues,
            MANAGEMENT_REQUEST_ID,
            &content,
        )
    }

    /// Takes the next segment of queued output, oldest first; call until it
    /// returns `None` and write every segment to the socket, in order (a
    /// vectored write fits). Space freed here is what
    /// [`send_capacity`](Self::send_capacity) hands out again. More output may
    /// be queued by any `send`/`end`/`begin`/`abort`/`get_values` call.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.poll()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    /// Appends bytes read from the socket. Call [`poll_event`](Self::poll_event)
    /// until it returns `Ok(None)` before feeding more.
    pub fn feed(&mut self, data: &[u8]) {
        self.decoder.feed(data);
    }

    /// The receive buffer, for reading straight into it instead of [`feed`](Self::feed).
    pub fn receive_buffer(&mut self) -> &mut BytesMut {
        self.decoder.buffer_mut()
    }

    /// Whether bytes of a partial record are buffered: at end of file, a
    /// truncated record.
    #[must_use]
    pub fn has_partial_record(&self) -> bool {
        self.decoder.buffered() > 0
    }

    /// The next thing the application did, or `Ok(None)` when more bytes must
    /// be fed. Call again until `Ok(None)` after every [`feed`](Self::feed).
    ///
    /// # Errors
    /// Every peer fault of [`Error`]. After a fatal one ([`Error::is_fatal`])
    /// the connection must be closed and every call fails again; after any
    /// other, the offending record was dropped and polling may go on. An
    /// [`Error::EndRequestBeforeStdoutClosed`] (only with
    /// [`Limits::require_stdout_end`]) still ends the request.
    pub fn poll_event(&mut self) -> Result<Option<ServerEvent>, Error> {
        while let Some(rec) = self.decoder.decode()? {
            if let Some(ev) = self.handle_record(rec)? {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    fn handle_record(&mut self, rec: Record) -> Result<Option<ServerEvent>, Error> {
        let Record {
            record_type,
            request_id,
            content,
        } = rec;
        if request_id == MANAGEMENT_REQUEST_ID {
            return match record_type {
                RecordType::GetValuesResult => {
                    let values = decode_pairs(content, self.limits.max_params_bytes(), request_id)?;
                    self.apply_values(&values);
                    Ok(Some(ServerEvent::GetValuesResult { values }))
                }
                RecordType::UnknownType => {
                    let body = UnknownTypeBody::decode(&content)?;
                    Ok(Some(ServerEvent::UnknownType {
                        record_type: body.record_type,
                    }))
                }
                _ => Err(Error::UnexpectedRecord {
                    record_type,
                    request_id,
                }),
            };
        }
        let Some(req) = self.requests.get_mut(&request_id) else {
            return Err(Error::UnknownRequestId {
                record_type,
                request_id,
            });
        };
        match record_type {
            RecordType::Stdout | RecordType::Stderr => {
                let open = if record_type == RecordType::Stdout {
                    &mut req.stdout_open
                } else {
                    &mut req.stderr_open
                };
                if !*open {
                    return Err(Error::StreamAlreadyEnded {
                        record_type,
                        request_id,
                    });
                }
                if content.is_empty() {
                    *open = false;
                    return Ok(None);
                }
                Ok(Some(if record_type == RecordType::Stdout {
                    ServerEvent::Stdout {
                        request_id,
                        data: content,
                    }
                } else {
                    ServerEvent::Stderr {
                        request_id,
                        data: content,
                    }
                }))
            }
            RecordType::EndRequest => {
                let body = EndRequestBody::decode(&content)?;
                let stdout_open = req.stdout_open;
                let aborted = req.aborted;
                self.requests.remove(&request_id);
                if body.protocol_status == ProtocolStatus::CantMpxConn {
                    self.app_max_requests = 1;
                }
                // §6.2: a responder ends STDOUT before END_REQUEST (checked
                // only on request: php-fpm skips the empty record). Refusals
                // (CANT_MPX_CONN, OVERLOADED, UNKNOWN_ROLE) and aborted
                // requests may come with no stream at all.
                if self.limits.require_stdout_end()
                    && stdout_open
                    && !aborted
                    && body.protocol_status == ProtocolStatus::RequestComplete
                {
                    return Err(Error::EndRequestBeforeStdoutClosed { request_id });
                }
                Ok(Some(ServerEvent::EndRequest {
                    request_id,
                    app_status: body.app_status,
                    protocol_status: body.protocol_status,
                }))
            }
            _ => Err(Error::UnexpectedRecord {
                record_type,
                request_id,
            }),
        }
    }

    fn apply_values(&mut self, values: &[Param]) {
        let values = AppValues::from_pairs(values);
        match (values.mpxs_conns, values.max_reqs) {
            (Some(false), _) => self.app_max_requests = 1,
            (Some(true), Some(n)) => self.app_max_requests = n.max(1),
            // Multiplexes but did not say how much: our own limit decides.
            (Some(true), None) => self.app_max_requests = usize::MAX,
            (None, _) => {}
        }
    }
}

fn close_stream(open: &mut bool, record_type: RecordType, request_id: u16) -> Result<(), Error> {
    if !*open {
        return Err(Error::StreamClosed {
            record_type,
            request_id,
        });
    }
    *open = false;
    Ok(())
}
