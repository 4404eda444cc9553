//! The gate between a [`Value`](crate::Value)'s lock-free operations and its lock.
//!
//! A lock-free operation (`load`, `store`, `swap`, `compare_exchange`, `fetch_add`, ...) must
//! never land in the middle of a section that holds the value's lock: a holder that reads the
//! value, computes, and writes it back (Python's `with v.get_lock(): v.value += 1`) would
//! otherwise overwrite an increment made in between. So each lock-free operation runs only
//! while the lock is free, and a holder waits for the operations that started before it took
//! the lock:
//!
//! - **bypass** (the lock-free side): claim a slot of the gate (a CAS `0 → my identity` on a
//!   cache line of its own, picked by thread id), check that the lock word is 0, run the
//!   operation on the hardware atomic, clear the slot. If the lock is held (or every slot is
//!   busy) the slot is cleared at once and the caller runs the operation under the lock.
//! - **drain** (the holder's side, before each access to the value under the lock): wait
//!   until every slot has been seen empty once. A slot whose owner process died is cleared.
//!
//! An operation that claims a slot after the holder's drain looked at it sees the lock held
//! (see *Memory ordering*), so after the drain nothing but the holder touches the value until
//! the lock is released. Both sides are short: a bypass does one uncontended CAS on its slot
//! line, one read of the lock word (a line that is only written when someone locks), and the
//! operation; a drain reads 16 lines that stay in its cache while nobody bypasses.
//!
//! # Crashes
//! A process killed inside a bypass leaves its identity in its slot. The operation either
//! happened (one atomic instruction) or not, so the value is consistent either way; the next
//! drain finds the owner dead (pid and start time, as for lock words) and clears the slot.
//! A stopped process (`SIGSTOP`) inside a bypass makes holders wait for it, as a stopped lock
//! holder makes acquirers wait.
//!
//! # Memory ordering
//! The bypass claims its slot with a `SeqCst` CAS and then reads the lock word with a
//! `SeqCst` load; the holder takes the lock word (an `Acquire` CAS), then issues a `SeqCst`
//! fence, then reads the slots. This is the store-buffering pattern with sequential
//! consistency on both sides: either the bypass's load of the lock word follows the holder's
//! fence in the single total order (then it sees the lock taken, or released again later,
//! and does not touch the value while the holder is in its section), or the claim precedes
//! the fence (then the holder's slot read sees the claim, or the clear that ended it). The
//! clear is a `Release` store and the holder's slot read `Acquire`, so an operation that ran
//! happens before the holder's access; the bypass's `SeqCst` load of a released lock word
//! (released with `Release`) orders the previous holder's writes before the operation.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicU64, fence};
use std::time::{Duration, Instant};

use crate::sync::RLockState;
use crate::sync::park::{Os, Park, SPIN_LIMIT};
use crate::sys::owner::{self_id, self_tid};

/// The number of slots: distinct threads (of any process) bypass on distinct lines.
const SLOTS: usize = 16;

/// How often a holder waiting on a slot asks whether its owner still runs.
const CHECK_EVERY: Duration = Duration::from_millis(1);

/// One claim: 0 (free) or the identity of the process inside a bypass, alone on its line.
#[repr(C, align(64))]
struct Slot(AtomicU64);

/// The slots; all-zero is "nobody inside".
#[repr(C)]
pub(crate) struct Gate {
    slots: [Slot; SLOTS],
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<Gate>() == SLOTS * 64);

impl Gate {
    /// Runs `op` unless `lock` is held, as a step no section holding `lock` can straddle;
    /// `None` (nothing ran) if the lock is held or no slot is free: run it under the lock.
    #[inline]
    pub(crate) fn bypass<R>(&self, lock: &RLockState, op: impl FnOnce() -> R) -> Option<R> {
        let slot = self.claim()?;
        let out = if lock.is_free_seqcst() {
            Some(op())
        } else {
            None
        };
        slot.0.store(0, Release);
        out
    }

    /// Claims a free slot for this process, starting at the thread's own.
    #[inline]
    fn claim(&self) -> Option<&Slot> {
        let me = self_id();
        let start = self_tid() as usize;
        (0..SLOTS)
            .map(|i| &self.slots[(start + i) % SLOTS])
            .find(|slot| {
                slot.0.load(Relaxed) == 0 && slot.0.compare_exchange(0, me, SeqCst, Relaxed).is_ok()
            })
    }

    /// Waits until every bypass that may have missed the caller's lock is over. The caller
    /// holds the lock guarding the value.
    pub(crate) fn drain(&self) {
        fence(SeqCst);
        for slot in &self.slots {
            let claim = slot.0.load(Acquire);
            if claim != 0 {
                wait_out(slot, claim);
            }
        }
    }
}

/// Waits until `slot` no longer holds `claim`: its bypass ended, or its owner died (then the
/// slot is cleared here).
#[cold]
fn wait_out(slot: &Slot, claim: u64) {
    for _ in 0..SPIN_LIMIT {
        Os::spin();
        if slot.0.load(Acquire) != claim {
            return;
        }
    }
    let mut next_check = Instant::now();
    while slot.0.load(Acquire) == claim {
        if Instant::now() >= next_check {
            if !Os::alive(claim) {
                // Fails only if the slot changed meanwhile: either way, this claim is over.
                let _ = slot.0.compare_exchange(claim, 0, Release, Relaxed);
                return;
            }
            next_check = Instant::now() + CHECK_EVERY;
        }
        std::thread::yield_now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::RLock;

    fn gate() -> Box<Gate> {
        Box::new(Gate {
            slots: std::array::from_fn(|_| Slot(AtomicU64::new(0))),
        })
    }

    #[test]
    fn a_bypass_runs_only_while_the_lock_is_free_and_leaves_its_slot_empty() {
        let (gate, lock) = (gate(), RLock::new().unwrap());
        assert_eq!(gate.bypass(lock.state(), || 7), Some(7));
        lock.acquire().unwrap();
        assert_eq!(
            gate.bypass(lock.state(), || 7),
            None,
            "held, even by this thread"
        );
        lock.release().unwrap();
        assert!(gate.slots.iter().all(|s| s.0.load(Relaxed) == 0));
    }

    #[test]
    fn with_every_slot_taken_a_bypass_defers_to_the_lock() {
        let (gate, lock) = (gate(), RLock::new().unwrap());
        for s in &gate.slots {
            s.0.store(self_id(), Relaxed);
        }
        assert_eq!(gate.bypass(lock.state(), || 1), None);
    }

    #[test]
    fn a_drain_clears_the_slot_of_a_dead_process() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        child.wait().unwrap();
        // Its pid, with a start time no process has: dead whoever reuses the pid.
        let dead = crate::sys::owner::compose(pid, 1);
        let gate = gate();
        gate.slots[3].0.store(dead, Relaxed);
        gate.drain();
        assert!(gate.slots.iter().all(|s| s.0.load(Relaxed) == 0));
    }

    #[test]
    fn a_drain_waits_for_a_live_bypass_to_end() {
        let gate: &'static Gate = Box::leak(gate());
        gate.slots[5].0.store(self_id(), Relaxed);
        let (tx, rx) = std::sync::mpsc::channel();
        let drainer = std::thread::spawn(move || {
            gate.drain();
            tx.send(()).unwrap();
        });
        // A live owner's claim holds the drain (bounded check: it has not finished while the
        // claim stands, then finishes once it is cleared).
        assert!(rx.recv_timeout(Duration::from_millis(50)).is_err());
        gate.slots[5].0.store(0, Release);
        rx.recv_timeout(Duration::from_secs(30)).unwrap();
        drainer.join().unwrap();
    }
}
