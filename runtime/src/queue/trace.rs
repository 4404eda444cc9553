//! Structured events of the queues, for the `tracing` feature (off by default: without it
//! each function here is empty and compiles away).
//!
//! The events are listed in `process`'s module docs ("Events").

/// A queue was closed (the first `close` of any handle); `items` were left in it.
#[inline]
pub(crate) fn closed(items: u64) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "mproc::queue", items, "queue closed");
    #[cfg(not(feature = "tracing"))]
    let _ = items;
}

/// A `side` (`"producer"` or `"consumer"`) of a queue was repaired after process `pid` died
/// holding its lock; `finished` says whether it died half-way through a publication (a
/// producer) or a commit (a consumer), which the repair completed.
#[inline]
pub(crate) fn repaired(side: &'static str, pid: i32, finished: bool) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "mproc::queue", side, pid, finished, "queue repaired");
    #[cfg(not(feature = "tracing"))]
    let _ = (side, pid, finished);
}

/// `join` on a joinable queue counted as done the `items` that process `pid` took and died
/// without marking done.
#[inline]
pub(crate) fn consumer_settled(pid: i32, items: u64) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "mproc::queue", pid, items, "queue consumer died before task_done");
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, items);
}
