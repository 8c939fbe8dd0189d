//! The application's end of a FastCGI connection (§3.3, §4, §5, §6): what a
//! FastCGI program written in Rust drives.

use bytes::{Bytes, BytesMut};

use crate::error::Error;
use crate::id_map::IdMap;
use crate::limits::Limits;
use crate::params::{Param, ParamsDecoder, decode_pairs, encode_pair};
use crate::record::{
    BeginRequestBody, EndRequestBody, MANAGEMENT_REQUEST_ID, ProtocolStatus, Record, RecordDecoder,
    RecordType, Role, UnknownTypeBody, encode_record, encode_stream_end,
};
use crate::server_side::{FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS};
use crate::transmit::{Payload, Transmit};

/// What the web server asked, as [`AppConn::poll_event`] hands it out.
///
/// Per request the order is `BeginRequest`, then `Params`* and `ParamsEnd`,
/// `Stdin`* and `StdinEnd`, and for the Filter role `Data`* and `DataEnd`;
/// `AbortRequest` may come at any point after `BeginRequest`. Events of
/// different requests interleave when the web server multiplexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppEvent {
    /// A new request. Only roles this crate knows arrive here; others were
    /// answered with `FCGI_UNKNOWN_ROLE` already.
    BeginRequest {
        /// The new request's id.
        request_id: u16,
        /// Responder, Authorizer or Filter.
        role: Role,
        /// Whether the web server wants the connection kept open after this
        /// request ([`AppConn::wants_close`] follows it).
        keep_conn: bool,
    },
    /// Name-value pairs that became whole (never empty).
    Params {
        /// The request.
        request_id: u16,
        /// The pairs, in arrival order.
        params: Vec<Param>,
    },
    /// All params have arrived.
    ParamsEnd {
        /// The request.
        request_id: u16,
    },
    /// A piece of the request body (never empty).
    Stdin {
        /// The request.
        request_id: u16,
        /// Body bytes, zero-copy.
        data: Bytes,
    },
    /// The request body is complete.
    StdinEnd {
        /// The request.
        request_id: u16,
    },
    /// A piece of the Filter role's file data (never empty).
    Data {
        /// The request.
        request_id: u16,
        /// File bytes, zero-copy.
        data: Bytes,
    },
    /// The Filter role's file data is complete.
    DataEnd {
        /// The request.
        request_id: u16,
    },
    /// The web server aborted the request (§5.4). The application should
    /// answer with [`AppConn::end_request`] soon.
    AbortRequest {
        /// The request.
        request_id: u16,
    },
}

#[derive(Debug)]
struct AppRequest {
    keep_conn: bool,
    params: Option<ParamsDecoder>,
    stdin_open: bool,
    data_open: bool,
    stderr_written: bool,
}

/// The application's end of one FastCGI connection, Sans-IO.
///
/// Feed it the socket's bytes and poll [`AppEvent`]s; answer each request
/// with [`send_stdout`](Self::send_stdout) (and
/// [`send_stderr`](Self::send_stderr)), then [`end_request`](Self::end_request);
/// write out what [`poll_transmit`](Self::poll_transmit) returns. Management
/// records are answered without the caller: `GET_VALUES` from the
/// [`Limits`], unknown management types with `UNKNOWN_TYPE`, unknown roles
/// with `FCGI_UNKNOWN_ROLE`, requests past the limit with `FCGI_OVERLOADED`
/// (or `FCGI_CANT_MPX_CONN` when the limit is 1).
///
/// Records for request ids that are not active are ignored, as §3.3 says:
/// they are how an aborted or early-ended request's remaining input arrives.
///
/// ```
/// use fcgi_proto::{AppConn, AppEvent, Limits};
/// let mut app = AppConn::new(Limits::default());
/// // BEGIN_REQUEST id 1, Responder, keep_conn; then empty PARAMS and STDIN.
/// app.feed(&[1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0]);
/// app.feed(&[1, 4, 0, 1, 0, 0, 0, 0, 1, 5, 0, 1, 0, 0, 0, 0]);
/// assert!(matches!(app.poll_event(), Ok(Some(AppEvent::BeginRequest { request_id: 1, .. }))));
/// assert_eq!(app.poll_event(), Ok(Some(AppEvent::ParamsEnd { request_id: 1 })));
/// assert_eq!(app.poll_event(), Ok(Some(AppEvent::StdinEnd { request_id: 1 })));
/// app.send_stdout(1, b"Content-Type: text/plain\r\n\r\nhi").unwrap();
/// app.end_request(1, 0).unwrap();
/// let wire = app.poll_transmit().unwrap();
/// assert_eq!(&wire[wire.len() - 16..wire.len() - 8], &[1, 3, 0, 1, 0, 8, 0, 0]);
/// ```
#[derive(Debug)]
pub struct AppConn {
    limits: Limits,
    decoder: RecordDecoder,
    out: Transmit,
    requests: IdMap<AppRequest>,
    close_after: bool,
}

