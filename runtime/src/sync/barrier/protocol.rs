//! The barrier's algorithm over its state and party slots, generic over [`Park`] so `loom`
//! checks it on the heap (see `sync::loom_tests::barrier`); [`Barrier`](super::Barrier) runs
//! it on shared memory with [`Os`](crate::sync::park::Os).
//!
//! # Memory ordering
//! Every field but `seq` is read and written while holding the internal lock word, whose
//! `Acquire`/`Release` orders them between holders. `seq` is bumped (`Release`) by a holder
//! and re-read (`Acquire`) by a parked party after it takes the lock again; the futex
//! re-checks it in the kernel, so a bump between a party's release of the lock and its park
//! is not lost.

use std::marker::PhantomData;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::time::{Duration, Instant};

use super::{ACTION_DOMAIN, BROKEN, BarrierState, DRAINING, FILLING, RESETTING, action_fields};
use crate::auth;
use crate::codeptr;
use crate::sync::atomic::AtomicU64;
use crate::sync::error::BarrierError;
use crate::sync::park::{Park, Waited};
use crate::sync::raw_lock::{self, Acquired};

const CHECK_FIRST: Duration = Duration::from_millis(2);
const CHECK_MAX: Duration = Duration::from_millis(100);

/// A barrier's state and its `parties` slots (one process identity per party inside `wait`).
#[derive(Clone, Copy)]
pub(crate) struct Core<'a> {
    s: &'a BarrierState,
    slots: &'a [AtomicU64],
    parties: u32,
}

/// The internal lock, held; released on drop.
pub(crate) struct Held<'a, P: Park> {
    lock: &'a AtomicU64,
    park: PhantomData<P>,
}

impl<P: Park> Drop for Held<'_, P> {
    fn drop(&mut self) {
        let _ = raw_lock::unlock::<P>(self.lock);
    }
}

/// Where a party stands once it has arrived (see [`Core::arrive`]).
pub(crate) struct Arrival<'a, P: Park> {
    pub(crate) held: Held<'a, P>,
    /// The party's arrival index.
    pub(crate) index: u32,
    /// The party's slot (`None` only if every slot was taken, which a valid state prevents).
    slot: Option<usize>,
}

impl<'a> Core<'a> {
    /// `slots` must hold exactly `parties` words.
    pub(crate) fn new(s: &'a BarrierState, slots: &'a [AtomicU64], parties: u32) -> Self {
        debug_assert_eq!(slots.len(), parties as usize);
        Self { s, slots, parties }
    }

    /// How many parties are waiting now.
    pub(crate) fn n_waiting(self) -> u32 {
        if self.s.state.load(Relaxed) == FILLING {
            self.s.count.load(Relaxed)
        } else {
            0
        }
    }

    /// Whether the barrier is broken.
    pub(crate) fn is_broken(self) -> bool {
        self.s.state.load(Relaxed) == BROKEN
    }

    /// Waits for all parties until `deadline`; returns this party's arrival index.
    pub(crate) fn wait_until<P: Park>(
        self,
        deadline: Option<Instant>,
    ) -> Result<u32, BarrierError> {
        let Arrival { held, index, slot } = self.arrive::<P>(deadline)?;
        let (held, result) = if index + 1 == self.parties {
            let r = self.release_round(&held);
            (held, r)
        } else {
            self.wait_for_round(held, deadline)
        };
        self.leave(&held, slot);
        result.map(|()| index)
    }

