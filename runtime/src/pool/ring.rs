//! The task ring: chunks waiting for a worker, in shared memory, taken by whichever worker is
//! free (Python's model: work is pulled, not pushed).
//!
//! The pool's thread *publishes* chunks in submission order: entry `g` (a sequence number) in
//! slot `g % ENTRIES`, its arguments in the data area, then the count of published entries. A
//! free worker *claims* the lowest unclaimed entry with one compare-and-swap of the entry's
//! claim word, from "free" to its own id: so a slow task delays only itself, and tasks start in
//! submission order. The claim word is also the crash record: the worker that holds a chunk is
//! written in it atomically with the taking, so when a worker dies the pool knows exactly which
//! chunk it held (that one fails with `WorkerLost`); a chunk no worker claimed never fails.
//!
//! Once it has copied the arguments out, the worker marks its claim *copied*; the pool's thread
//! then moves the record of who holds the chunk into its own memory and reuses the slot and
//! its data. A chunk whose arguments carry descriptors (or do not fit the data area) is
//! published without data ("side"): the worker that claims it asks for it, and the pool's
//! thread sends it on that worker's own socket.
//!
//! # Claim word
//! `(g as u32) << 32 | id << 1 | copied`: id 0 means free. The sequence half makes a claim of a
//! slot reused for a later entry fail.
//!
//! # Untrusted shared memory
//! Any worker can write anything here. The pool's thread checks every word it reads: a claim
//! that does not name its own entry, or a worker the thread does not know, fails that chunk
//! only (as a protocol error). A worker checks the place of the arguments against the data
//! area before reading them.

use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::shm::{Kind, ShmBox, ShmError, ShmState};

/// Entries published and not yet copied out, at most.
pub(crate) const ENTRIES: usize = 4096;
/// The data area: the arguments of published chunks not yet copied out.
pub(crate) const DATA_BYTES: usize = 4 << 20;
/// Chunks larger than this travel on the worker's socket instead.
const INLINE_MAX: usize = DATA_BYTES / 4;
/// `place` of a chunk that travels on the claiming worker's socket.
const SIDE: u64 = u64::MAX;
const COPIED: u64 = 1;

/// One published chunk.
#[repr(C)]
pub(crate) struct Entry {
    claim: AtomicU64,
    /// The task's index in the table each worker was given on its own socket: code offsets
    /// never travel through memory every worker can write.
    task: AtomicU64,
    /// `offset << 32 | len` in the data area, or [`SIDE`].
    place: AtomicU64,
}

/// The shared state.
#[repr(C)]
pub(crate) struct RingState {
    /// How many entries were ever published.
    published: AtomicU64,
    /// Every entry below this one is claimed (a hint that spares workers a scan).
    next: AtomicU64,
    entries: [Entry; ENTRIES],
}

// SAFETY: `#[repr(C)]`, only atomics, valid zero-filled and for any bits (every word is
// checked before use), 8-byte aligned.
unsafe impl ShmState for RingState {
    const KIND: Kind = Kind::PoolTasks;
}

/// A handle to the ring, shared by the pool's thread and its workers.
#[derive(Clone)]
pub(crate) struct Ring {
    shm: ShmBox<RingState>,
}

/// A chunk a worker claimed.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) entry: u64,
    /// The task's index in the worker's table.
    pub(crate) task: u64,
    /// Where its arguments are.
    pub(crate) args: Args,
}

/// Where a claimed chunk's arguments are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Args {
    /// Copied out of the ring, into the buffer given to [`Ring::take`].
    Copied,
    /// They come on the worker's socket.
    Side,
    /// The entry's place lies outside the data area: nothing was copied.
    Garbled,
}

/// Who holds a published entry, as its claim word says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holder {
    /// Nobody yet.
    Free,
    /// Worker `id`; `copied` once its arguments are out of the ring.
    Worker { id: u32, copied: bool },
    /// The word does not name this entry: written by something else than a worker's code.
    Garbled,
}

fn seq_bits(entry: u64) -> u64 {
    (entry & 0xFFFF_FFFF) << 32
}

impl Ring {
    pub(crate) fn new() -> Result<Self, ShmError> {
        Ok(Self {
            shm: ShmBox::create(0, DATA_BYTES, |_, _| {})?,
        })
    }

    fn state(&self) -> &RingState {
        self.shm.state()
    }

    fn slot(&self, entry: u64) -> &Entry {
        &self.state().entries[usize::try_from(entry % ENTRIES as u64).unwrap_or(0)]
    }

    /// Whether arguments of `len` bytes go in the data area (else on the worker's socket).
    pub(crate) fn fits_inline(len: usize) -> bool {
        len <= INLINE_MAX
    }

