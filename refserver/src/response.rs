//! The one response path: every route kind writes its response through a
//! [`ResponseSink`], which adds the `Server` and `Date` fields, applies the one rule for
//! bodiless responses ([`http_proto::response_has_body`]: HEAD, 1xx, 204, 304), counts the
//! body bytes for the access log, and turns an http-proto refusal into an error the
//! session task answers (a logged 500 when nothing went out yet).

use crate::exchange::ExchangeError;
use crate::traffic::Traffic;
use crate::transport::Transport;
use http_proto::{DateCache, Response};
use session_core::Session;
use smallvec::SmallVec;
use std::cell::RefCell;
use std::fs::File;
use std::io;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

const SERVER_FIELD: (&[u8], &[u8]) = (b"server", b"refserver");

/// What one request's response has done so far; lives as long as its exchange.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseState {
    head_only: bool,
    /// The status sent, 0 before the head.
    status: u16,
    /// Whether body bytes go out (false for HEAD and bodiless statuses).
    has_body: bool,
    /// Body bytes handed to the session so far.
    body_bytes: u64,
    ended: bool,
}

impl ResponseState {
    /// Nothing sent yet for a request; `head_only` for HEAD.
    pub(crate) fn new(head_only: bool) -> Self {
        Self {
            head_only,
            status: 0,
            has_body: false,
            body_bytes: 0,
            ended: false,
        }
    }

    /// The status sent, once the head went out.
    pub(crate) fn status(&self) -> Option<u16> {
        (self.status != 0).then_some(self.status)
    }

    /// Body bytes sent (0 for a bodiless response, whatever the producer wrote).
    pub(crate) fn body_bytes(&self) -> u64 {
        self.body_bytes
    }
}

/// Where an exchange writes its response: the session's output, with room for
/// back-pressure. Built by the session task for each poll.
pub(crate) struct ResponseSink<'a> {
    session: &'a mut Session,
    state: &'a mut ResponseState,
    now: Instant,
    /// The `Strict-Transport-Security` value of a TLS listener that sets one.
    hsts: Option<&'a [u8]>,
    /// The connection and its byte counters, for bodies sent straight from a file.
    direct: Option<(&'a mut dyn Transport, &'a Traffic)>,
}

impl<'a> ResponseSink<'a> {
    pub(crate) fn new(
        session: &'a mut Session,
        state: &'a mut ResponseState,
        now: Instant,
    ) -> Self {
        Self {
            session,
            state,
            now,
            hsts: None,
            direct: None,
        }
    }

    /// Lets [`send_file`](Self::send_file) write to the connection itself.
    pub(crate) fn with_transport(
        mut self,
        io: &'a mut dyn Transport,
        traffic: &'a Traffic,
    ) -> Self {
        self.direct = Some((io, traffic));
        self
    }

    /// Adds `Strict-Transport-Security: value` to the head (RFC 6797 §7.2: only over
    /// TLS, which is where the session task passes one).
    pub(crate) fn with_hsts(mut self, value: Option<&'a [u8]>) -> Self {
        self.hsts = value;
        self
    }

    /// Whether the output can take more now. A producer stops writing when this turns
    /// false and returns `Pending`; it is polled again once the client has read.
    pub(crate) fn has_room(&self) -> bool {
        self.room() > 0
    }

    /// Bytes the output can take before it is full.
    pub(crate) fn room(&self) -> usize {
        self.session.send_capacity()
    }

    /// Whether the response has ended.
    pub(crate) fn is_ended(&self) -> bool {
        self.state.ended
    }

    /// Whether the head went out.
    pub(crate) fn is_started(&self) -> bool {
        self.state.status != 0
    }

    /// Whether body bytes are sent at all: false for HEAD and bodiless statuses, so a
    /// producer may skip making them (what it writes anyway is dropped).
    pub(crate) fn wants_body(&self) -> bool {
        self.state.has_body
    }

    /// Sends the response head. `Server` and `Date` are added here; the framing fields
    /// come from `response.body_len` (`None`: streamed, chunked where HTTP/1.1 allows).
    pub(crate) fn head(&mut self, response: &Response<'_>) -> Result<(), ExchangeError> {
        let mut fields: SmallVec<[(&[u8], &[u8]); 16]> = SmallVec::new();
        fields.push(SERVER_FIELD);
        fields.extend_from_slice(response.headers);
        if let Some(hsts) = self.hsts {
            fields.push((b"strict-transport-security", hsts));
        }
        let sent = with_date(self.now, |date| {
            let mut full = Response::new(response.status).headers(&fields).date(date);
            full.reason = response.reason;
            full.body_len = response.body_len;
            self.session.send_response(&full, self.now)
        });
        sent.map_err(|e| ExchangeError::new(500, format!("response head refused: {e}")))?;
        self.state.status = response.status;
        self.state.has_body =
            http_proto::response_has_body(self.state.head_only, false, response.status);
        Ok(())
    }

    /// Starts a response whose bytes, head included, the exchange writes itself with
    /// [`data`](Self::data) (a CGI NPH script's output, passed through as it is); the
    /// connection closes after it. `status` is what the head says, for the access log.
    pub(crate) fn raw(&mut self, status: u16) -> Result<(), ExchangeError> {
        self.session
            .send_raw_response(self.now)
            .map_err(|e| ExchangeError::new(500, format!("raw response refused: {e}")))?;
        self.state.status = status;
        self.state.has_body = true;
        Ok(())
    }