    /// Python's `_enter`: takes the lock, waits for a previous round to drain or reset, and
    /// counts this party in (its identity in a slot). Returns with the lock held.
    pub(crate) fn arrive<P: Park>(
        self,
        deadline: Option<Instant>,
    ) -> Result<Arrival<'a, P>, BarrierError> {
        let mut held = self.lock_state::<P>();
        while matches!(self.s.state.load(Relaxed), DRAINING | RESETTING) {
            let (h, waited) = self.park(held, deadline);
            held = h;
            if waited == Waited::TimedOut {
                self.break_with(&held, 0);
                return Err(BarrierError::Timeout);
            }
        }
        if self.s.state.load(Relaxed) != FILLING {
            return Err(self.broken_error());
        }
        let index = self.s.count.load(Relaxed);
        if index >= self.parties {
            // Only a corrupted state gets here; refuse rather than overrun.
            self.break_with(&held, 0);
            return Err(BarrierError::Broken);
        }
        self.s.count.store(index + 1, Relaxed);
        let slot = self.take_slot(P::self_id());
        Ok(Arrival { held, index, slot })
    }

    /// Breaks the barrier until [`reset`](Self::reset).
    pub(crate) fn abort<P: Park>(self) {
        let held = self.lock_state::<P>();
        self.break_with(&held, 0);
    }

    /// Returns the barrier to its initial state; parties waiting now leave with `Broken`.
    pub(crate) fn reset<P: Park>(self) {
        let held = self.lock_state::<P>();
        let s = self.s;
        if s.count.load(Relaxed) > 0 {
            if matches!(s.state.load(Relaxed), FILLING | BROKEN) {
                s.state.store(RESETTING, Relaxed);
            }
        } else {
            s.state.store(FILLING, Relaxed);
        }
        s.broken_by.store(0, Relaxed);
        self.notify_all(&held);
    }

    /// The last party: runs the action, then lets everyone go.
    fn release_round<P: Park>(self, held: &Held<'_, P>) -> Result<(), BarrierError> {
        let action = self.action().inspect_err(|_| self.break_with(held, 0))?;
        if let Some(action) = action
            && let Err(payload) = catch_unwind(AssertUnwindSafe(action))
        {
            self.break_with(held, 0);
            return Err(BarrierError::ActionPanicked {
                message: codeptr::panic_message(&*payload),
            });
        }
        self.s.state.store(DRAINING, Relaxed);
        self.notify_all(held);
        Ok(())
    }

    /// Python's `_wait`: parked until the round is released or broken.
    fn wait_for_round<P: Park>(
        self,
        mut held: Held<'a, P>,
        deadline: Option<Instant>,
    ) -> (Held<'a, P>, Result<(), BarrierError>) {
        loop {
            match self.s.state.load(Relaxed) {
                FILLING => {}
                DRAINING => return (held, Ok(())),
                _ => return (held, Err(self.broken_error())),
            }
            let (h, waited) = self.park(held, deadline);
            held = h;
            if waited == Waited::TimedOut && self.s.state.load(Relaxed) == FILLING {
                self.break_with(&held, 0);
                return (held, Err(BarrierError::Timeout));
            }
        }
    }

    /// Python's `_exit`: the last to leave a drained or reset round reopens the barrier.
    fn leave<P: Park>(self, held: &Held<'_, P>, slot: Option<usize>) {
        let s = self.s;
        if let Some(i) = slot {
            self.slots[i].store(0, Relaxed);
        }
        let count = s.count.load(Relaxed).saturating_sub(1);
        s.count.store(count, Relaxed);
        if count == 0 && matches!(s.state.load(Relaxed), DRAINING | RESETTING) {
            s.state.store(FILLING, Relaxed);
            self.notify_all(held);
        }
    }

    fn take_slot(self, me: u64) -> Option<usize> {
        let free = self.slots.iter().position(|s| s.load(Relaxed) == 0)?;
        self.slots[free].store(me, Relaxed);
        Some(free)
    }

    /// The action to call, if any, once its code checks out under this process's key.
    fn action(self) -> Result<Option<fn()>, BarrierError> {
        let s = self.s;
        if s.has_action.load(Relaxed) == 0 {
            return Ok(None);
        }
        // Copied out once: what is checked below is what is called.
        let offset = s.action.load(Relaxed).cast_signed();
        let layout = s.action_layout.load(Relaxed).cast_signed();
        let mut tag = [0u8; auth::MAC_LEN];
        for (bytes, word) in tag.chunks_exact_mut(8).zip(&s.action_tag) {
            bytes.copy_from_slice(&word.load(Relaxed).to_le_bytes());
        }
        let key = auth::program_key().map_err(|_| BarrierError::ActionRejected)?;
        let [a, b] = action_fields(offset, layout);
        if !auth::verify(key, ACTION_DOMAIN, &[&a, &b], &tag) {
            return Err(BarrierError::ActionRejected);
        }
        // SAFETY: the code proves that a process holding this program's key made the pair
        // with `fn_to_offset` (only `with_action` computes such codes); `fn_from_offset`
        // refuses a pair made by another executable (the layout marker differs).
        unsafe { codeptr::fn_from_offset(offset, layout) }
            .map_or(Err(BarrierError::ActionRejected), |f| Ok(Some(f)))
    }

    fn broken_error(self) -> BarrierError {
        match self.s.broken_by.load(Relaxed) {
            0 => BarrierError::Broken,
            pid => BarrierError::PartyDied {
                pid: pid.cast_signed(),
            },
        }
    }

    fn break_with<P: Park>(self, held: &Held<'_, P>, pid: i32) {
        self.s.state.store(BROKEN, Relaxed);
        self.s.broken_by.store(pid.cast_unsigned(), Relaxed);
        self.notify_all(held);
    }

    fn notify_all<P: Park>(self, _held: &Held<'_, P>) {
        self.s.seq.fetch_add(1, Release);
        P::wake(&self.s.seq, u32::MAX);
    }

    /// Takes the internal lock; if its holder died, the state may be half-updated: the
    /// barrier breaks.
    pub(crate) fn lock_state<P: Park>(self) -> Held<'a, P> {
        let taken = raw_lock::lock_blocking::<P>(&self.s.lock, P::self_id());
        let held = Held {
            lock: &self.s.lock,
            park: PhantomData,
        };
        if let Acquired::OwnerDied(id) = taken {
            self.remove_dead::<P>();
            self.break_with(&held, raw_lock::pid_of(id));
        }
        held
    }

    /// Releases the internal lock, parks until a state change, `deadline`, or the next
    /// liveness check, and takes the lock again.
    fn park<P: Park>(
        self,
        mut held: Held<'a, P>,
        deadline: Option<Instant>,
    ) -> (Held<'a, P>, Waited) {
        let s = self.s;
        let mut interval = CHECK_FIRST;
        loop {
            let seq = s.seq.load(Relaxed);
            drop(held);
            let check = P::now() + interval;
            let until = deadline.map_or(check, |d| d.min(check));
            let waited = P::wait(&s.seq, seq, Some(until));
            held = self.lock_state();
            if s.seq.load(Acquire) != seq {
                return (held, Waited::Woken);
            }
            if deadline.is_some_and(|d| d <= P::now()) {
                return (held, Waited::TimedOut);
            }
            if waited == Waited::TimedOut {
                if let Some(pid) = self.remove_dead::<P>() {
                    self.break_with(&held, pid);
                    return (held, Waited::Woken);
                }
                interval = (interval * 2).min(CHECK_MAX);
            }
        }
    }

    /// Clears the slots of dead parties (they will never leave) and returns one's pid.
    fn remove_dead<P: Park>(self) -> Option<i32> {
        let me = P::self_id();
        let s = self.s;
        let mut dead = None;
        for slot in self.slots {
            let id = slot.load(Relaxed);
            if id != 0 && id != me && !P::alive(id) {
                slot.store(0, Relaxed);
                s.count
                    .store(s.count.load(Relaxed).saturating_sub(1), Relaxed);
                dead = Some(raw_lock::pid_of(id));
            }
        }
        dead
    }
}