    // ------------------------------------------------------------------------------------
    // The pool's thread.

    /// Writes entry `entry` (the next one) and publishes it. `data` is where its arguments
    /// were copied with [`write_data`](Self::write_data), `None` for a side chunk.
    pub(crate) fn publish(&self, entry: u64, task: u32, data: Option<(u32, u32)>) {
        let slot = self.slot(entry);
        slot.task.store(u64::from(task), Relaxed);
        let place = data.map_or(SIDE, |(at, len)| (u64::from(at) << 32) | u64::from(len));
        slot.place.store(place, Relaxed);
        slot.claim.store(seq_bits(entry), Relaxed);
        self.state().published.store(entry + 1, Release);
    }

    /// Copies `bytes` into the data area at `at` (which the caller reserved: no worker reads
    /// it until the entry naming it is published, and no entry published names it any more).
    pub(crate) fn write_data(&self, at: u32, bytes: &[u8]) {
        let at = at as usize;
        assert!(
            at.saturating_add(bytes.len()) <= self.shm.data_len(),
            "invariant: the allocator stays inside the data area"
        );
        // SAFETY: the range is inside the data area (checked above), which the mapping keeps
        // valid while `self` lives; by the allocator's contract no process reads or writes it
        // meanwhile; `bytes` is local memory, so the ranges do not overlap.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.shm.data().as_ptr().add(at),
                bytes.len(),
            );
        }
    }

    /// Who holds published entry `entry`.
    pub(crate) fn holder(&self, entry: u64) -> Holder {
        let claim = self.slot(entry).claim.load(Acquire);
        if claim & !0xFFFF_FFFF != seq_bits(entry) {
            return Holder::Garbled;
        }
        let low = claim & 0xFFFF_FFFF;
        match u32::try_from(low >> 1) {
            Ok(0) if low == 0 => Holder::Free,
            Ok(id) if id != 0 => Holder::Worker {
                id,
                copied: low & COPIED != 0,
            },
            _ => Holder::Garbled,
        }
    }

    // ------------------------------------------------------------------------------------
    // A worker.

    /// Whether entries may wait unclaimed (a worker checks this after arming its bell).
    pub(crate) fn has_work(&self) -> bool {
        let st = self.state();
        st.published.load(Acquire) > st.next.load(Relaxed)
    }

    /// Claims the lowest unclaimed entry for worker `id`, copies its arguments out into `into`
    /// (replacing what it held; its allocation is reused) and marks the claim copied; `None`
    /// if every published entry is claimed.
    pub(crate) fn take(&self, id: u32, into: &mut Vec<u8>) -> Option<Claimed> {
        let st = self.state();
        let published = st.published.load(Acquire);
        // A garbled hint costs at most a scan of the ring, never more.
        let mut entry = st
            .next
            .load(Relaxed)
            .max(published.saturating_sub(ENTRIES as u64));
        while entry < published {
            let slot = self.slot(entry);
            let free = seq_bits(entry);
            let mine = free | (u64::from(id) << 1);
            let won = slot
                .claim
                .compare_exchange(free, mine, AcqRel, Relaxed)
                .is_ok();
            st.next.fetch_max(entry + 1, Relaxed);
            if won {
                let claimed = Claimed {
                    entry,
                    task: slot.task.load(Relaxed),
                    args: self.copy_args(slot, into),
                };
                slot.claim.store(mine | COPIED, Release);
                return Some(claimed);
            }
            entry += 1;
        }
        None
    }

    /// Copies the arguments of a claimed entry into `into`.
    fn copy_args(&self, slot: &Entry, into: &mut Vec<u8>) -> Args {
        let place = slot.place.load(Relaxed);
        if place == SIDE {
            return Args::Side;
        }
        let (at, len) = ((place >> 32) as usize, (place & 0xFFFF_FFFF) as usize);
        if at.saturating_add(len) > self.shm.data_len() {
            return Args::Garbled;
        }
        into.clear();
        into.reserve(len);
        // SAFETY: the range lies in the data area (checked above), valid while `self` lives;
        // the pool's thread wrote it before publishing the entry (this thread's acquire load
        // of the count saw that) and reuses it only after this claim is marked copied. `into`
        // has room for `len` bytes (reserved above), and they are initialized by the copy
        // before the length covers them.
        unsafe {
            std::ptr::copy_nonoverlapping(self.shm.data().as_ptr().add(at), into.as_mut_ptr(), len);
            into.set_len(len);
        }
        Args::Copied
    }
}

#[cfg(test)]
impl Ring {
    /// Writes slot `slot` as a hostile worker could.
    pub(crate) fn scribble(&self, slot: usize, claim: u64, task: u64, place: u64) {
        let e = &self.state().entries[slot % ENTRIES];
        e.claim.store(claim, Relaxed);
        e.task.store(task, Relaxed);
        e.place.store(place, Relaxed);
    }

