//! Structured events of the synchronization primitives, for the `tracing` feature (off by
//! default: without it each function here is empty and compiles away).
//!
//! The events are listed in `process`'s module docs ("Events").

/// A lock word was taken over from a dead owner: `pid` died holding it, `by` took it (both
/// pids). Every lock word reports here: `Lock`, `RLock`, the locks of `Value`, `Array` and
/// `Barrier`, and a queue's producer and consumer locks.
#[inline]
pub(crate) fn owner_died(pid: i32, by: i32) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "mproc::sync", pid, by, "lock owner died");
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, by);
}
