//! Sans-IO session lifecycle for an HTTP/1 server: what makes a server survive ten thousand
//! clients, half of them slow or hostile.
//!
//! A [`Session`] wraps an [`http_proto::ServerConn`] and owns the session's phase
//! ([`Phase`]), every deadline (first byte, whole head, body rate, handler, keep-alive idle,
//! write stall, lifetime), request count, pipelining depth and output back-pressure, and
//! graceful drain, all set by one [`Limits`] value. Time comes in as an argument
//! (`handle_timeout(now)`), the next deadline goes out (`poll_timeout()`); the driver
//! carries out [`Event`]s. An idle keep-alive session holds no buffers.
//!
//! A [`Registry`] counts sessions by phase, admits or rejects new ones, and carries the
//! drain signal. [`visitor`] is the application-layer session: ids, cookies and a store.
//!
//! The driver loop, in full:
//!
//! ```text
//! loop {
//!     match session.poll_event(now) {
//!         Event::Request(head) => dispatch; the handler decides about the body:
//!                                 read_body(now) (sends 100 Continue if awaited),
//!                                 refuse_body(now), or just answer;
//!                                 then send_response / send_data / send_end,
//!         Event::BodyData(bytes) => hand to the handler; hold_body(now) while it is full,
//!                                   read_body(now) once it has room again,
//!         Event::BodyEnd => tell the handler,
//!         Event::Close => break,
//!         Event::Idle => wait for: writable (if pending_output), readable (if wants_read),
//!                        poll_timeout() (then handle_timeout(now)); shut down the
//!                        sending side once is_lingering(),
//!     }
//! }
//! ```
//!
//! Body flow control is the handler's: a body nobody asked for is never read (the client
//! waiting for `100 Continue` keeps waiting; the kernel's buffers push back on the rest),
//! a held body stops the socket reads, and a refused one is read and dropped after the
//! response so the connection persists, or, when the client still waits for `100
//! Continue`, the connection closes after a lingering read (RFC 9112 §9.6).
#![forbid(unsafe_code)]

mod buffers;
mod limits;
mod phase;
mod registry;
mod session;
pub mod visitor;

pub use limits::Limits;
pub use phase::Phase;
pub use registry::{
    Admission, OVERLOAD_RESPONSE, OverloadPolicy, Registry, RegistryConfig, Snapshot, Ticket,
};
pub use session::{CloseReason, Event, OwnResponse, Session};
