//! Sans-IO HTTP/1.0 and HTTP/1.1 (RFC 9110, RFC 9112): complete like h11, fast like httparse,
//! strict where the RFC says MUST.
//!
//! The crate never touches a socket or a clock. Bytes go in, events come out; events go in,
//! bytes come out into your `BytesMut`.
//!
//! - Heads: [`RequestHead`] / [`ResponseHead`], parsed incrementally by [`RequestParser`] /
//!   [`ResponseParser`] (a partial head is resumed, never re-scanned), zero-copy: every slice
//!   is a view of the received [`bytes::Bytes`].
//! - Bodies: [`BodyDecoder`] (Content-Length, chunked with extensions and trailers,
//!   close-delimited) hands out data as it arrives; [`BodyEncoder`] writes each framing.
//! - Connections: [`ServerConn`] and [`ClientConn`] own keep-alive, pipelining,
//!   `Expect: 100-continue`, bodiless responses and the Upgrade/CONNECT hand-off.
//! - Errors: one [`Error`] with an [`ErrorKind`] and the status it answers with.
//!
//! # Decisions the RFC leaves to us
//!
//! - **Transfer-Encoding with Content-Length** in a request: rejected with 400 (RFC 9112 §6.3 ¶3
//!   allows rejecting or following TE; rejecting shuts the request-smuggling door). In a
//!   response (client role): Transfer-Encoding wins and the connection closes afterwards.
//! - **Bare LF** line endings: rejected by default; [`Limits::allow_bare_lf`] accepts them.
//! - **obs-fold**: rejected by default; [`Limits::fold_obs_fold`] replaces it with spaces.
//! - **Request-target bytes**: visible ASCII only (no raw UTF-8, no controls, no spaces).
//! - **Absolute-form targets** (RFC 9112 §3.2.2) must be `http` or `https` (any case) with a
//!   non-empty host and no userinfo: another scheme names nothing an origin server serves,
//!   and RFC 9110 §4.2.4 asks recipients to treat userinfo as an error. Both answer 400
//!   ([`ErrorKind::InvalidTarget`]). The target's authority replaces `Host`
//!   ([`RequestHead::authority`]).
//! - **An encoded slash** (`%2F`) in a path is the caller's choice, made explicit per use:
//!   decoded for routing ([`semantics::normalize_path`]), refused for CGI scripts
//!   ([`semantics::normalize_path_with`] with [`semantics::EncodedSlash::Refuse`]).
//! - **Response before the request body was read**: the connection closes after the response.
//! - **CONNECT with a body** (Content-Length or Transfer-Encoding): rejected with 400
//!   ([`ErrorKind::BodyNotAllowed`]): RFC 9110 §9.3.6 says CONNECT has no content, and peers
//!   disagree on whether such bytes are a body or the tunnel.
//! - **Empty lines before a start-line** are skipped (up to [`Limits::max_leading_empty_lines`])
//!   before status-lines as well as request-lines: a stray CRLF after a body is common.
//!
//! # Example: a server connection
//!
//! ```
//! use bytes::BytesMut;
//! use http_proto::{Limits, Response, ServerConn, ServerEvent};
//!
//! let mut conn = ServerConn::new(Limits::default());
//! conn.feed(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
//! let mut body = Vec::new();
//! loop {
//!     match conn.poll_event()? {
//!         ServerEvent::Request(req) => assert_eq!(req.target(), b"/echo"),
//!         ServerEvent::Data(d) => body.extend_from_slice(&d),
//!         ServerEvent::End(_) => break,
//!         other => panic!("unexpected {other:?}"),
//!     }
//! }
//! let mut out = BytesMut::new();
//! conn.send_response(&Response::new(200).streamed(), &mut out)?;
//! conn.send_data(&body, &mut out)?;
//! conn.send_end(&[], &mut out)?;
//! assert_eq!(&out[..], b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
//! # Ok::<(), http_proto::Error>(())
//! ```
#![forbid(unsafe_code)]

mod body;
mod conn;
mod error;
mod framing;
mod head;
#[cfg(feature = "http")]
mod http_compat;
mod limits;
pub mod semantics;
mod write;

pub use body::{BodyDecoder, BodyEncoder, BodyEvent, ChunkedDecoder};
pub use conn::{ClientConn, ClientEvent, ServerConn, ServerEvent, SideState};
pub use error::{Error, ErrorKind};
pub use framing::{Framing, response_has_body};
pub use head::{
    Headers, Method, RequestHead, RequestParser, ResponseHead, ResponseParser, TargetForm, Version,
};
pub use head::{is_connection_field, is_field_name, is_field_value};
pub use limits::Limits;
pub use write::{DateCache, Request, Response, reason_phrase};
