//! Graceful shutdown: SIGTERM or SIGINT stops the accept loops, drains sessions until none
//! is left or the deadline passes, and the process exits 0.
//!
//! The drain itself is session-core's rule ([`session_core::Registry::start_drain`]): idle
//! sessions close at once, a request in flight finishes with `Connection: close`. This
//! module only carries the signal to every accept loop and session task (a `watch`
//! channel works across all worker runtimes) and watches the clock.
//!
//! SIGHUP asks for a configuration reload (carried out by the driver).

use session_core::Registry;
use std::time::{Duration, Instant};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

/// The shutdown signal as seen by accept loops and sessions.
#[derive(Debug, Clone)]
pub(crate) struct ShutdownSignal {
    rx: watch::Receiver<Stage>,
}

/// The side that raises the signal.
#[derive(Debug)]
pub(crate) struct ShutdownTrigger {
    tx: watch::Sender<Stage>,
}

/// Where the shutdown stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Running,
    Draining,
    /// The drain is over: workers stop and their runtimes drop what is left.
    Over,
}

/// A connected trigger and signal.
pub(crate) fn channel() -> (ShutdownTrigger, ShutdownSignal) {
    let (tx, rx) = watch::channel(Stage::Running);
    (ShutdownTrigger { tx }, ShutdownSignal { rx })
}

impl ShutdownSignal {
    /// Resolves once shutdown has begun (at once if it already has).
    pub(crate) async fn begun(&mut self) {
        // An error means the trigger is gone: treat it as shutdown too.
        let _ = self.rx.wait_for(|&stage| stage >= Stage::Draining).await;
    }

    /// Resolves once the drain is over.
    pub(crate) async fn over(&mut self) {
        let _ = self.rx.wait_for(|&stage| stage == Stage::Over).await;
    }
}

impl ShutdownTrigger {
    /// Starts the drain: accept loops stop, sessions are told.
    pub(crate) fn trigger(&self, registry: &Registry) {
        registry.start_drain();
        let _ = self.tx.send(Stage::Draining);
    }

    /// Ends the drain: the workers stop (an embedded server's threads end with it).
    pub(crate) fn finish(&self) {
        let _ = self.tx.send(Stage::Over);
    }
}

/// The signals the server reacts to, registered before it announces its address so that
/// a SIGTERM sent right after `listening on` is never the default (killing) action.
#[derive(Debug)]
pub(crate) struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Registers the handlers; call inside a runtime context.
    pub(crate) fn register() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for the next signal that asks for something.
    pub(crate) async fn wait(&mut self) -> SignalKindSeen {
        tokio::select! {
            _ = self.term.recv() => SignalKindSeen::Stop("SIGTERM"),
            _ = self.int.recv() => SignalKindSeen::Stop("SIGINT"),
            _ = self.hup.recv() => SignalKindSeen::Reload,
        }
    }
}

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalKindSeen {
    /// SIGTERM or SIGINT: drain and exit.
    Stop(&'static str),
    /// SIGHUP: reload the configuration.
    Reload,
}

/// After the trigger: waits until `busy()` is 0 or `deadline` passes, checking every
/// 20 ms, and returns what `busy()` said last (sessions cut off by the exit).
pub(crate) async fn drain(deadline: Duration, busy: impl Fn() -> usize) -> usize {
    let until = Instant::now() + deadline;
    loop {
        let busy = busy();
        if busy == 0 || Instant::now() >= until {
            return busy;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use session_core::{Admission, RegistryConfig};

    #[tokio::test]
    async fn drain_waits_for_sessions_and_respects_the_deadline() {
        let registry = Registry::new(RegistryConfig::default());
        let (trigger, mut signal) = channel();
        let Admission::Accepted(ticket) = registry.admit() else {
            panic!("admitted")
        };
        trigger.trigger(&registry);
        signal.begun().await;
        assert!(matches!(registry.admit(), Admission::Rejected(_)));
        assert_eq!(
            drain(Duration::from_millis(50), || registry.active()).await,
            1
        );
        drop(ticket);
        assert_eq!(drain(Duration::from_secs(5), || registry.active()).await, 0);
    }
}
