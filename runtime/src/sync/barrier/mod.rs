//! [`Barrier`]: Python's `multiprocessing.Barrier`, robust to the death of a party.
//!
//! The state machine is Python's (`threading.Barrier`): *filling* while parties arrive;
//! the last one runs the action and switches to *draining*, which lets everyone leave; the
//! last to leave switches back to *filling*. `reset` (while parties wait) switches to
//! *resetting*: those waiting leave with [`BarrierError::Broken`], and the last to leave
//! makes the barrier usable again. `abort`, a timeout, a panicking action or a dead party
//! switch to *broken* until `reset`. Arrivals during draining or resetting wait for it to
//! finish, so a slow leaver can never be confused by a later generation.
//!
//! The state is guarded by a robust lock word (see `raw_lock`) in the segment; state changes
//! bump a sequence word and wake every parked party (a condition variable without a
//! separate lock). Each party inside `wait` writes its process identity into a slot; a parked
//! party wakes periodically to check that the others in the slots are alive, and a dead one
//! breaks the barrier with [`BarrierError::PartyDied`].
//!
//! The action is a code address, and the segment is writable by every process that holds the
//! barrier, so the address is stored with a code (HMAC-SHA256) made with the program authkey
//! (`crate::auth`) when the barrier was made. The last party checks the code before the call:
//! a rewritten or hand-made action is never called, it gets
//! [`BarrierError::ActionRejected`] and the barrier breaks. The values checked are copied out
//! of shared memory first, so what is checked is what is called.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::atomic::{AtomicI32, AtomicU32, AtomicU64};
use super::deadline;
use super::error::{BarrierCreateError, BarrierError};
use super::park::Os;
use crate::auth;
use crate::codeptr;
use crate::shm::{Kind, ShmBox, ShmError, ShmState};

const FILLING: i32 = 0;
const DRAINING: i32 = 1;
const RESETTING: i32 = -1;
const BROKEN: i32 = -2;

/// The most parties a barrier supports.
const MAX_PARTIES: u32 = 1 << 16;

mod protocol;

pub(crate) use protocol::Core;

/// The shared state of a [`Barrier`]; the data area holds one `AtomicU64` slot per party.
#[repr(C)]
pub(crate) struct BarrierState {
    lock: AtomicU64,
    seq: AtomicU32,
    parties: AtomicU32,
    count: AtomicU32,
    state: AtomicI32,
    broken_by: AtomicU32,
    has_action: AtomicU32,
    action: AtomicU64,
    action_layout: AtomicU64,
    /// `auth::mac(program key, ACTION_DOMAIN, action ++ action_layout)`.
    action_tag: [AtomicU64; TAG_WORDS],
}

/// What the action's code authenticates.
const ACTION_DOMAIN: &[u8] = b"mproc barrier action v1";
/// The code, in 64-bit words.
const TAG_WORDS: usize = auth::MAC_LEN / 8;

#[cfg(not(loom))]
const _: () = assert!(size_of::<BarrierState>() == 80);

