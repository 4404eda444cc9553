//! The lock word protocol shared by `Lock`, `RLock`, and the locks inside `Value`, `Array`
//! and `Barrier`.
//!
//! The word is 64 bits. Unlocked is 0. Locked, it holds the owner's process identity
//! (`start_time << 32 | pid`, see `sys::owner`) and, in bit 31 of the pid half, [`WAITERS`]:
//! someone may be parked on the word. Waiters park on the low 32 bits (pid + `WAITERS`) with a
//! futex.
//!
//! - acquire: one CAS `0 → me` (the fast path); under contention, spin briefly, then set
//!   `WAITERS` and park. A parked waiter wakes up periodically (1 ms, doubling to 64 ms) and,
//!   if the word still names the same owner, asks whether that owner is alive; a dead owner's
//!   lock is taken over with a CAS, and the taker learns the dead pid. The same check runs
//!   once when a timed acquire is about to give up, so `try_` and `_timeout` forms also
//!   recover a dead owner's lock.
//! - release: one swap to 0; a futex wake only if `WAITERS` was set.
//!
//! Waking a waiter does not clear `WAITERS` for the others: a waiter that acquires after
//! parking sets it again (it cannot know whether others still wait), at the cost of one
//! spurious wake at most.
//!
//! # Memory ordering
//! The acquiring CAS is `Acquire` and the releasing swap `Release`: everything written while
//! holding the lock is visible to the next holder, in any process (the same cache-coherent
//! memory is mapped in all). Setting `WAITERS` is `Relaxed`: it orders nothing, and the futex
//! re-checks the word under its own lock, so a wake cannot be missed: the releaser's swap
//! either sees `WAITERS` (and wakes) or happens before the waiter's CAS (which then fails or
//! finds 0).

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::atomic::AtomicU64;
use super::park::{Park, SPIN_LIMIT, Waited};
use super::trace;

/// Someone may be parked on the word.
pub(crate) const WAITERS: u64 = 1 << 31;

/// How the lock was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Acquired {
    /// From an unlocked state.
    Clean,
    /// Taken over from the dead owner with this identity.
    OwnerDied(u64),
}

/// The deadline passed (or, for `try_`, the lock is held by a live owner).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimedOut;

/// The word was not locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotLocked;

const CHECK_FIRST: Duration = Duration::from_millis(1);
const CHECK_MAX: Duration = Duration::from_millis(64);

/// The owner identity in a locked word.
#[inline]
pub(crate) fn owner(word: u64) -> u64 {
    word & !WAITERS
}

/// The pid part of an identity.
pub(crate) fn pid_of(id: u64) -> i32 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the masked pid fits in 31 bits"
    )]
    let pid = (id & (WAITERS - 1)) as u32;
    pid.cast_signed()
}

#[allow(
    clippy::cast_possible_truncation,
    reason = "futexes watch the low half"
)]
fn low(word: u64) -> u32 {
    word as u32
}

/// Acquires `word` for `me` (a non-zero identity without the `WAITERS` bit), waiting until
/// `deadline` (`None`: forever).
#[inline]
pub(crate) fn lock<P: Park>(
    word: &AtomicU64,
    me: u64,
    deadline: Option<Instant>,
) -> Result<Acquired, TimedOut> {
    debug_assert!(me != 0 && me & WAITERS == 0);
    if word.compare_exchange(0, me, Acquire, Relaxed).is_ok() {
        return Ok(Acquired::Clean);
    }
    lock_contended::<P>(word, me, deadline)
}

