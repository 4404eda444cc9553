//! The side tables of descriptors: where [`serialize_fd`](super::serialize_fd) puts the
//! descriptors of the handles in a value being encoded, and where
//! [`deserialize_fd`](super::deserialize_fd) finds them while a value is decoded.
//!
//! Each thread has one table per direction, and a *base*: where the innermost encoding (or
//! decoding) in progress starts in it. Entering a scope only records the table's length as
//! the new base; encodings nested in a `Serialize` impl stack after their parent's entries.
//! Nothing moves in or out of the thread-locals per value, which keeps the cost of a scope to
//! a few loads and stores: it is paid on every item through a queue or pipe.
//!
//! A scope also keeps the first failure reason of its values' handles (serde formats keep
//! only a generic message for custom errors).

use std::cell::{Cell, RefCell};
use std::os::fd::{BorrowedFd, OwnedFd};

use super::MAX_HANDLES;
use crate::sys;

/// The base outside any scope.
const NONE: usize = usize::MAX;

/// Handles met outside mproc's own encoding.
pub(super) const OUTSIDE_MPROC: &str = "an mproc handle can only be sent through mproc \
     (a process or task argument, a pipe or a queue)";

thread_local! {
    static SER_FDS: RefCell<Vec<OwnedFd>> = const { RefCell::new(Vec::new()) };
    static SER_BASE: Cell<usize> = const { Cell::new(NONE) };
    static SER_REASON: RefCell<Option<String>> = const { RefCell::new(None) };
    static DE_FDS: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
    static DE_BASE: Cell<usize> = const { Cell::new(NONE) };
    static DE_REASON: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// An encoding in progress on this thread; restores the enclosing one when left or dropped
/// (also during a panic).
pub(super) struct SerScope {
    base: usize,
    outer_base: usize,
    outer_reason: Option<String>,
}

impl SerScope {
    pub(super) fn enter() -> Self {
        let base = SER_FDS.with(|t| t.borrow().len());
        Self {
            base,
            outer_base: SER_BASE.replace(base),
            outer_reason: SER_REASON.take(),
        }
    }

    /// Ends the scope: appends the descriptors collected to `into`, and returns the first
    /// failure reason recorded.
    pub(super) fn leave(self, into: &mut Vec<OwnedFd>) -> Option<String> {
        SER_FDS.with(|t| {
            let mut t = t.borrow_mut();
            if t.len() > self.base {
                into.extend(t.drain(self.base..));
            }
        });
        SER_REASON.take()
        // `drop` restores the enclosing scope.
    }
}

impl Drop for SerScope {
    fn drop(&mut self) {
        SER_FDS.with(|t| t.borrow_mut().truncate(self.base));
        SER_BASE.set(self.outer_base);
        SER_REASON.set(self.outer_reason.take());
    }
}

/// Duplicates `fd` into the current encoding's table; returns its index there.
pub(super) fn attach(fd: BorrowedFd<'_>) -> Result<u32, String> {
    let base = SER_BASE.get();
    if base == NONE {
        return Err(note_ser_failure(OUTSIDE_MPROC.to_owned()));
    }
    let index = SER_FDS.with(|t| t.borrow().len()) - base;
    if index >= MAX_HANDLES {
        return Err(note_ser_failure(format!(
            "more than {MAX_HANDLES} handles in one value"
        )));
    }
    let dup = sys::fd::dup_cloexec(fd)
        .map_err(|e| note_ser_failure(format!("cannot duplicate a handle: {e}")))?;
    SER_FDS.with(|t| t.borrow_mut().push(dup));
    u32::try_from(index).map_err(|_| note_ser_failure("handle index overflow".to_owned()))
}

/// Records `reason` as the current encoding's failure (if it is the first); returns it.
fn note_ser_failure(reason: String) -> String {
    if SER_BASE.get() != NONE {
        SER_REASON.with(|r| {
            r.borrow_mut().get_or_insert_with(|| reason.clone());
        });
    }
    reason
}

/// A decoding in progress on this thread, the counterpart of [`SerScope`].
pub(super) struct DeScope {
    base: usize,
    outer_base: usize,
    outer_reason: Option<String>,
}

impl DeScope {
    /// Makes `fds` the table of the value about to be decoded.
    pub(super) fn enter(fds: Vec<OwnedFd>) -> Self {
        let base = DE_FDS.with(|t| {
            let mut t = t.borrow_mut();
            let base = t.len();
            t.extend(fds.into_iter().map(Some));
            base
        });
        Self {
            base,
            outer_base: DE_BASE.replace(base),
            outer_reason: DE_REASON.take(),
        }
    }

    /// Ends the scope (closing the descriptors no handle took); returns the first failure
    /// reason recorded.
    pub(super) fn leave(self) -> Option<String> {
        let reason = DE_REASON.take();
        drop(self); // restores the enclosing scope
        reason
    }
}

impl Drop for DeScope {
    fn drop(&mut self) {
        DE_FDS.with(|t| t.borrow_mut().truncate(self.base));
        DE_BASE.set(self.outer_base);
        DE_REASON.set(self.outer_reason.take());
    }
}

/// Takes descriptor `index` of the current decoding's table.
pub(super) fn take(index: u32) -> Result<OwnedFd, String> {
    let base = DE_BASE.get();
    if base == NONE {
        return Err(OUTSIDE_MPROC.to_owned());
    }
    let taken = DE_FDS.with(|t| {
        usize::try_from(index)
            .ok()
            .and_then(|i| base.checked_add(i))
            .and_then(|i| t.borrow_mut().get_mut(i).and_then(Option::take))
    });
    taken.ok_or_else(|| {
        note_de_failure(format!(
            "handle descriptor #{index} is missing or used twice"
        ))
    })
}

/// Records `reason` as the current decoding's failure (if it is the first); returns it.
pub(super) fn note_de_failure(reason: String) -> String {
    if DE_BASE.get() != NONE {
        DE_REASON.with(|r| {
            r.borrow_mut().get_or_insert_with(|| reason.clone());
        });
    }
    reason
}
