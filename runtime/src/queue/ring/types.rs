//! What the ring works on and hands out: its bytes ([`Bytes`]), what a `put` writes, what a
//! `get` returns, and why either did not happen.

/// The ring's bytes.
pub(crate) trait Bytes {
    /// Copies `src` into the ring at offset `at`.
    ///
    /// # Safety
    /// `at..at + src.len()` must lie within the ring and belong to the caller under the
    /// protocol (a producer's unpublished space).
    unsafe fn write(&self, at: u64, src: &[u8]);

    /// Calls `f` with the ring's bytes `at..at + len`.
    ///
    /// # Safety
    /// `at..at + len` must lie within the ring and belong to the caller (a consumer's
    /// published, uncommitted record).
    unsafe fn read<R>(&self, at: u64, len: u64, f: impl FnOnce(&[u8]) -> R) -> R;

    /// Calls `f` to fill the ring's bytes `at..at + len` (a loan: by default through a copy,
    /// which stores whose bytes can be lent in place override).
    ///
    /// # Safety
    /// As [`write`](Bytes::write).
    unsafe fn fill(&self, at: u64, len: u64, f: &mut dyn FnMut(&mut [u8])) {
        let mut buf = vec![0; usize::try_from(len).unwrap_or(0)];
        f(&mut buf);
        // SAFETY: the caller's guarantees for `at..at + len` are `write`'s.
        unsafe { self.write(at, &buf) };
    }

    /// Whether there is an overflow (see "Overflow"); without one, an unbounded queue waits
    /// for room in the ring as a bounded one does.
    fn has_overflow(&self) -> bool {
        false
    }

    /// Writes `parts`, concatenated, at position `at` of the overflow.
    ///
    /// # Errors
    /// The overflow could not take them (no overflow, no memory).
    fn overflow_write(&self, at: u64, parts: &[&[u8]]) -> std::io::Result<()> {
        let _ = (at, parts);
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// Reads `len` bytes at position `at` of the overflow.
    ///
    /// # Errors
    /// They are not all there (or no memory backs them).
    fn overflow_read(&self, at: u64, len: u64) -> std::io::Result<Vec<u8>> {
        let _ = (at, len);
        Err(std::io::ErrorKind::Unsupported.into())
    }

    /// Consumers moved from `from` to `to` in the overflow: the memory behind what they
    /// passed may be returned.
    fn overflow_release(&self, from: u64, to: u64) {
        let _ = (from, to);
    }
}

/// What a `put` writes.
pub(crate) enum Body<'p, E> {
    /// The item's bytes, in the ring.
    Plain(&'p [u8]),
    /// The item's bytes in the ring, and a side message sent by the hook (given the
    /// message's sequence number) before the record is published.
    WithSide(&'p [u8], &'p mut dyn FnMut(u64) -> Result<(), E>),
    /// Only the side message: the item's bytes travel in it.
    Spilled(&'p mut dyn FnMut(u64) -> Result<(), E>),
    /// The item's bytes, larger than the ring takes, in the overflow (unbounded queues only:
    /// `PutFail::TooLarge` otherwise). No side message, so no limit on how many wait.
    Large(&'p [u8]),
    /// An item of `len` bytes that the closure writes in place, straight into the ring
    /// (a loan: see `Queue::put_with`). No side message.
    Fill(u64, &'p mut dyn FnMut(&mut [u8])),
}

/// Why a `put` did not happen.
#[derive(Debug)]
pub(crate) enum PutFail<E> {
    /// No room (or no item slot) before the deadline.
    Full,
    /// The queue is closed.
    Closed,
    /// The record would take more than half the ring (the caller spills such items).
    TooLarge,
    /// The side hook failed.
    Side(E),
    /// The overflow could not take the record.
    Overflow(std::io::Error),
    /// The ring's indices or counters hold values mproc never writes (another process
    /// scribbled on the shared state): nothing was written or published.
    Corrupt,
}

/// Why a `get` returned no item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetFail {
    /// Nothing came before the deadline.
    Empty,
    /// The queue is closed and drained.
    Closed,
    /// A record that mproc does not write: the queue's memory was corrupted. Every item in the
    /// ring was discarded.
    Corrupt,
}

/// An item as read: its bytes in the ring and its side message, if it has one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'b> {
    pub(crate) bytes: &'b [u8],
    pub(crate) side: Option<SideRef>,
}

/// The side message that belongs to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SideRef {
    /// Its sequence number.
    pub(crate) seq: u64,
    /// The item's bytes are in the message, not in the ring.
    pub(crate) spilled: bool,
    /// A consumer that died may have taken the message already: check it is still there.
    pub(crate) maybe_taken: bool,
}
