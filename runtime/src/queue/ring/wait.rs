//! How a side of the ring waits for the other, and its lock guard (see "Waiting" in the
//! parent module).

use std::marker::PhantomData;
use std::sync::atomic::Ordering::SeqCst;
use std::sync::atomic::compiler_fence;
use std::time::Instant;

use crate::sync::atomic::{AtomicU32, AtomicU64, fence};
use crate::sync::park::{Park, Waited};
use crate::sync::raw_lock;

/// Spinning rounds before sleeping (each a CPU pause: tens of µs in all).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 2048;
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 1;
/// Pauses between two checks while spinning: each check reads the other side's published
/// line, and taking it away from a side that is writing it slows that side down. Checking
/// seldom lets a producer publish several items while it owns the line (measured: about 10 %
/// more items/s 1 → 1 than checking every 16 pauses).
#[cfg(not(loom))]
const SPIN_STRIDE: u32 = 128;
#[cfg(loom)]
const SPIN_STRIDE: u32 = 1;

/// Bit 0 of a sequence word: someone is asleep (or about to be) on the word's current value.
const ARMED: u32 = 1;

/// Waits until `ready()`, sleeping on the sequence word `seq`; `false` on deadline.
///
/// A sleeper arms the word (sets [`ARMED`]), re-checks `ready()`, then sleeps while the word
/// keeps that value. [`wake`] clears the bit as it bumps the word, so each sleep costs its
/// waker one system call at most, however much progress is made meanwhile.
pub(super) fn wait<P: Park>(
    seq: &AtomicU32,
    ready: impl Fn() -> bool,
    deadline: Option<Instant>,
) -> bool {
    if ready() {
        return true;
    }
    let expired = || deadline.is_some_and(|d| Instant::now() >= d);
    if expired() {
        return false;
    }
    if spin_allowed() {
        for _ in 0..SPIN_ROUNDS / SPIN_STRIDE {
            for _ in 0..SPIN_STRIDE {
                P::spin();
            }
            if ready() {
                return true;
            }
        }
    }
    loop {
        let cur = seq.load(SeqCst);
        if cur & ARMED == 0
            && seq
                .compare_exchange(cur, cur | ARMED, SeqCst, SeqCst)
                .is_err()
        {
            continue;
        }
        // Armed before this check: either the waker sees the bit, or this sees its progress.
        fence(SeqCst);
        if ready() {
            return true;
        }
        let waited = P::wait(seq, cur | ARMED, deadline);
        if ready() {
            return true;
        }
        if waited == Waited::TimedOut && expired() {
            return false;
        }
    }
}

/// After making progress: wakes every sleeper of `seq`, if the word is armed.
pub(super) fn wake<P: Park>(seq: &AtomicU32) {
    fence(SeqCst);
    wake_if_armed::<P>(seq);
}

/// [`wake`] without its fence, for a caller that has ordered its progress before this check
/// some other way.
fn wake_if_armed<P: Park>(seq: &AtomicU32) {
    let mut cur = seq.load(SeqCst);
    while cur & ARMED != 0 {
        // Adding 1 to an armed word clears the bit and moves the value on.
        match seq.compare_exchange(cur, cur.wrapping_add(1), SeqCst, SeqCst) {
            Ok(_) => {
                P::wake(seq, u32::MAX);
                return;
            }
            Err(now) => cur = now,
        }
    }
}

/// Wakes every sleeper of `seq` whether the word is armed or not (after `close`).
pub(super) fn wake_all<P: Park>(seq: &AtomicU32) {
    seq.fetch_add(2, SeqCst);
    P::wake(seq, u32::MAX);
}

/// Whether spinning may help: another CPU can make progress meanwhile.
fn spin_allowed() -> bool {
    #[cfg(loom)]
    {
        true
    }
    #[cfg(not(loom))]
    {
        crate::wire::may_spin()
    }
}

/// A side's lock, released when dropped (also during a panic).
pub(super) struct SideLock<'w, P: Park> {
    word: &'w AtomicU64,
    me: u64,
    _park: PhantomData<fn() -> P>,
}

impl<'w, P: Park> SideLock<'w, P> {
    pub(super) fn new(word: &'w AtomicU64, me: u64) -> Self {
        Self {
            word,
            me,
            _park: PhantomData,
        }
    }

    /// Releases the lock, then wakes the sleepers of `seq` as [`wake`] does, for progress
    /// stored before the release.
    ///
    /// On x86 the release is a locked read-modify-write, a full barrier: it orders that
    /// progress before the check of `seq` as the fence in [`wake`] would, so a `put` or `get`
    /// pays for one serializing instruction at its end instead of two (each drains the store
    /// buffer; together with the lock's acquisition they were most of a small item's cost).
    /// Elsewhere, or when the release did not happen (the word is not ours), the fence stays.
    pub(super) fn release_and_wake(self, seq: &AtomicU32) {
        let released = raw_lock::unlock_if_owner::<P>(self.word, self.me);
        std::mem::forget(self);
        if released
            && cfg!(all(
                any(target_arch = "x86_64", target_arch = "x86"),
                not(loom)
            ))
        {
            // Keeps the compiler from moving the check above the release.
            compiler_fence(SeqCst);
        } else {
            fence(SeqCst);
        }
        wake_if_armed::<P>(seq);
    }
}

impl<P: Park> Drop for SideLock<'_, P> {
    fn drop(&mut self) {
        raw_lock::unlock_if_owner::<P>(self.word, self.me);
    }
}