    /// Sends body bytes (dropped for a bodiless response).
    pub(crate) fn data(&mut self, data: &[u8]) -> Result<(), ExchangeError> {
        if !self.state.has_body || data.is_empty() {
            return Ok(());
        }
        self.session
            .send_data(data, self.now)
            .map_err(|e| ExchangeError::new(500, format!("response body refused: {e}")))?;
        self.state.body_bytes += data.len() as u64;
        Ok(())
    }

    /// Sends up to `len` body bytes of `file` from `offset` straight from the file to the
    /// socket (`sendfile`: no copy through user space), as nginx's `sendfile on` does. Only
    /// where that can be: a plain (not TLS) connection and a Content-Length body; `None`
    /// otherwise, and the producer copies the bytes with [`data`](Self::data) instead.
    /// `Ready(Ok(n))`: `n` bytes went out (at most `len`); `Pending`: the head is still
    /// being written, or the socket is full (the task is woken when it has room).
    pub(crate) fn send_file(
        &mut self,
        cx: &mut Context<'_>,
        file: &File,
        offset: u64,
        len: usize,
    ) -> Option<Poll<Result<usize, ExchangeError>>> {
        let (io, traffic) = self.direct.as_mut()?;
        if !self.state.has_body || !self.session.can_send_data_directly() {
            return None;
        }
        // The head (and anything before this body) goes first.
        if !self.session.pending_output().is_empty() {
            return Some(Poll::Pending);
        }
        let sent = loop {
            match io.try_send_file(file, offset, len)? {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match io.poll_write_ready(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => break Err(e),
                    Poll::Pending => {
                        self.session.handle_direct_send_blocked();
                        return Some(Poll::Pending);
                    }
                },
                sent => break sent,
            }
        };
        Some(Poll::Ready(match sent {
            Ok(0) if len > 0 => Err(ExchangeError::new(
                500,
                "the file shrank mid-response; its promised length cannot be sent",
            )),
            Ok(n) if self.session.handle_data_sent_directly(n, self.now) => {
                traffic.wrote(n);
                self.state.body_bytes += n as u64;
                Ok(n)
            }
            Ok(n) => Err(ExchangeError::new(
                500,
                format!("{n} bytes sent from a file do not fit the response"),
            )),
            Err(e) => Err(ExchangeError::new(500, format!("sending a file: {e}"))),
        }))
    }

    /// Ends the response, with trailer fields where the framing carries them (chunked).
    pub(crate) fn end(&mut self, trailers: &[(&[u8], &[u8])]) -> Result<(), ExchangeError> {
        self.session
            .send_end_with_trailers(trailers, self.now)
            .map_err(|e| ExchangeError::new(500, format!("response end refused: {e}")))?;
        self.state.ended = true;
        Ok(())
    }

    /// A whole response with an in-memory body.
    pub(crate) fn whole(
        &mut self,
        status: u16,
        fields: &[(&[u8], &[u8])],
        body: &[u8],
    ) -> Result<(), ExchangeError> {
        self.head(
            &Response::new(status)
                .headers(fields)
                .body_len(body.len() as u64),
        )?;
        self.data(body)?;
        self.end(&[])
    }

    /// A short plain-text error page: `404 Not Found`.
    pub(crate) fn error_page(&mut self, status: u16) -> Result<(), ExchangeError> {
        let text = error_text(status);
        self.whole(
            status,
            &[(b"content-type", b"text/plain; charset=utf-8")],
            text.as_bytes(),
        )
    }
}

/// `"404 Not Found\n"`.
pub(crate) fn error_text(status: u16) -> String {
    format!("{status} {}\n", http_proto::reason_phrase(status))
}

/// This thread's `Date` value and the instant its second ends, so that a response reads
/// the wall clock only when the second may have changed, not every time.
struct ThreadDate {
    cache: DateCache,
    next_second: Instant,
}

impl ThreadDate {
    fn new(now: Instant) -> Self {
        let mut date = Self {
            cache: DateCache::new(SystemTime::UNIX_EPOCH),
            next_second: now,
        };
        date.update(now);
        date
    }

    fn update(&mut self, now: Instant) {
        if now < self.next_second {
            return;
        }
        let wall = SystemTime::now();
        self.cache.update(wall);
        let into_second = wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(Duration::ZERO, |d| {
                Duration::from_nanos(d.subsec_nanos().into())
            });
        self.next_second = now + (Duration::from_secs(1) - into_second);
    }
}

thread_local! {
    static DATE: RefCell<ThreadDate> = RefCell::new(ThreadDate::new(Instant::now()));
}

/// Runs `f` with this thread's `Date` value at `now`, re-formatted when the second changes.
fn with_date<R>(now: Instant, f: impl FnOnce(&DateCache) -> R) -> R {
    DATE.with(|cell| {
        let mut date = cell.borrow_mut();
        date.update(now);
        f(&date.cache)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_read_again_only_once_its_second_ends() {
        let start = Instant::now();
        let mut date = ThreadDate::new(start);
        assert!(date.next_second > start);
        assert!(date.next_second <= start + Duration::from_secs(1));
        let value = date.cache.clone();
        date.update(date.next_second - Duration::from_nanos(1));
        assert!(date.cache == value, "no re-read within the second");
        let later = date.next_second + Duration::from_secs(2);
        date.update(later);
        assert!(date.next_second > later);
        let wall = httpdate::parse_http_date(std::str::from_utf8(date.cache.as_bytes()).unwrap());
        assert!(wall.is_ok(), "{:?}", date.cache);
    }
}
