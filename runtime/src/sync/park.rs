//! How the OS-independent algorithms block: [`Park`] abstracts futex waits, the caller's
//! process and thread identity, and liveness, so the same code runs on shared memory in real processes ([`Os`]) and on the
//! heap under `loom` (see `sync::loom_tests`).

use std::time::Instant;

use super::atomic::{AtomicU32, AtomicU64};
pub(crate) use crate::sys::futex::Waited;

/// Blocking and identity services used by the lock, semaphore, event, condition and barrier
/// algorithms. All methods are associated functions: implementors are zero-sized markers.
pub(crate) trait Park {
    /// Blocks while `*word == expected`, until woken, spuriously, or `deadline`.
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited;
    /// Wakes up to `n` waiters of `word` (`u32::MAX`: all).
    fn wake(word: &AtomicU32, n: u32);
    /// [`Park::wait`] on the low 32 bits of a 64-bit word.
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited;
    /// [`Park::wake`] for the low 32 bits of a 64-bit word.
    fn wake_low(word: &AtomicU64, n: u32);
    /// Whether the owner named by `id` (a process identity) is alive.
    fn alive(id: u64) -> bool;
    /// One step of a bounded spin.
    fn spin();
    /// The monotonic clock the algorithms compare deadlines with (the models' is virtual:
    /// a timed wait there advances it to its deadline instead of sleeping).
    #[inline]
    fn now() -> Instant {
        Instant::now()
    }
    /// The calling process's identity, as lock words and barrier slots record it (see
    /// `sys::owner`).
    #[inline]
    fn self_id() -> u64 {
        crate::sys::owner::self_id()
    }
    /// The calling thread's id, for recursive-lock ownership.
    #[inline]
    fn self_tid() -> u32 {
        crate::sys::owner::self_tid()
    }
}

/// The real thing: futexes on shared memory, pidfd liveness.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Os;

#[cfg(not(loom))]
impl Park for Os {
    #[inline]
    fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
        crate::sys::futex::wait(word, expected, deadline)
    }
    #[inline]
    fn wake(word: &AtomicU32, n: u32) {
        crate::sys::futex::wake(word, n);
    }
    #[inline]
    fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
        crate::sys::futex::wait_low(word, expected, deadline)
    }
    #[inline]
    fn wake_low(word: &AtomicU64, n: u32) {
        crate::sys::futex::wake_low(word, n);
    }
    fn alive(id: u64) -> bool {
        id == crate::sys::owner::self_id() || crate::sys::owner::is_alive(id)
    }
    #[inline]
    fn spin() {
        std::hint::spin_loop();
    }
}

/// Under `loom`, shared-memory objects are never used (only the heap models run), but the
/// crate must still compile: `Os` then panics if called.
#[cfg(loom)]
impl Park for Os {
    fn wait(_: &AtomicU32, _: u32, _: Option<Instant>) -> Waited {
        unreachable!("shared-memory objects are not used under loom")
    }
    fn wake(_: &AtomicU32, _: u32) {}
    fn wait_low(_: &AtomicU64, _: u32, _: Option<Instant>) -> Waited {
        unreachable!("shared-memory objects are not used under loom")
    }
    fn wake_low(_: &AtomicU64, _: u32) {}
    fn alive(_: u64) -> bool {
        true
    }
    fn spin() {}
}

/// How many times a contended lock acquire re-checks before parking: about a microsecond.
/// A lock is held briefly, so its holder is likely to release it within that time when it is
/// running on the other CPU; when it is not running (or shares our CPU) the spin is short
/// enough to cost little.
#[cfg(not(loom))]
pub(crate) const SPIN_LIMIT: u32 = 40;
/// How many times an event or semaphore wait re-checks before parking. Kept short: measured
/// on this 2-vCPU machine, a process waiting for another's `set` almost always has to park
/// anyway (the setter must itself be woken first), and spinning longer (100 rounds) made an
/// `Event` ping-pong up to 2.2x slower than a bare futex when both processes share a CPU.
#[cfg(not(loom))]
pub(crate) const WAIT_SPIN_LIMIT: u32 = 10;
/// Under `loom` one spin step keeps the explored state space small.
#[cfg(loom)]
pub(crate) const SPIN_LIMIT: u32 = 1;
/// Under `loom` one spin step keeps the explored state space small.
#[cfg(loom)]
pub(crate) const WAIT_SPIN_LIMIT: u32 = 1;