#[cold]
fn lock_contended<P: Park>(
    word: &AtomicU64,
    me: u64,
    deadline: Option<Instant>,
) -> Result<Acquired, TimedOut> {
    let spins = if deadline.is_some_and(|d| d <= P::now()) {
        0 // a `try_`: do not spin
    } else {
        SPIN_LIMIT
    };
    for _ in 0..spins {
        let cur = word.load(Relaxed);
        if cur == 0 {
            if word.compare_exchange(0, me, Acquire, Relaxed).is_ok() {
                return Ok(Acquired::Clean);
            }
        } else if cur & WAITERS != 0 {
            break; // others are parked already: queue up behind them
        }
        P::spin();
    }
    let mut interval = CHECK_FIRST;
    let mut next_check = P::now() + interval;
    loop {
        let cur = word.load(Relaxed);
        if cur == 0 {
            // Others may still be parked: keep the flag so our release wakes one.
            if word
                .compare_exchange(0, me | WAITERS, Acquire, Relaxed)
                .is_ok()
            {
                return Ok(Acquired::Clean);
            }
            continue;
        }
        let expected = cur | WAITERS;
        if cur & WAITERS == 0
            && word
                .compare_exchange(cur, expected, Relaxed, Relaxed)
                .is_err()
        {
            continue;
        }
        let until = deadline.map_or(next_check, |d| d.min(next_check));
        if P::wait_low(word, low(expected), Some(until)) == Waited::Woken {
            continue;
        }
        let now = P::now();
        let give_up = deadline.is_some_and(|d| now >= d);
        if give_up || now >= next_check {
            if let Some(taken) = take_over_if_dead::<P>(word, me) {
                return Ok(taken);
            }
            if give_up {
                return Err(TimedOut);
            }
            interval = (interval * 2).min(CHECK_MAX);
            next_check = now + interval;
        }
    }
}

/// If `word` is free, or held by a dead owner, takes it for `me`.
fn take_over_if_dead<P: Park>(word: &AtomicU64, me: u64) -> Option<Acquired> {
    let cur = word.load(Relaxed);
    if cur == 0 {
        return word
            .compare_exchange(0, me | WAITERS, Acquire, Relaxed)
            .ok()
            .map(|_| Acquired::Clean);
    }
    let dead = owner(cur);
    if P::alive(dead) {
        return None;
    }
    word.compare_exchange(cur, me | WAITERS, Acquire, Relaxed)
        .ok()?;
    trace::owner_died(pid_of(dead), pid_of(me));
    Some(Acquired::OwnerDied(dead))
}

/// Acquires `word` for `me`, waiting as long as it takes.
#[inline]
pub(crate) fn lock_blocking<P: Park>(word: &AtomicU64, me: u64) -> Acquired {
    loop {
        // Without a deadline `lock` does not give up; the loop only satisfies the types.
        if let Ok(taken) = lock::<P>(word, me, None) {
            return taken;
        }
    }
}

/// Acquires without waiting: `Err(TimedOut)` if a live owner holds it.
#[inline]
pub(crate) fn try_lock<P: Park>(word: &AtomicU64, me: u64) -> Result<Acquired, TimedOut> {
    if word.compare_exchange(0, me, Acquire, Relaxed).is_ok() {
        return Ok(Acquired::Clean);
    }
    take_over_if_dead::<P>(word, me).ok_or(TimedOut)
}

/// Releases `word` (whoever holds it); returns the previous owner's identity.
#[inline]
pub(crate) fn unlock<P: Park>(word: &AtomicU64) -> Result<u64, NotLocked> {
    let old = word.swap(0, Release);
    if old == 0 {
        return Err(NotLocked);
    }
    if old & WAITERS != 0 {
        P::wake_low(word, 1);
    }
    Ok(owner(old))
}

/// Releases `word` only if `me` holds it (a guard whose lock was released by someone else, as
/// Python allows, must not release the next holder's lock). Returns whether it released.
#[inline]
pub(crate) fn unlock_if_owner<P: Park>(word: &AtomicU64, me: u64) -> bool {
    let mut cur = word.load(Relaxed);
    loop {
        if cur == 0 || owner(cur) != me {
            return false;
        }
        match word.compare_exchange_weak(cur, 0, Release, Relaxed) {
            Ok(_) => {
                if cur & WAITERS != 0 {
                    P::wake_low(word, 1);
                }
                return true;
            }
            Err(now) => cur = now,
        }
    }
}

/// Whether `word` is locked (by anyone).
pub(crate) fn is_locked(word: &AtomicU64) -> bool {
    word.load(Relaxed) != 0
}
