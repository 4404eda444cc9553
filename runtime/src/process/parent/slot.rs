//! Result slots: a forked child leaves its outcome in memory it shares with its parent.
//!
//! Before a `Fork` start the parent takes a slot: 4 KiB in an arena of 64, mapped
//! `MAP_SHARED | MAP_ANONYMOUS` once and kept for the life of the process. The child writes
//! its outcome message (the tag and body a result socket would carry) into the slot and then
//! marks it written with a release store; the parent reads it once the child has ended. Neither
//! side makes a system call for it, and there is no socket to create and tear down per child.
//! An outcome that does not fit, or that carries descriptors, travels on a connection of its
//! own to the parent's overflow listener (see [`crate::process::parent::overflow`]); the slot then says so, and
//! the parent looks the delivery up by the ticket it drew for that child (kept in its own
//! memory, never read back from the slot).
//!
//! # Trust
//! The slot path is not authenticated, and need not be: the arenas are anonymous
//! (`MAP_SHARED | MAP_ANONYMOUS`), with no name in any file system or namespace, so the only
//! processes that can reach them are this process and the processes forked from it after the
//! arena was mapped (and their own forks) — its own program tree, which the trust model
//! trusts. Another process cannot map them, and can read or write them only with `ptrace`
//! rights over this process (`/proc/<pid>/mem`), which already give it everything. Still,
//! what the parent reads there is treated as untrusted bytes: the header is checked (a length
//! beyond the slot or an unknown state is [`Filled::Corrupt`], never an out-of-bounds read or
//! an allocation of its size), the body is decoded with typed errors, and no descriptor can
//! travel through a slot.
//!
//! A slot stays taken until its child has been reaped: it belongs to the child's
//! `ChildEntry`, which the registry keeps until then. A forked child starts with no slots of
//! its own; the arenas it inherited stay mapped and untouched (except its own slot, which it
//! writes).

use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::process::parent::overflow::{Listener, Secret};
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};
use crate::sys::mman::Mapping;

/// Bytes per slot.
const SLOT_LEN: usize = 4096;
/// Slots per arena.
const SLOTS_PER_ARENA: usize = 64;
/// The largest outcome message a slot holds.
pub(crate) const CAPACITY: usize = SLOT_LEN - size_of::<SlotHeader>();

/// The start of every slot; the payload follows it.
#[repr(C)]
struct SlotHeader {
    /// [`EMPTY`], [`WRITTEN`] or [`ELSEWHERE`]; set by the child with a release store once the
    /// rest is written, and taken by the parent with an acquire swap.
    state: AtomicU32,
    /// The payload's length (meaningful once `state` is `WRITTEN`; checked when read).
    len: AtomicU32,
    /// Unused: keeps the payload 16-byte aligned.
    _reserved: [u32; 2],
}

const _: () = {
    assert!(size_of::<SlotHeader>() == 16);
    assert!(std::mem::offset_of!(SlotHeader, state) == 0);
    assert!(std::mem::offset_of!(SlotHeader, len) == 4);
    // Slots start page aligned (see `Slot::take`), which suits any header alignment up to this.
    assert!(align_of::<SlotHeader>() <= 4096 && SLOT_LEN.is_multiple_of(4096));
};

/// Nothing written: the child has not reported (yet, or ever).
const EMPTY: u32 = 0;
/// The payload holds the outcome message.
const WRITTEN: u32 = 1;
/// The outcome went to the overflow listener under this slot's ticket.
const ELSEWHERE: u32 = 2;

/// The start of one slot inside an arena that is never unmapped in this process.
#[derive(Clone, Copy, Debug)]
struct SlotPtr(NonNull<u8>);

// SAFETY: the pointer names shared memory that lives as long as the process (arenas are never
// unmapped); who may touch a slot is decided by the allocator below, not by the thread.
unsafe impl Send for SlotPtr {}
// SAFETY: through a shared reference the header is only accessed atomically, and the payload
// is written only by the child and read by the parent after that child has ended.
unsafe impl Sync for SlotPtr {}

impl SlotPtr {
    fn header(&self) -> &SlotHeader {
        // SAFETY: slots are page aligned and longer than a header; the mapping lives as long as
        // the process, and the header is made of atomics only (any bytes are valid), only ever
        // accessed atomically through this shared reference.
        unsafe { self.0.cast::<SlotHeader>().as_ref() }
    }

    fn state(&self) -> &AtomicU32 {
        &self.header().state
    }

    fn len(&self) -> &AtomicU32 {
        &self.header().len
    }

    fn payload(&self) -> *mut u8 {
        // SAFETY: the payload starts right after the header, inside the slot.
        unsafe { self.0.add(size_of::<SlotHeader>()).as_ptr() }
    }
}

