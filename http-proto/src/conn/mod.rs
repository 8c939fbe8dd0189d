//! Connection state machines, one per role, in the model of h11: bytes in, events out,
//! events in, bytes out, and a state that says what may happen next.

mod client;
mod server;

pub use client::{ClientConn, ClientEvent};
pub use server::{ServerConn, ServerEvent};

/// Where one side of a connection is in the current request/response cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SideState {
    /// Waiting for this side to start a message.
    Idle,
    /// A head was sent or received; the body is in progress.
    Body,
    /// This side's message for the cycle is complete.
    Done,
    /// The connection was handed to another protocol (101 or CONNECT).
    Upgraded,
    /// No more messages: this side closed, or an error ended the connection.
    Closed,
}