impl BarrierState {
    /// A new barrier's state on the heap (no action), for the `loom` models; its slots are
    /// `parties` zeroed words next to it.
    #[cfg(loom)]
    pub(crate) fn new(parties: u32) -> Self {
        Self {
            lock: AtomicU64::new(0),
            seq: AtomicU32::new(0),
            parties: AtomicU32::new(parties),
            count: AtomicU32::new(0),
            state: AtomicI32::new(FILLING),
            broken_by: AtomicU32::new(0),
            has_action: AtomicU32::new(0),
            action: AtomicU64::new(0),
            action_layout: AtomicU64::new(0),
            action_tag: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

// SAFETY: atomics only; every value is checked before use (unknown states count as broken,
// the party count is validated against the data area when the segment is opened).
unsafe impl ShmState for BarrierState {
    const KIND: Kind = Kind::Barrier;
}

/// A synchronization point for a fixed number of processes: Python's
/// `multiprocessing.Barrier`.
///
/// Each party calls [`wait`](Barrier::wait); all return once the last has arrived, each with
/// a distinct index in `0..parties` (so exactly one gets 0). An optional action (a plain
/// `fn()`) runs once per round, in the last party to arrive, before the others are released.
///
/// ```
/// use mproc::{Barrier, Process};
/// use std::time::Duration;
///
/// fn party(b: Barrier) -> u32 {
///     b.wait_timeout(Duration::from_secs(10)).unwrap()
/// }
///
/// # fn main() -> mproc::Result<()> {
/// let b = Barrier::new(2)?;
/// let child = Process::new(party, b.clone()).start()?;
/// let mine = b.wait_timeout(Duration::from_secs(10))?;
/// assert_eq!(mine + child.join()?, 1); // indices 0 and 1
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Barrier {
    shm: ShmBox<BarrierState>,
    /// Read once (and validated) when the handle was made; the shared copy is not trusted.
    parties: u32,
}

impl Barrier {
    /// A barrier for `parties` processes (or threads).
    ///
    /// # Errors
    /// [`BarrierCreateError::InvalidParties`] for 0 (Python accepts it and hangs) or more
    /// than 65536; [`BarrierCreateError::Shm`] if the shared memory cannot be created.
    pub fn new(parties: u32) -> Result<Self, BarrierCreateError> {
        Self::create(parties, None)
    }

    /// A barrier whose `action` runs once per round, in the last party to arrive, before the
    /// parties are released. If it panics, that party gets
    /// [`BarrierError::ActionPanicked`] and the barrier breaks.
    ///
    /// The action is called only in processes of this program (those holding its authkey,
    /// see [`current_process`](crate::current_process)); anywhere else, and wherever the
    /// stored action was rewritten, the last party gets [`BarrierError::ActionRejected`].
    ///
    /// # Errors
    /// As [`new`](Barrier::new); [`BarrierCreateError::ActionNotInExecutable`] if `action` is not in
    /// the main executable (a spawned process could not call it).
    pub fn with_action(parties: u32, action: fn()) -> Result<Self, BarrierCreateError> {
        let (offset, layout) =
            codeptr::fn_to_offset(action).ok_or(BarrierCreateError::ActionNotInExecutable)?;
        let key = auth::program_key().map_err(ShmError::os("making the program authkey"))?;
        let tag = action_tag(key, offset, layout);
        Self::create(parties, Some((offset, layout, tag)))
    }

    fn create(
        parties: u32,
        action: Option<(i64, i64, auth::Tag)>,
    ) -> Result<Self, BarrierCreateError> {
        if parties == 0 || parties > MAX_PARTIES {
            return Err(BarrierCreateError::InvalidParties {
                parties: u64::from(parties),
                max: MAX_PARTIES,
            });
        }
        let slots = parties as usize * size_of::<AtomicU64>();
        let shm = ShmBox::create(0, slots, |s: &BarrierState, _| {
            s.parties.store(parties, Relaxed);
            if let Some((offset, layout, tag)) = action {
                s.has_action.store(1, Relaxed);
                s.action.store(offset.cast_unsigned(), Relaxed);
                s.action_layout.store(layout.cast_unsigned(), Relaxed);
                for (word, bytes) in s.action_tag.iter().zip(tag.chunks_exact(8)) {
                    let bytes = bytes.try_into().expect("invariant: chunks of 8");
                    word.store(u64::from_le_bytes(bytes), Relaxed);
                }
            }
        })?;
        Ok(Self { shm, parties })
    }

    fn state(&self) -> &BarrierState {
        self.shm.state()
    }

    #[allow(
        clippy::cast_ptr_alignment,
        reason = "the data area is 64-byte aligned"
    )]
    fn slots(&self) -> &[AtomicU64] {
        let first = self.shm.data().as_ptr().cast::<AtomicU64>();
        // SAFETY: the data area is 64-byte aligned and holds at least `parties` u64 slots
        // (made so, or checked when the segment was received); atomics may alias other
        // processes' writes.
        unsafe { std::slice::from_raw_parts(first, self.parties as usize) }
    }

    /// The number of parties.
    #[must_use]
    pub fn parties(&self) -> u32 {
        self.parties
    }

    /// The algorithm, over this barrier's shared state and slots.
    fn core(&self) -> Core<'_> {
        Core::new(self.state(), self.slots(), self.parties)
    }

