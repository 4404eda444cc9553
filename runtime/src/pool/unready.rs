//! Workers that end before they are ready: the pause before replacing them, and when the pool
//! gives up.
//!
//! A worker is ready once its initializer ran (at once, without one). One that ends before is
//! replaced, after a pause that doubles with each such end in a row (10 ms, 20 ms, … at most
//! 1 s), so a pool whose workers cannot start does not spin. A worker becoming ready ends the
//! row. After `processes + 4` in a row the pool gives up and fails what is submitted: with
//! [`PoolError::InitializerFailed`] if an initializer is set (the last one's panic message, or
//! how the workers ended), else [`PoolError::WorkersDiedBeforeReady`]. Workers killed from
//! outside before they were ready (fewer than that in a row) are just replaced.

use std::time::{Duration, Instant};

use crate::pool::PoolError;
use crate::process::ExitStatus;

/// How many workers more than `processes` may end in a row before they are ready (before or
/// while their initializer runs) before the pool gives up on starting workers: every slot's
/// worker may fail once, and then this many replacements.
const MAX_UNREADY_RESTARTS: u32 = 4;
/// The pause before replacing the first worker that ended before it was ready; it doubles with
/// each further one in a row, up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Workers that ended before they were ready, since the last one that became ready.
#[derive(Debug, Default)]
pub(super) struct Unready {
    pub(super) in_a_row: u32,
    /// No worker is started before this (the backoff).
    pub(super) respawn_at: Option<Instant>,
}

#[derive(Debug)]
pub(super) enum UnreadyEnd {
    /// Its initializer failed with this message.
    InitFailed(String),
    /// It ended (killed, crashed, exited) without a word.
    Died(Option<ExitStatus>),
}

impl Unready {
    /// Counts a worker of `slots` that ended before it was ready: sets the pause before its
    /// replacement, or returns the error that breaks the pool after too many in a row.
    pub(super) fn ended(
        &mut self,
        end: UnreadyEnd,
        slots: usize,
        has_init: bool,
    ) -> Option<PoolError> {
        self.in_a_row = self.in_a_row.saturating_add(1);
        let limit = u32::try_from(slots)
            .unwrap_or(u32::MAX)
            .saturating_add(MAX_UNREADY_RESTARTS);
        if self.in_a_row < limit {
            let backoff = FIRST_BACKOFF
                .saturating_mul(1 << (self.in_a_row - 1).min(16))
                .min(MAX_BACKOFF);
            self.respawn_at = Instant::now().checked_add(backoff);
            return None;
        }
        let in_a_row = self.in_a_row;
        Some(match (end, has_init) {
            (UnreadyEnd::InitFailed(message), _) => PoolError::InitializerFailed { message },
            (UnreadyEnd::Died(last), true) => PoolError::InitializerFailed {
                message: format!(
                    "{in_a_row} workers in a row ended before their initializer finished (the \
                     last: {})",
                    last.map_or_else(|| "unknown status".to_owned(), |s| s.to_string()),
                ),
            },
            (UnreadyEnd::Died(last), false) => PoolError::WorkersDiedBeforeReady { in_a_row, last },
        })
    }
}
