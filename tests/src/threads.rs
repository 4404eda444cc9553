//! Joining a thread with a bound: a thread stuck in a wait fails the test instead of hanging
//! it (a std `JoinHandle` has no timed join).

use std::thread::JoinHandle;

use crate::TIMEOUT;
use crate::sync_support::eventually;

/// Joins `handle` once the thread has finished; what `JoinHandle::join` returns.
///
/// # Errors
/// The thread's panic payload, if it panicked.
///
/// # Panics
/// If the thread is still running after [`crate::sync_support::LIMIT`] (the bound of
/// `eventually`, under [`TIMEOUT`]): it is left running, and the test fails.
pub fn join<T>(handle: JoinHandle<T>) -> std::thread::Result<T> {
    assert!(
        eventually(|| handle.is_finished()),
        "thread {:?} still running after the bound ({TIMEOUT:?} at most)",
        handle.thread().name()
    );
    handle.join()
}

/// Runs `f` in a thread and returns its value, failing the test when it has not finished
/// within the bound: for an untimed call under test (`lock.acquire()`, `queue.get()`), so a
/// bug that makes it wait forever fails the test instead of hanging it.
///
/// # Panics
/// As [`join`], and with `f`'s own panic.
pub fn bounded<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    join(std::thread::spawn(f)).unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
