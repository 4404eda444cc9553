//! Timeouts as absolute deadlines on the monotonic clock.

use std::time::{Duration, Instant};

/// The deadline `timeout` from now; `None` (no deadline) if it is too far to represent.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// A deadline that has passed, for the calls that must not wait (`try_get`, `put_nowait`):
/// the first instant this process asked for. Unlike `Some(Instant::now())` it reads no clock,
/// so a call that finds what it needs at once costs no clock read at all.
pub(crate) fn passed() -> Instant {
    static FIRST: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *FIRST.get_or_init(Instant::now)
}
