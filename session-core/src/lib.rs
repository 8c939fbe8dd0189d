//! Sans-IO session lifecycle.
//!
//! Placeholder: only the phase vocabulary exists yet (issue 7 builds the rest).
#![forbid(unsafe_code)]

pub mod visitor;

/// Where a client session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for or reading a request head.
    ReadingHead,
    /// Reading a request body.
    ReadingBody,
    /// Waiting for the handler's response.
    Handling,
    /// Writing a response.
    Writing,
    /// Keep-alive idle between requests.
    Idle,
    /// Finishing in-flight work before closing.
    Draining,
    /// Closed.
    Closed,
}

impl Phase {
    /// Whether the session may still accept a new request in this phase.
    #[must_use]
    pub fn accepts_requests(self) -> bool {
        matches!(self, Self::ReadingHead | Self::Idle)
    }
}

#[cfg(test)]
mod tests {
    use super::Phase;

    #[test]
    fn only_reading_and_idle_accept_requests() {
        assert!(Phase::Idle.accepts_requests());
        assert!(Phase::ReadingHead.accepts_requests());
        assert!(!Phase::Draining.accepts_requests());
        assert!(!Phase::Closed.accepts_requests());
    }
}
