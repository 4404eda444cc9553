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
    // The tables and failure reasons: touched only when a value has handles or fails.
    static SER_FDS: RefCell<Vec<OwnedFd>> = const { RefCell::new(Vec::new()) };
    static SER_REASON: RefCell<Option<String>> = const { RefCell::new(None) };
    static DE_FDS: RefCell<Vec<Option<OwnedFd>>> = const { RefCell::new(Vec::new()) };
    static DE_REASON: RefCell<Option<String>> = const { RefCell::new(None) };
    // The bookkeeping every scope touches: plain `Copy` cells, no destructor to register,
    // so entering and leaving a scope costs a few loads and stores.
    static SER: Marks = const { Marks::new() };
    static DE: Marks = const { Marks::new() };
}

/// Where a direction's innermost scope starts, how long its table is, and whether its reason
/// slot holds something.
struct Marks {
    base: Cell<usize>,
    len: Cell<usize>,
    has_reason: Cell<bool>,
}

impl Marks {
    const fn new() -> Self {
        Self {
            base: Cell::new(NONE),
            len: Cell::new(0),
            has_reason: Cell::new(false),
        }
    }
}

/// What a scope saves of the enclosing one.
struct Outer {
    base: usize,
    reason: Option<String>,
}

/// A thread-local of one direction.
type Local<T> = &'static std::thread::LocalKey<T>;

/// Opens a scope on `marks` at the end of its table; returns where the scope's table starts
/// and what it saved of the enclosing scope.
fn open(marks: Local<Marks>, reason: Local<RefCell<Option<String>>>) -> (usize, Outer) {
    marks.with(|m| {
        let base = m.len.get();
        let saved = if m.has_reason.replace(false) {
            reason.with(|r| r.borrow_mut().take())
        } else {
            None
        };
        let outer = Outer {
            base: m.base.replace(base),
            reason: saved,
        };
        (base, outer)
    })
}

/// Closes the scope whose table starts at `base`: calls `cut` if the scope added descriptors
/// (it must remove them from the table), restores the enclosing scope from `outer`, and
/// returns the scope's failure reason.
fn close(
    marks: Local<Marks>,
    reason: Local<RefCell<Option<String>>>,
    base: usize,
    outer: &mut Outer,
    cut: impl FnOnce(),
) -> Option<String> {
    marks.with(|m| {
        if m.len.get() > base {
            cut();
            m.len.set(base);
        }
        m.base.set(outer.base);
        let mine = if m.has_reason.replace(outer.reason.is_some()) {
            reason.with(|r| r.borrow_mut().take())
        } else {
            None
        };
        if outer.reason.is_some() {
            reason.with(|r| *r.borrow_mut() = outer.reason.take());
        }
        mine
    })
}

/// Records `text` as the current scope's failure on `marks` (if it is the first).
fn note(
    marks: &'static std::thread::LocalKey<Marks>,
    reason: &'static std::thread::LocalKey<RefCell<Option<String>>>,
    text: &str,
) {
    marks.with(|m| {
        if m.base.get() != NONE && !m.has_reason.replace(true) {
            reason.with(|r| *r.borrow_mut() = Some(text.to_owned()));
        }
    });
}

/// An encoding in progress on this thread; restores the enclosing one when left or dropped
/// (also during a panic).
pub(super) struct SerScope {
    base: usize,
    outer: Outer,
    left: bool,
}

impl SerScope {
    pub(super) fn enter() -> Self {
        let (base, outer) = open(&SER, &SER_REASON);
        Self {
            base,
            outer,
            left: false,
        }
    }

    /// Ends the scope: appends the descriptors collected to `into`, and returns the first
    /// failure reason recorded.
    pub(super) fn leave(mut self, into: &mut Vec<OwnedFd>) -> Option<String> {
        self.left = true;
        let base = self.base;
        close(&SER, &SER_REASON, base, &mut self.outer, || {
            SER_FDS.with(|t| into.extend(t.borrow_mut().drain(base..)));
        })
    }
}

impl Drop for SerScope {
    fn drop(&mut self) {
        if !self.left {
            let base = self.base;
            close(&SER, &SER_REASON, base, &mut self.outer, || {
                SER_FDS.with(|t| t.borrow_mut().truncate(base));
            });
        }
    }
}

/// Duplicates `fd` into the current encoding's table; returns its index there.
pub(super) fn attach(fd: BorrowedFd<'_>) -> Result<u32, String> {
    let (base, len) = SER.with(|m| (m.base.get(), m.len.get()));
    if base == NONE {
        return Err(note_ser_failure(OUTSIDE_MPROC.to_owned()));
    }
    let index = len - base;
    if index >= MAX_HANDLES {
        return Err(note_ser_failure(format!(
            "more than {MAX_HANDLES} handles in one value"
        )));
    }
    let dup = sys::fd::dup_cloexec(fd)
        .map_err(|e| note_ser_failure(format!("cannot duplicate a handle: {e}")))?;
    SER_FDS.with(|t| t.borrow_mut().push(dup));
    SER.with(|m| m.len.set(len + 1));
    u32::try_from(index).map_err(|_| note_ser_failure("handle index overflow".to_owned()))
}

/// Records `reason` as the current encoding's failure (if it is the first); returns it.
fn note_ser_failure(reason: String) -> String {
    note(&SER, &SER_REASON, &reason);
    reason
}

/// A decoding in progress on this thread, the counterpart of [`SerScope`].
pub(super) struct DeScope {
    base: usize,
    outer: Outer,
    left: bool,
}

impl DeScope {
    /// Makes `fds` the table of the value about to be decoded.
    pub(super) fn enter(fds: Vec<OwnedFd>) -> Self {
        let (base, outer) = open(&DE, &DE_REASON);
        if !fds.is_empty() {
            let added = fds.len();
            DE_FDS.with(|t| t.borrow_mut().extend(fds.into_iter().map(Some)));
            DE.with(|m| m.len.set(base + added));
        }
        Self {
            base,
            outer,
            left: false,
        }
    }

    /// Ends the scope (closing the descriptors no handle took); returns the first failure
    /// reason recorded.
    pub(super) fn leave(mut self) -> Option<String> {
        self.left = true;
        self.close()
    }

    fn close(&mut self) -> Option<String> {
        let base = self.base;
        close(&DE, &DE_REASON, base, &mut self.outer, || {
            DE_FDS.with(|t| t.borrow_mut().truncate(base));
        })
    }
}

impl Drop for DeScope {
    fn drop(&mut self) {
        if !self.left {
            self.close();
        }
    }
}

/// Takes descriptor `index` of the current decoding's table.
pub(super) fn take(index: u32) -> Result<OwnedFd, String> {
    let base = DE.with(|m| m.base.get());
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
    note(&DE, &DE_REASON, &reason);
    reason
}