    /// Writes the counts as a hostile worker could.
    pub(crate) fn scribble_counts(&self, published: u64, next: u64) {
        self.state().published.store(published, Relaxed);
        self.state().next.store(next, Relaxed);
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").finish_non_exhaustive()
    }
}

impl Serialize for Ring {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shm.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ring {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self {
            shm: ShmBox::deserialize(d, 0, "pool task ring")?,
        })
    }
}

/// The pool thread's bookkeeping of the data area: a byte ring, allocated at the head in
/// publication order and freed at the tail as entries are copied out.
#[derive(Debug, Default)]
pub(crate) struct DataSpace {
    head: u64,
    tail: u64,
}

impl DataSpace {
    /// Reserves `len` contiguous bytes: their offset and the head after them (to free up to,
    /// once copied), or `None` if there is no room now.
    pub(crate) fn reserve(&mut self, len: usize) -> Option<(u32, u64)> {
        let size = DATA_BYTES as u64;
        let len = len as u64;
        let pos = self.head % size;
        // Never split a record: skip to the start when it would wrap.
        let start = if pos + len > size {
            self.head + (size - pos)
        } else {
            self.head
        };
        if start + len - self.tail > size {
            return None;
        }
        self.head = start + len;
        Some((u32::try_from(start % size).ok()?, self.head))
    }

    /// Frees everything up to `end` (a head returned by `reserve`).
    pub(crate) fn free_to(&mut self, end: u64) {
        self.tail = self.tail.max(end);
    }
}

#[cfg(test)]
mod tests {
    use super::{Args, DATA_BYTES, DataSpace, Holder, Ring};

    #[test]
    fn workers_claim_in_order_and_the_claim_names_them() {
        let ring = Ring::new().unwrap();
        let mut space = DataSpace::default();
        for (g, bytes) in (0u64..).zip([b"ab".as_slice(), b"cde"]) {
            let (at, _) = space.reserve(bytes.len()).unwrap();
            ring.write_data(at, bytes);
            let len = u32::try_from(bytes.len()).unwrap();
            ring.publish(g, 3, Some((at, len)));
        }
        ring.publish(2, 3, None);
        assert_eq!(ring.holder(0), Holder::Free);
        let mut buf = b"stale".to_vec();
        let first = ring.take(5, &mut buf).unwrap();
        assert_eq!((first.entry, first.task, first.args), (0, 3, Args::Copied));
        assert_eq!(buf, b"ab");
        let second = ring.take(6, &mut buf).unwrap();
        assert_eq!(second.args, Args::Copied);
        assert_eq!(buf, b"cde");
        let side = ring.take(5, &mut buf).unwrap();
        assert_eq!(side.args, Args::Side);
        assert!(ring.take(5, &mut buf).is_none());
        assert!(!ring.has_work());
        assert_eq!(
            ring.holder(0),
            Holder::Worker {
                id: 5,
                copied: true
            }
        );
        assert_eq!(
            ring.holder(1),
            Holder::Worker {
                id: 6,
                copied: true
            }
        );
    }

    #[test]
    fn the_data_space_never_splits_a_record_and_stays_bounded() {
        let mut space = DataSpace::default();
        let (a, end_a) = space.reserve(DATA_BYTES - 10).unwrap();
        assert_eq!(a, 0);
        assert!(space.reserve(20).is_none(), "full");
        space.free_to(end_a);
        let (b, _) = space.reserve(20).unwrap();
        assert_eq!(b, 0, "wrapped to the start rather than split");
    }

    #[test]
    fn arguments_ending_at_the_end_of_the_data_area_are_copied() {
        let ring = Ring::new().unwrap();
        let at = u32::try_from(DATA_BYTES - 2).unwrap();
        ring.write_data(at, b"xy");
        ring.publish(0, 0, Some((at, 2)));
        let mut buf = Vec::new();
        let claimed = ring.take(1, &mut buf).unwrap();
        assert_eq!(claimed.args, Args::Copied);
        assert_eq!(buf, b"xy");
    }

    #[test]
    fn a_garbled_claim_or_place_is_detected() {
        let ring = Ring::new().unwrap();
        ring.publish(0, 0, Some((u32::MAX, 8)));
        let claimed = ring.take(1, &mut Vec::new()).unwrap();
        assert_eq!(claimed.args, Args::Garbled, "a place outside the data area");
        ring.state().entries[0]
            .claim
            .store(u64::MAX, std::sync::atomic::Ordering::Relaxed);
        assert_eq!(ring.holder(0), Holder::Garbled);
    }
}
