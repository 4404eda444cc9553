//! Timeouts as absolute deadlines on the monotonic clock.

use std::time::{Duration, Instant};

/// The deadline `timeout` from now; `None` (no deadline) if it is too far to represent.
pub(crate) fn after(timeout: Duration) -> Option<Instant> {
    Instant::now().checked_add(timeout)
}

/// A deadline that has passed, for the calls that must not wait (`try_get`, `try_put`): the
/// first instant the calling thread asked for. Unlike `Some(Instant::now())` it reads no clock
/// after the first call, so a call that finds what it needs at once reads none. A thread-local
/// (not a process-wide `OnceLock`, which a fork could catch mid-initialization).
pub(crate) fn passed() -> Instant {
    thread_local! {
        static FIRST: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
    }
    FIRST.with(|first| {
        first.get().unwrap_or_else(|| {
            let now = Instant::now();
            first.set(Some(now));
            now
        })
    })
}
