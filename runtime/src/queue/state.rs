//! The queue's shared state: one `#[repr(C)]` block of atomics in the segment, followed by the
//! ring of bytes.
//!
//! Fields are grouped by who writes and who reads them, one 64-byte line per group, so a
//! producer and a consumer running at the same time bounce as few cache lines as possible:
//! each side has a private line (its lock and its publication in progress), touched by the
//! other side only to repair after a death, and a published line (`tail` and `puts`, `head`
//! and `gets`) that the other side reads. A consumer waiting for data reads `tail` over and
//! over; were the producers' lock on that line, every `put` would have to win it back for its
//! lock, its stores and its unlock. Then come a rarely written line (capacity, limits, the
//! closed flag, the futex words) and the joinable queue's line.
//!
//! # The ring
//!
//! `head` and `tail` count bytes since creation (they never wrap; a `u64` of bytes outlives
//! the machine), and `position % capacity` indexes the ring. The ring holds records, each
//! 8-byte aligned: an 8-byte [`RecordHeader`] (payload length, kind) and the payload. Bytes in
//! `head..tail` belong to consumers, the rest to producers; a record becomes visible only when
//! `tail` is stored past it, after it was written completely.
//!
//! # The overflow
//!
//! An unbounded queue's records that do not fit in the ring go to its overflow file, in the
//! same format (without `Wrap` records: the file does not wrap), between `ovf_head` and
//! `ovf_tail`, which are file offsets and only grow, as `head` and `tail` do.

use super::super::sync::atomic::{AtomicU32, AtomicU64};
use crate::shm::segment::{Kind, ShmState};

/// The shared state of a queue.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct QueueState {
    // Producers' private line.
    /// The producers' lock (see `sync::raw_lock`).
    pub(crate) write_lock: AtomicU64,
    /// A publication in progress: `tail` and `puts` as they will be once stored (0: none).
    /// Armed only after the record is completely written, so a producer that takes the lock
    /// over from a dead one can finish the dead one's publication (see `ring`).
    pub(crate) pub_tail: AtomicU64,
    pub(crate) pub_puts: AtomicU64,
    /// Next sequence number of a message on the side socket.
    pub(crate) side_seq: AtomicU64,
    /// A publication in the overflow in progress: `ovf_tail` as it will be once stored, with
    /// `puts` in `pub_puts` (0: none). As `pub_tail`, for the overflow.
    pub(crate) pub_ovf: AtomicU64,
    _pad0: [u64; 3],

    // Producers' published line.
    /// Bytes published.
    pub(crate) tail: AtomicU64,
    /// Items published.
    pub(crate) puts: AtomicU64,
    /// Bytes published in the overflow (see `ring`'s "Overflow").
    pub(crate) ovf_tail: AtomicU64,
    _pad1: [u64; 5],

    // Consumers' private line.
    /// The consumers' lock.
    pub(crate) read_lock: AtomicU64,
    /// A commit in progress: `head` and `gets` as they will be (0: none), as `pub_tail`.
    pub(crate) com_head: AtomicU64,
    pub(crate) com_gets: AtomicU64,
    /// One more than the sequence number of the side message a consumer is about to take
    /// (0: none yet). A consumer that takes the lock over from a dead one finds here whether
    /// the dead one may have taken the message of the item at the head.
    pub(crate) side_taking: AtomicU64,
    /// A commit in the overflow in progress: `ovf_head` as it will be, with `gets` in
    /// `com_gets` (0: none). As `com_head`, for the overflow.
    pub(crate) com_ovf: AtomicU64,
    _pad2: [u64; 3],

    // Consumers' published line.
    /// Bytes consumed.
    pub(crate) head: AtomicU64,
    /// Items taken.
    pub(crate) gets: AtomicU64,
    /// Items marked done (`task_done`) in a joinable queue.
    pub(crate) done: AtomicU64,
    /// Bytes consumed in the overflow.
    pub(crate) ovf_head: AtomicU64,
    _pad3: [u64; 4],

    // Rarely written.
    /// Ring size in bytes (a power of two), fixed at creation.
    pub(crate) capacity: AtomicU64,
    /// The most items the queue holds (Python's `maxsize`); 0: no limit.
    pub(crate) maxsize: AtomicU64,
    /// 1 once closed.
    pub(crate) closed: AtomicU32,
    /// Bumped when data is published to a sleeping consumer (its futex word; bit 0: someone
    /// sleeps on it, see `ring::wait`).
    pub(crate) data_seq: AtomicU32,
    /// Bumped when space is freed for a sleeping producer (its futex word, as `data_seq`).
    pub(crate) space_seq: AtomicU32,
    _pad4: [u32; 9],

    // Joinable queues (unfinished items: `puts - done`).
    /// Bumped when every item put is done (the joiners' futex word, as `data_seq`).
    pub(crate) join_seq: AtomicU32,
    _pad5: [u32; 15],

    /// Who took how many items and marked how many done, one slot per process (see `ring`'s
    /// "Who took what"), each on its own line: a process counts on its own.
    pub(crate) consumers: [ConsumerSlot; CONSUMER_SLOTS],
}

