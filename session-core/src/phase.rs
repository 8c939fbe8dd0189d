//! The phases of a session's life.

/// Where a client session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The transport's handshake (TLS) is under way: no HTTP yet.
    Handshaking,
    /// Waiting for, or reading, a request head.
    ReadingHead,
    /// Reading a request body.
    ReadingBody,
    /// A request was dispatched; waiting for the handler's response.
    Handling,
    /// Writing a response.
    Writing,
    /// Keep-alive idle between requests: holds no buffers.
    Idle,
    /// Finishing in-flight work before closing (shutdown, lifetime, max requests).
    Draining,
    /// Closed.
    Closed,
}

impl Phase {
    pub(crate) const COUNT: usize = 8;

    /// Every phase, in order.
    pub const ALL: [Phase; Self::COUNT] = [
        Self::Handshaking,
        Self::ReadingHead,
        Self::ReadingBody,
        Self::Handling,
        Self::Writing,
        Self::Idle,
        Self::Draining,
        Self::Closed,
    ];

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// Lower-case name, for status pages and logs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Handshaking => "handshaking",
            Self::ReadingHead => "reading_head",
            Self::ReadingBody => "reading_body",
            Self::Handling => "handling",
            Self::Writing => "writing",
            Self::Idle => "idle",
            Self::Draining => "draining",
            Self::Closed => "closed",
        }
    }
}