    /// How many parties are waiting now.
    #[must_use]
    pub fn n_waiting(&self) -> u32 {
        self.core().n_waiting()
    }

    /// Whether the barrier is broken (until [`reset`](Barrier::reset)).
    #[must_use]
    pub fn is_broken(&self) -> bool {
        self.core().is_broken()
    }

    /// Waits for all parties; returns this party's arrival index.
    ///
    /// # Errors
    /// [`BarrierError::Broken`] if the barrier is or becomes broken (aborted, reset,
    /// another party timed out); [`BarrierError::PartyDied`] if a party died while waiting;
    /// [`BarrierError::ActionPanicked`] in the party whose action panicked.
    pub fn wait(&self) -> Result<u32, BarrierError> {
        self.core().wait_until::<Os>(None)
    }

    /// Like [`wait`](Barrier::wait), for at most `timeout`; a timeout breaks the barrier for
    /// every party (as in Python).
    ///
    /// # Errors
    /// [`BarrierError::Timeout`] for this party when it expires; otherwise as
    /// [`wait`](Barrier::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<u32, BarrierError> {
        self.core().wait_until::<Os>(deadline::after(timeout))
    }

    /// Breaks the barrier: current and future waiters get [`BarrierError::Broken`] until
    /// [`reset`](Barrier::reset).
    pub fn abort(&self) {
        self.core().abort::<Os>();
    }

    /// Returns the barrier to its initial state; parties waiting now get
    /// [`BarrierError::Broken`].
    pub fn reset(&self) {
        self.core().reset::<Os>();
    }
}

/// The fields an action's code covers.
fn action_fields(offset: i64, layout: i64) -> [[u8; 8]; 2] {
    [offset.to_le_bytes(), layout.to_le_bytes()]
}

fn action_tag(key: &[u8], offset: i64, layout: i64) -> auth::Tag {
    let [a, b] = action_fields(offset, layout);
    auth::mac(key, ACTION_DOMAIN, &[&a, &b])
}

shm_handle!(
    Barrier,
    debug_non_exhaustive {
        parties: parties,
        n_waiting: n_waiting,
        broken: is_broken
    }
);

impl Serialize for Barrier {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Barrier {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let shm: ShmBox<BarrierState> = ShmBox::deserialize(d, 0, "Barrier")?;
        let parties = shm.state().parties.load(Relaxed);
        let room = shm.data_len() / size_of::<AtomicU64>();
        if parties == 0 || parties > MAX_PARTIES || parties as usize > room {
            return Err(crate::codec::invalid_handle(format!(
                "a received barrier claims {parties} parties but has room for {room}"
            )));
        }
        Ok(Self { shm, parties })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{decode, encode};

    fn round_trip(b: &Barrier) -> Result<Barrier, crate::CodecError> {
        let enc = encode(b)?;
        decode(&enc.bytes, enc.fds)
    }

    /// A received barrier is trusted no further than its segment: a count of parties its
    /// slots cannot hold is refused (the slots would be read past their end), a count they
    /// hold exactly is taken.
    #[test]
    fn a_received_barrier_claiming_more_parties_than_it_has_slots_is_refused() {
        let b = Barrier::new(2).unwrap();
        let room = u32::try_from(b.shm.data_len() / size_of::<AtomicU64>()).unwrap();
        assert!((2..MAX_PARTIES).contains(&room));
        b.shm.state().parties.store(room + 1, Relaxed);
        assert!(matches!(
            round_trip(&b),
            Err(crate::CodecError::Deserialize { .. })
        ));
        b.shm.state().parties.store(room, Relaxed);
        assert_eq!(round_trip(&b).unwrap().parties(), room);
    }
}