/// How many processes a queue keeps counts for (later ones go uncounted).
pub(crate) const CONSUMER_SLOTS: usize = 16;

/// One process's counts of a queue's items.
#[repr(C, align(64))]
#[derive(Debug)]
pub(crate) struct ConsumerSlot {
    /// The process's lock identity (see `sys::owner`); 0: free.
    pub(crate) owner: AtomicU64,
    /// Items it took.
    pub(crate) taken: AtomicU64,
    /// Items it marked done.
    pub(crate) done: AtomicU64,
    _pad: [u64; 5],
}

impl ConsumerSlot {
    #[cfg(test)]
    fn on_heap() -> Self {
        Self {
            owner: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            done: AtomicU64::new(0),
            _pad: [0; 5],
        }
    }
}

impl QueueState {
    /// A state on the heap, for the tests and `loom` models of the ring (in shared memory the
    /// segment starts zero-filled and `Queue` sets the capacity and limit).
    #[cfg(test)]
    pub(crate) fn on_heap(capacity: u64, maxsize: u64) -> Self {
        let z64 = || AtomicU64::new(0);
        let z32 = || AtomicU32::new(0);
        Self {
            write_lock: z64(),
            pub_tail: z64(),
            pub_puts: z64(),
            side_seq: z64(),
            pub_ovf: z64(),
            _pad0: [0; 3],
            tail: z64(),
            puts: z64(),
            ovf_tail: z64(),
            _pad1: [0; 5],
            read_lock: z64(),
            com_head: z64(),
            com_gets: z64(),
            side_taking: z64(),
            com_ovf: z64(),
            _pad2: [0; 3],
            head: z64(),
            gets: z64(),
            done: z64(),
            ovf_head: z64(),
            _pad3: [0; 4],
            capacity: AtomicU64::new(capacity),
            maxsize: AtomicU64::new(maxsize),
            closed: z32(),
            data_seq: z32(),
            space_seq: z32(),
            _pad4: [0; 9],
            join_seq: z32(),
            _pad5: [0; 15],
            consumers: std::array::from_fn(|_| ConsumerSlot::on_heap()),
        }
    }
}

#[cfg(not(loom))]
const _: () = assert!(size_of::<QueueState>() == 384 + 64 * CONSUMER_SLOTS);
#[cfg(not(loom))]
const _: () = assert!(size_of::<ConsumerSlot>() == 64);
const _: () = assert!(align_of::<QueueState>() == 64);

// SAFETY: every field is an atomic integer or padding: valid for any bit pattern, and for
// shared access from several processes.
unsafe impl ShmState for QueueState {
    const KIND: Kind = Kind::Queue;
}

/// The kind of a record (the low byte of [`RecordHeader::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub(crate) enum RecordKind {
    /// An item.
    Data = 1,
    /// Padding to the end of the ring: the next record starts at position 0.
    Wrap = 2,
}

/// Set in [`RecordHeader::kind`] when a message on the side socket belongs to the item (its
/// descriptors, and maybe its bytes); the payload then starts with the message's sequence
/// number (`u64`).
pub(crate) const SIDE: u32 = 1 << 8;
/// Set with [`SIDE`] when the item's bytes travel in the side message, not in the ring (items
/// larger than half the ring).
pub(crate) const SPILLED: u32 = 1 << 9;

/// The 8 bytes before every record's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) len: u32,
    pub(crate) kind: u32,
}

/// Size of a record header.
pub(crate) const HEADER: u64 = 8;

impl RecordHeader {
    pub(crate) fn to_bytes(self) -> [u8; 8] {
        let mut out = [0; 8];
        out[..4].copy_from_slice(&self.len.to_le_bytes());
        out[4..].copy_from_slice(&self.kind.to_le_bytes());
        out
    }

    pub(crate) fn from_bytes(bytes: [u8; 8]) -> Self {
        Self {
            len: u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            kind: u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
        }
    }

    /// The record's kind, if it is one mproc writes (known kind, no unknown flag).
    pub(crate) fn record_kind(self) -> Option<RecordKind> {
        if self.kind & !(0xFF | SIDE | SPILLED) != 0 {
            return None;
        }
        match self.kind & 0xFF {
            1 => Some(RecordKind::Data),
            2 if self.kind == 2 => Some(RecordKind::Wrap),
            _ => None,
        }
    }
}

/// The bytes a record with `payload` bytes occupies (header included, 8-byte aligned).
pub(crate) fn record_size(payload: u64) -> u64 {
    (HEADER + payload).next_multiple_of(8)
}
