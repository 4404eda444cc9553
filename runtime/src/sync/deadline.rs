//! Timeouts as absolute deadlines on the monotonic clock.

use std::time::{Duration, Instant};

/// The deadline `timeout` from now; `None` (no deadline) if it is too far to represent.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}
