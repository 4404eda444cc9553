//! How a side of the ring waits for the other, and its lock guard (see "Waiting" in the
//! parent module).

use std::marker::PhantomData;
use std::sync::atomic::Ordering::{Release, SeqCst};
use std::time::Instant;

use crate::sync::atomic::{AtomicU32, AtomicU64, fence};
use crate::sync::park::{Park, Waited};
use crate::sync::raw_lock;

/// Spinning rounds before sleeping (each a CPU pause: a few µs in all).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 200;
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 1;

/// Waits until `ready()`, sleeping on `seq` registered in `sleepers`; `false` on deadline.
pub(super) fn wait<P: Park>(
    seq: &AtomicU32,
    sleepers: &AtomicU32,
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
        for _ in 0..SPIN_ROUNDS {
            P::spin();
            if ready() {
                return true;
            }
        }
    }
    loop {
        sleepers.fetch_add(1, SeqCst);
        fence(SeqCst);
        let seen = seq.load(SeqCst);
        if ready() {
            sleepers.fetch_sub(1, SeqCst);
            return true;
        }
        let waited = P::wait(seq, seen, deadline);
        sleepers.fetch_sub(1, SeqCst);
        if ready() {
            return true;
        }
        if waited == Waited::TimedOut && expired() {
            return false;
        }
    }
}

/// After making progress: wakes up to `n` sleepers of `seq` if any registered.
pub(super) fn wake<P: Park>(seq: &AtomicU32, sleepers: &AtomicU32, n: u32) {
    fence(SeqCst);
    if sleepers.load(SeqCst) > 0 {
        seq.fetch_add(1, Release);
        P::wake(seq, n);
    }
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
}

impl<P: Park> Drop for SideLock<'_, P> {
    fn drop(&mut self) {
        raw_lock::unlock_if_owner::<P>(self.word, self.me);
    }
}