impl AppConn {
    /// A fresh connection.
    #[must_use]
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            decoder: RecordDecoder::new(),
            out: Transmit::default(),
            requests: IdMap::default(),
            close_after: false,
        }
    }

    /// The limits this connection enforces and advertises.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Requests begun and not yet ended by [`end_request`](Self::end_request).
    #[must_use]
    pub fn active_requests(&self) -> usize {
        self.requests.len()
    }

    /// Whether a request that arrived without `FCGI_KEEP_CONN` has been ended:
    /// the application should write out what is queued and close the
    /// connection (§5.1).
    #[must_use]
    pub fn wants_close(&self) -> bool {
        self.close_after
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

    /// Room left in the send buffer: how many bytes
    /// [`send_stdout`](Self::send_stdout) will take now. Grows after
    /// [`poll_transmit`](Self::poll_transmit).
    #[must_use]
    pub fn send_capacity(&self) -> usize {
        self.limits
            .send_buffer_bytes()
            .saturating_sub(self.out.len())
    }

    /// Takes the next segment of queued output, oldest first; call until it
    /// returns `None` and write every segment to the socket, in order. [`poll_event`](Self::poll_event) may queue
    /// answers to management records, and every `send`/`end` call queues
    /// records.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.poll()
    }

    /// Whether [`poll_transmit`](Self::poll_transmit) has bytes to give.
    #[must_use]
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }

    fn send_stream(
        &mut self,
        request_id: u16,
        record_type: RecordType,
        data: Payload<'_>,
    ) -> Result<usize, Error> {
        let cap = self.send_capacity();
        let req = self
            .requests
            .get_mut(&request_id)
            .ok_or(Error::RequestNotActive { request_id })?;
        let n = data.len().min(cap);
        if n > 0 && record_type == RecordType::Stderr {
            req.stderr_written = true;
        }
        data.queue_prefix(&mut self.out, record_type, request_id, n);
        Ok(n)
    }

    /// Queues response bytes on `STDOUT`, as many as
    /// [`send_capacity`](Self::send_capacity) allows, and returns how many it
    /// took (0 when full: transmit, then call again).
    ///
    /// # Errors
    /// [`Error::RequestNotActive`].
    pub fn send_stdout(&mut self, request_id: u16, data: &[u8]) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Stdout, Payload::Borrowed(data))
    }

    /// [`send_stdout`](Self::send_stdout) for a body already in `Bytes`: large
    /// chunks go to [`poll_transmit`](Self::poll_transmit) as views of `data`,
    /// not copies. Returns how many bytes it took; keep the rest
    /// (`data.slice(n..)`) for later.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`].
    pub fn send_stdout_bytes(&mut self, request_id: u16, data: Bytes) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Stdout, Payload::Shared(data))
    }

    /// Queues bytes on `STDERR`, like [`send_stdout`](Self::send_stdout).
    ///
    /// # Errors
    /// [`Error::RequestNotActive`].
    pub fn send_stderr(&mut self, request_id: u16, data: &[u8]) -> Result<usize, Error> {
        self.send_stream(request_id, RecordType::Stderr, Payload::Borrowed(data))
    }

    /// Ends the request: ends `STDOUT` (and `STDERR` if it was written), queues
    /// `END_REQUEST` with `app_status` and `FCGI_REQUEST_COMPLETE`, and frees
    /// the request id. Input still arriving for it is ignored from now on.
    ///
    /// # Errors
    /// [`Error::RequestNotActive`].
    pub fn end_request(&mut self, request_id: u16, app_status: u32) -> Result<(), Error> {
        let req = self
            .requests
            .remove(&request_id)
            .ok_or(Error::RequestNotActive { request_id })?;
        encode_stream_end(self.out.buf(), RecordType::Stdout, request_id);
        if req.stderr_written {
            encode_stream_end(self.out.buf(), RecordType::Stderr, request_id);
        }
        self.queue_end(request_id, app_status, ProtocolStatus::RequestComplete);
        if !req.keep_conn {
            self.close_after = true;
        }
        Ok(())
    }

    fn queue_end(&mut self, request_id: u16, app_status: u32, protocol_status: ProtocolStatus) {
        let body = EndRequestBody {
            app_status,
            protocol_status,
        }
        .encode();
        let _ = encode_record(self.out.buf(), RecordType::EndRequest, request_id, &body);
    }

    /// The next thing the web server asked, or `Ok(None)` when more bytes must
    /// be fed. Call again until `Ok(None)` after every [`feed`](Self::feed).
    /// May queue output (answers to management records, refusals): check
    /// [`wants_write`](Self::wants_write) afterwards. Returns `Ok(None)` while
    /// [`Limits::send_buffer_bytes`] or more of output is queued, so a peer
    /// that never reads cannot grow it: call again after
    /// [`poll_transmit`](Self::poll_transmit) drained it.
    ///
    /// # Errors
    /// Every peer fault of [`Error`]. After a fatal one ([`Error::is_fatal`])
    /// every call fails again; after any other, the offending record was
    /// dropped and polling may go on. A params error leaves the request active
    /// with its params stream closed: end it (e.g. with status 400 on stdout).
    pub fn poll_event(&mut self) -> Result<Option<AppEvent>, Error> {
        // Back-pressure on a peer that sends management records (each one
        // queues an answer) and never reads: stop until our output drains.
        while self.out.len() < self.limits.send_buffer_bytes() {
            let Some(rec) = self.decoder.decode()? else {
                break;
            };
            if let Some(ev) = self.handle_record(rec)? {
                return Ok(Some(ev));
            }
        }
        Ok(None)
    }

    fn handle_record(&mut self, rec: Record) -> Result<Option<AppEvent>, Error> {
        let Record {
            record_type,
            request_id,
            content,
        } = rec;
        if request_id == MANAGEMENT_REQUEST_ID {
            self.handle_management(record_type, content)?;
            return Ok(None);
        }
        if record_type == RecordType::BeginRequest {
            return self.handle_begin(request_id, &content);
        }
        let Some(req) = self.requests.get_mut(&request_id) else {
            // §3.3: while a request id is inactive the application ignores
            // records with it, except BEGIN_REQUEST.
            return Ok(None);
        };
        match record_type {
            RecordType::AbortRequest => Ok(Some(AppEvent::AbortRequest { request_id })),
            RecordType::Params => {
                let Some(dec) = req.params.as_mut() else {
                    return Err(Error::StreamAlreadyEnded {
                        record_type,
                        request_id,
                    });
                };
                if content.is_empty() {
                    let done = dec.finish();
                    req.params = None;
                    done?;
                    return Ok(Some(AppEvent::ParamsEnd { request_id }));
                }
                let mut params = Vec::new();
                if let Err(e) = dec.feed(content, &mut params) {
                    req.params = None;
                    return Err(e);
                }
                Ok((!params.is_empty()).then_some(AppEvent::Params { request_id, params }))
            }
            RecordType::Stdin | RecordType::Data => {
                let open = if record_type == RecordType::Stdin {
                    &mut req.stdin_open
                } else {
                    &mut req.data_open
                };
                if !*open {
                    return Err(Error::StreamAlreadyEnded {
                        record_type,
                        request_id,
                    });
                }
                let stdin = record_type == RecordType::Stdin;
                if content.is_empty() {
                    *open = false;
                    return Ok(Some(if stdin {
                        AppEvent::StdinEnd { request_id }
                    } else {
                        AppEvent::DataEnd { request_id }
                    }));
                }
                Ok(Some(if stdin {
                    AppEvent::Stdin {
                        request_id,
                        data: content,
                    }
                } else {
                    AppEvent::Data {
                        request_id,
                        data: content,
                    }
                }))
            }
            _ => Err(Error::UnexpectedRecord {
                record_type,
                request_id,
            }),
        }
    }

    fn handle_begin(&mut self, request_id: u16, content: &[u8]) -> Result<Option<AppEvent>, Error> {
        let body = BeginRequestBody::decode(content)?;
        if self.requests.contains_key(&request_id) {
            return Err(Error::DuplicateRequestId { request_id });
        }
        let max = self.limits.max_concurrent_requests();
        let refusal = if matches!(body.role, Role::Other(_)) {
            Some(ProtocolStatus::UnknownRole)
        } else if self.requests.len() >= max {
            Some(if max == 1 {
                ProtocolStatus::CantMpxConn
            } else {
                ProtocolStatus::Overloaded
            })
        } else {
            None
        };
        if let Some(status) = refusal {
            // §5.5: refuse with END_REQUEST and no streams.
            self.queue_end(request_id, 0, status);
            return Ok(None);
        }
        self.requests.insert(
            request_id,
            AppRequest {
                keep_conn: body.keep_conn,
                params: Some(ParamsDecoder::new(
                    self.limits.max_params_bytes(),
                    request_id,
                )),
                stdin_open: true,
                data_open: body.role == Role::Filter,
                stderr_written: false,
            },
        );
        Ok(Some(AppEvent::BeginRequest {
            request_id,
            role: body.role,
            keep_conn: body.keep_conn,
        }))
    }

    fn handle_management(&mut self, record_type: RecordType, content: Bytes) -> Result<(), Error> {
        if record_type != RecordType::GetValues {
            // §4.2: answer any management record we do not understand.
            let body = UnknownTypeBody {
                record_type: record_type.as_u8(),
            }
            .encode();
            let _ = encode_record(
                self.out.buf(),
                RecordType::UnknownType,
                MANAGEMENT_REQUEST_ID,
                &body,
            );
            return Ok(());
        }
        let asked = decode_pairs(
            content,
            self.limits.max_params_bytes(),
            MANAGEMENT_REQUEST_ID,
        )?;
        let max_reqs = self.limits.max_concurrent_requests();
        let mut answer = BytesMut::new();
        let mut answered = [false; 3];
        for p in asked {
            // §4.1: answer the names we know, once each, and skip the rest.
            let (slot, value) = match &p.name[..] {
                n if n == FCGI_MAX_CONNS.as_bytes() => (0, self.limits.max_conns().to_string()),
                n if n == FCGI_MAX_REQS.as_bytes() => (1, max_reqs.to_string()),
                n if n == FCGI_MPXS_CONNS.as_bytes() => {
                    (2, String::from(if max_reqs > 1 { "1" } else { "0" }))
                }
                _ => continue,
            };
            if std::mem::replace(&mut answered[slot], true) {
                continue;
            }
            // A known name is short: the pair cannot be too long.
            let _ = encode_pair(&mut answer, &p.name, value.as_bytes());
        }
        // At most three short pairs: fits one record.
        let _ = encode_record(
            self.out.buf(),
            RecordType::GetValuesResult,
            MANAGEMENT_REQUEST_ID,
            &answer,
        );
        Ok(())
    }
}