/// This process's arenas and free slots, and its overflow listener: one lock, so that a fork
/// holds and the child resets a single piece of state.
struct Slots {
    arenas: Vec<Mapping>,
    free: Vec<SlotPtr>,
    /// Changes in a forked child, so that a slot of the parent's dropped there is not reused.
    epoch: u32,
    overflow: Option<Listener>,
}

static SLOTS: Mutex<Slots> = Mutex::new(Slots {
    arenas: Vec::new(),
    free: Vec::new(),
    epoch: 0,
    overflow: None,
});

fn lock() -> MutexGuard<'static, Slots> {
    SLOTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` on this process's overflow listener state (see [`crate::process::parent::overflow`]).
pub(crate) fn with_overflow<T>(f: impl FnOnce(&mut Option<Listener>) -> T) -> T {
    f(&mut lock().overflow)
}

/// A slot taken for one forked child, owned by the parent's record of that child.
pub(crate) struct Slot {
    at: SlotPtr,
    epoch: u32,
    /// Names the child's delivery to the overflow listener.
    ticket: u64,
    /// Proves the delivery (see [`crate::process::parent::overflow`]); known to the parent and this child only.
    secret: Secret,
}

impl std::fmt::Debug for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slot")
            .field("at", &self.at)
            .field("ticket", &self.ticket)
            .finish_non_exhaustive()
    }
}

/// What a child left in its slot.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Filled {
    /// Nothing: it ended before reporting.
    Empty,
    /// This outcome message.
    Written(Vec<u8>),
    /// Its outcome is at the overflow listener, under the slot's ticket.
    Elsewhere,
    /// The header claims a payload longer than a slot holds (the memory was overwritten).
    BadLength(usize),
    /// The header's state is none of the known ones (the memory was overwritten).
    BadState(u32),
}

impl Slot {
    /// Takes a free slot (mapping a new arena when none is free), empty, with a new random
    /// ticket and secret for its child's delivery to the overflow listener (opened now if this
    /// process has none yet), which expects that delivery from now on.
    ///
    /// # Errors
    /// The OS error of mapping an arena, opening the listener or drawing random bytes.
    pub(crate) fn take() -> io::Result<Self> {
        let mut slots = lock();
        let (ticket, secret) = Listener::open(&mut slots.overflow)?.expect()?;
        if slots.free.is_empty() {
            let arena = Mapping::anonymous(SLOT_LEN * SLOTS_PER_ARENA)?;
            let base = arena.ptr();
            // SAFETY: every offset is inside the arena just mapped.
            slots.free.extend(
                (0..SLOTS_PER_ARENA)
                    .rev()
                    .map(|i| SlotPtr(unsafe { base.add(i * SLOT_LEN) })),
            );
            slots.arenas.push(arena);
        }
        let epoch = slots.epoch;
        let at = slots
            .free
            .pop()
            .ok_or_else(|| io::Error::other("no slot"))?;
        drop(slots);
        at.len().store(0, Ordering::Relaxed);
        at.state().store(EMPTY, Ordering::Relaxed);
        Ok(Self {
            at,
            epoch,
            ticket,
            secret,
        })
    }

    /// The child's side of this slot (to be used only by the child forked for it).
    pub(crate) fn writer(&self) -> SlotWriter {
        SlotWriter {
            at: self.at,
            ticket: self.ticket,
            secret: self.secret,
        }
    }

    /// The ticket of this slot's delivery to the overflow listener.
    pub(crate) fn ticket(&self) -> u64 {
        self.ticket
    }

    /// What the child left, once it has ended. Reading consumes it: a second read is `Empty`.
    pub(crate) fn read(&self) -> Filled {
        let state = self.at.state().swap(EMPTY, Ordering::Acquire);
        match state {
            EMPTY => Filled::Empty,
            WRITTEN => {
                let len = self.at.len().load(Ordering::Relaxed) as usize;
                if len > CAPACITY {
                    return Filled::BadLength(len);
                }
                let mut payload = vec![0; len];
                // SAFETY: `len` bytes of payload lie inside the slot; the child that wrote them
                // has ended, and no other process writes this slot while it is taken.
                unsafe {
                    std::ptr::copy_nonoverlapping(self.at.payload(), payload.as_mut_ptr(), len);
                }
                Filled::Written(payload)
            }
            ELSEWHERE => Filled::Elsewhere,
            other => Filled::BadState(other),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut slots = lock();
        if slots.epoch != self.epoch {
            // A forked child dropping its parent's record: the slot is not ours.
            return;
        }
        // Delivered but never read, or never delivered: the listener must neither keep the
        // delivery nor wait for one under this ticket any more.
        if let Some(listener) = &mut slots.overflow {
            listener.forget(self.ticket);
        }
        self.secret.fill(0);
        slots.free.push(self.at);
    }
}

/// A forked child's view of its slot.
#[derive(Clone, Copy)]
pub(crate) struct SlotWriter {
    at: SlotPtr,
    ticket: u64,
    secret: Secret,
}

impl std::fmt::Debug for SlotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotWriter")
            .field("at", &self.at)
            .field("ticket", &self.ticket)
            .finish_non_exhaustive()
    }
}

impl SlotWriter {
    /// Writes the concatenation of `parts` as the outcome message; `false` (writing nothing)
    /// if it does not fit.
    pub(crate) fn write(&self, parts: &[&[u8]]) -> bool {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > CAPACITY {
            return false;
        }
        let mut at = self.at.payload();
        for part in parts {
            // SAFETY: the parts add up to at most `CAPACITY` bytes, which lie inside the slot;
            // only this child writes the slot until it ends.
            unsafe {
                std::ptr::copy_nonoverlapping(part.as_ptr(), at, part.len());
                at = at.add(part.len());
            }
        }
        // At most `CAPACITY`, which fits.
        #[allow(clippy::cast_possible_truncation)]
        self.at.len().store(len as u32, Ordering::Relaxed);
        self.at.state().store(WRITTEN, Ordering::Release);
        true
    }

    /// The ticket under which an outcome sent to the overflow listener is found.
    pub(crate) fn ticket(&self) -> u64 {
        self.ticket
    }

    /// The secret that proves this child's delivery to the overflow listener.
    pub(crate) fn secret(&self) -> &Secret {
        &self.secret
    }

    /// Says the outcome was delivered to the overflow listener (call after it was sent).
    pub(crate) fn mark_elsewhere(&self) {
        self.at.state().store(ELSEWHERE, Ordering::Release);
    }
}

/// The slot table (and overflow listener), held across `fork` so the child never inherits it
/// locked.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::SLOTS")],
    prepare: || Ok(Some(Box::new(ForkGuard(Some(lock()))))),
};

/// The slots' lock (taken out in the child to be released).
struct ForkGuard(Option<MutexGuard<'static, Slots>>);

impl Held for ForkGuard {
    fn in_parent(self: Box<Self>, _: &mut ForkContext) {}

    /// The parent's slots are not this process's to hand out, nor its listener and
    /// deliveries. All is forgotten, not freed or closed (that would cost system calls and page
    /// faults for nothing; the child's exit closes its copies): the arenas stay mapped, slots
    /// of the parent's dropped here are not taken back, and the child opens a listener of its
    /// own if it forks children.
    fn in_child(&mut self, _: &mut ForkContext) {
        let Some(mut slots) = self.0.take() else {
            return;
        };
        std::mem::forget(std::mem::take(&mut slots.arenas));
        std::mem::forget(std::mem::take(&mut slots.free));
        std::mem::forget(slots.overflow.take());
        slots.epoch = slots.epoch.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_outcome_is_read_once() {
        let slot = Slot::take().unwrap();
        assert_eq!(slot.read(), Filled::Empty);
        assert!(slot.writer().write(&[&[7], b"abc"]));
        assert_eq!(slot.read(), Filled::Written(vec![7, b'a', b'b', b'c']));
        assert_eq!(slot.read(), Filled::Empty);
    }

    #[test]
    fn an_outcome_too_large_is_not_written() {
        let slot = Slot::take().unwrap();
        let big = vec![1; CAPACITY];
        assert!(!slot.writer().write(&[&[0], &big]));
        assert_eq!(slot.read(), Filled::Empty);
        assert!(slot.writer().write(&[&big]));
        assert_eq!(slot.read(), Filled::Written(big));
    }

    #[test]
    fn a_garbled_header_is_reported_not_trusted() {
        let slot = Slot::take().unwrap();
        slot.at.len().store(u32::MAX, Ordering::Relaxed);
        slot.at.state().store(WRITTEN, Ordering::Relaxed);
        assert_eq!(slot.read(), Filled::BadLength(u32::MAX as usize));
        slot.at.state().store(99, Ordering::Relaxed);
        assert_eq!(slot.read(), Filled::BadState(99));
    }

    #[test]
    fn slots_are_reused_and_tickets_are_not() {
        let many: Vec<Slot> = (0..SLOTS_PER_ARENA + 3)
            .map(|_| Slot::take().unwrap())
            .collect();
        let mut tickets: Vec<u64> = many.iter().map(|s| s.writer().ticket()).collect();
        tickets.sort_unstable();
        tickets.dedup();
        assert_eq!(tickets.len(), many.len());
        drop(many);
        let again = Slot::take().unwrap();
        assert!(!tickets.contains(&again.writer().ticket()));
    }
}
