//! Sans-IO FastCGI 1.0, both ends of the socket.
//!
//! FastCGI is how web servers talk to long-running application processes
//! (php-fpm, fcgiwrap, Python and Go apps). This crate holds the whole
//! protocol and no I/O: it takes bytes in, hands events out, takes calls in
//! and hands bytes out. A driver (blocking threads, tokio, a test) moves the
//! bytes.
//!
//! - [`ServerConn`]: the web server's end (what nginx does, and what
//!   `refserver` uses towards php-fpm): begin requests, stream `PARAMS` and
//!   `STDIN` with back-pressure, receive `STDOUT`/`STDERR` as
//!   [`ServerEvent`]s, abort, ask `GET_VALUES`, multiplex many request ids on
//!   one connection when the application allows it.
//! - [`AppConn`]: the application's end, to write FastCGI apps in Rust:
//!   Responder, Authorizer and Filter requests arrive as [`AppEvent`]s;
//!   management records are answered on their own.
//! - [`record`] and [`params`]: the codecs underneath (records padded to 8,
//!   any padding read, split anywhere; name-value pairs in both length forms,
//!   decoded incrementally under a size limit).
//!
//! Every protocol violation is an [`Error`] variant; [`Error::is_fatal`] says
//! whether the connection is still in sync. Memory a peer can make a
//! connection hold is bounded by the [`Limits`].
//!
//! # Example: both sides through in-memory buffers
//!
//! ```
//! use fcgi_proto::{AppConn, AppEvent, Limits, ProtocolStatus, Role, ServerConn, ServerEvent};
//!
//! let mut server = ServerConn::new(Limits::default());
//! let mut app = AppConn::new(Limits::default());
//!
//! // The web server starts a request.
//! let id = server.begin_request(Role::Responder, true)?;
//! server.send_params(id, [("REQUEST_METHOD", "POST"), ("CONTENT_LENGTH", "5")])?;
//! server.end_params(id)?;
//! assert_eq!(server.send_stdin(id, b"hello")?, 5);
//! server.end_stdin(id)?;
//! while let Some(bytes) = server.poll_transmit() {
//!     app.feed(&bytes); // a socket write and read, in a real driver
//! }
//!
//! // The application reads it and answers.
//! let mut body = Vec::new();
//! while let Some(ev) = app.poll_event()? {
//!     match ev {
//!         AppEvent::Stdin { data, .. } => body.extend_from_slice(&data),
//!         AppEvent::StdinEnd { request_id } => {
//!             app.send_stdout(request_id, b"Content-Type: text/plain\r\n\r\n")?;
//!             app.send_stdout(request_id, &body)?;
//!             app.end_request(request_id, 0)?;
//!         }
//!         _ => {}
//!     }
//! }
//! while let Some(bytes) = app.poll_transmit() {
//!     server.feed(&bytes);
//! }
//!
//! // The web server receives the response.
//! let mut response = Vec::new();
//! while let Some(ev) = server.poll_event()? {
//!     match ev {
//!         ServerEvent::Stdout { data, .. } => response.extend_from_slice(&data),
//!         ServerEvent::EndRequest { app_status, protocol_status, .. } => {
//!             assert_eq!((app_status, protocol_status), (0, ProtocolStatus::RequestComplete));
//!         }
//!         _ => {}
//!     }
//! }
//! assert_eq!(response, b"Content-Type: text/plain\r\n\r\nhello");
//! # Ok::<(), fcgi_proto::Error>(())
//! ```
//!
//! Section references (`§3.3`) are to the FastCGI Specification 1.0 (Open
//! Market, 1996).
#![forbid(unsafe_code)]

mod app_side;
mod error;
mod id_map;
mod limits;
pub mod params;
pub mod record;
mod server_side;
mod transmit;

pub use app_side::{AppConn, AppEvent};
pub use error::Error;
pub use limits::Limits;
pub use params::Param;
pub use record::{ProtocolStatus, RecordType, Role};
pub use server_side::{
    AppValues, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, ServerConn, ServerEvent,
};
