//! A budget for error-log lines a client or a failing peer can cause (a scanner sending
//! garbage, clients leaving mid-response, every request while the visitor store is down):
//! at most [`LINES_PER_SECOND`] a second per budget, then one line saying how many were
//! left out.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::{SystemTime, UNIX_EPOCH};

/// Lines allowed per second.
pub(crate) const LINES_PER_SECOND: usize = 20;

/// A per-second line budget.
#[derive(Debug)]
pub(crate) struct LogBudget {
    /// What the lines are about, for the line counting those left out.
    about: &'static str,
    second: AtomicU64,
    used: AtomicUsize,
    dropped: AtomicUsize,
}

impl LogBudget {
    /// A budget for lines `about` something (`"closed connections"`).
    pub(crate) const fn new(about: &'static str) -> Self {
        Self {
            about,
            second: AtomicU64::new(0),
            used: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
        }
    }

    /// Whether a line may be written now; in a new second, first logs how many the last
    /// one left out.
    pub(crate) fn allow(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.second.swap(now, Relaxed) != now {
            self.used.store(0, Relaxed);
            let dropped = self.dropped.swap(0, Relaxed);
            if dropped > 0 {
                tracing::warn!("{dropped} more lines about {} were not logged", self.about);
            }
        }
        if self.used.fetch_add(1, Relaxed) < LINES_PER_SECOND {
            true
        } else {
            self.dropped.fetch_add(1, Relaxed);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_at_the_budget() {
        let budget = LogBudget::new("tests");
        let allowed = (0..1000).filter(|_| budget.allow()).count();
        // A second boundary inside the loop may grant one more budget.
        assert!(
            (LINES_PER_SECOND..=2 * LINES_PER_SECOND).contains(&allowed),
            "{allowed}"
        );
    }
}
