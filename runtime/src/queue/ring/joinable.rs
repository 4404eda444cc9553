//! The joinable queue's counts: `task_done`, `join`, and who took what.
//!
//! Each process that takes items or marks them done counts both in a slot of its own
//! (`consumers`, claimed by its lock identity). A joiner that waits also looks, every
//! [`JOIN_POLL`], for a slot whose owner died with more items taken than done: those items
//! will never be done, so it counts them as done, frees the slot and reports the process. The
//! counts are bumped where a crash can only hide items, never invent them: `taken` after the
//! commit that took the item, a process's `done` before the queue's (and undone if the queue's
//! refuses it). A process killed between the two goes unreported, and a joiner waits for its
//! item as before. Processes beyond the slots go uncounted too. The joiner reads the counts
//! of dead processes only, whose stores are all visible (see "Crashes" in the parent module); `Release`/`Acquire`
//! on them orders nothing else.

use std::sync::atomic::Ordering::{Acquire, Relaxed, Release, SeqCst};
use std::time::Instant;

use super::Ring;
use super::wait::{wait, wake, wake_all};
use crate::queue::ring::Bytes;
use crate::queue::state::ConsumerSlot;
use crate::queue::trace;
use crate::sync::park::Park;

/// Every slot was taken when this process looked for one.
const NO_SLOT: u64 = u64::MAX;

/// How often a waiting joiner looks for consumers that died (they wake no one).
const JOIN_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Why `join` returned before every item was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinFail {
    /// The deadline passed.
    Timeout,
    /// Process `pid` died with `items` taken and never done (they now count as done).
    Died { pid: i32, items: u64 },
}

impl<'a, B: Bytes, P: Park> Ring<'a, B, P> {
    /// Marks one item done; `false` if every item put was already done.
    pub(crate) fn task_done(&self) -> bool {
        // Counted here first (see "Who took what").
        let slot = self.my_slot();
        if let Some(slot) = slot {
            slot.done.fetch_add(1, Release);
        }
        loop {
            let done = self.st.done.load(SeqCst);
            // Items taken are at most items put: below them, the producers' line need not be
            // read.
            if done >= self.st.gets.load(SeqCst) && done >= self.st.puts.load(SeqCst) {
                if let Some(slot) = slot {
                    slot.done.fetch_sub(1, Release);
                }
                return false;
            }
            if self
                .st
                .done
                .compare_exchange(done, done + 1, SeqCst, SeqCst)
                .is_ok()
            {
                // Joiners wait for `done` to catch up with `puts`: only that moment wakes them.
                if done + 1 == self.st.puts.load(SeqCst) {
                    wake::<P>(&self.st.join_seq);
                }
                return true;
            }
        }
    }

    /// Items put and not yet marked done.
    pub(crate) fn unfinished(&self) -> u64 {
        self.st
            .puts
            .load(SeqCst)
            .saturating_sub(self.st.done.load(SeqCst))
    }

    /// Waits until every item put is done (items put meanwhile included, as in Python), or
    /// a process that took items died before marking them done (see "Who took what").
    pub(crate) fn join(&self, deadline: Option<Instant>) -> Result<(), JoinFail> {
        let all_done = || self.st.done.load(SeqCst) >= self.st.puts.load(SeqCst);
        if cfg!(loom) {
            // The models check the counts, not the bookkeeping beside them (see `my_slot`).
            return wait::<P>(&self.st.join_seq, all_done, deadline)
                .then_some(())
                .ok_or(JoinFail::Timeout);
        }
        loop {
            let poll = Instant::now() + JOIN_POLL;
            let until = deadline.map_or(poll, |d| d.min(poll));
            if wait::<P>(&self.st.join_seq, all_done, Some(until)) {
                return Ok(());
            }
            if let Some(died) = self.settle_dead_consumer() {
                return Err(died);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(JoinFail::Timeout);
            }
        }
    }

    /// Finds a process that died with items taken and not done, counts them as done and
    /// frees its slot.
    fn settle_dead_consumer(&self) -> Option<JoinFail> {
        for slot in &self.st.consumers {
            let owner = slot.owner.load(Acquire);
            if owner == 0 || owner == self.me || P::alive(owner) {
                continue;
            }
            // Its last stores are visible: it is dead (see "Crashes").
            let items = slot
                .taken
                .load(Acquire)
                .saturating_sub(slot.done.load(Acquire));
            if items == 0 {
                continue;
            }
            // One joiner settles it (the next claimant of the slot resets its counts).
            if slot
                .owner
                .compare_exchange(owner, 0, SeqCst, SeqCst)
                .is_err()
            {
                continue;
            }
            self.st.done.fetch_add(items, SeqCst);
            wake_all::<P>(&self.st.join_seq);
            let pid = i32::try_from(owner & 0xFFFF_FFFF).unwrap_or(0);
            trace::consumer_settled(pid, items);
            return Some(JoinFail::Died { pid, items });
        }
        None
    }

    /// This process's slot in `consumers`, claimed on first use; `None` if all are taken.
    /// (Not under `loom`: the slots are bookkeeping beside the ring's protocol, and scanning
    /// them would multiply the models' states; the heap and process tests cover them.)
    pub(super) fn my_slot(&self) -> Option<&'a ConsumerSlot> {
        if cfg!(loom) {
            return None;
        }
        if self.cache.slot_owner.load(Relaxed) != self.me {
            let slot = self.claim_slot().map_or(NO_SLOT, |i| i as u64);
            self.cache.slot.store(slot, Relaxed);
            self.cache.slot_owner.store(self.me, Relaxed);
        }
        let index = usize::try_from(self.cache.slot.load(Relaxed)).ok()?;
        self.st.consumers.get(index)
    }

    /// The first slot this process owns, claiming a free one (or one whose owner died with
    /// nothing left undone) if it owns none.
    fn claim_slot(&self) -> Option<usize> {
        let slots = &self.st.consumers;
        let mine = || slots.iter().position(|s| s.owner.load(Acquire) == self.me);
        if let Some(i) = mine() {
            return Some(i);
        }
        let claimed = slots.iter().position(|s| {
            let owner = s.owner.load(Acquire);
            let free =
                owner == 0 || (!P::alive(owner) && s.taken.load(Acquire) <= s.done.load(Acquire));
            free && s
                .owner
                .compare_exchange(owner, self.me, SeqCst, SeqCst)
                .is_ok()
        })?;
        slots[claimed].taken.store(0, Relaxed);
        slots[claimed].done.store(0, Relaxed);
        // Another thread of this process may have claimed one meanwhile: keep the first.
        let first = mine()?;
        if first != claimed {
            slots[claimed].owner.store(0, Release);
        }
        Some(first)
    }
}
