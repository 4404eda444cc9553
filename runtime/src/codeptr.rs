//! Code addresses that mean the same thing in every process running this executable.
//!
//! A forked child shares its parent's addresses, but a re-executed one (`Spawn`, the fork
//! server's children) does not: address-space layout randomization moves the whole image by
//! one offset. Code is therefore named by its distance from a base static in the main
//! executable, and a *layout marker* (the distance of a fixed function) tells two different
//! executables apart. Processes (`process::child::entry`), pool tasks and barrier actions all
//! name code this way; none of them owns the facility, so it lives here, below them all.
//!
//! Also here: [`panic_message`], the text every trampoline reports for a panic it caught.

/// The base that offsets are measured from: a static in the main executable.
static BASE: u8 = 0;

/// A code address outside the main executable (in a shared library, say): its offset from the
/// base would mean nothing in another process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotInExecutable;

use crate::sys;

/// The offset of a code address within this executable, valid in every process running it
/// (fork, spawn or fork-server children); the counterpart of [`code_at`].
///
/// # Errors
/// [`NotInExecutable`] if `addr` is in another loaded object.
pub(crate) fn code_offset(addr: usize) -> Result<i64, NotInExecutable> {
    let base = base();
    let home = sys::proc::object_base(base);
    if home.is_none() || sys::proc::object_base(addr) != home {
        return Err(NotInExecutable);
    }
    Ok(distance(addr, base))
}

/// The function pointer of type `F` at `offset` (from [`code_offset`]) in this process.
///
/// # Safety
/// `offset` must come from `code_offset` of a function pointer of type `F`, taken in a process
/// running this same executable file.
pub(crate) unsafe fn code_at<F: Copy>(offset: i64) -> F {
    const {
        assert!(
            size_of::<F>() == size_of::<usize>(),
            "F must be a function pointer"
        );
    }
    let addr = base().wrapping_add_signed(isize::try_from(offset).unwrap_or(isize::MIN));
    // SAFETY: per the contract, base + offset is a function of type `F` here; `F` is a function
    // pointer type, which has the size and representation of a `usize` (asserted above).
    unsafe { std::mem::transmute_copy::<usize, F>(&addr) }
}

/// A plain `fn()` as a distance from the base marker, with the layout marker of this
/// executable, valid in any process running it (forked, re-executed or served). `None` if it
/// lives outside the main executable.
pub(crate) fn fn_to_offset(f: fn()) -> Option<(i64, i64)> {
    code_offset(f as usize)
        .ok()
        .map(|offset| (offset, layout_marker()))
}

/// Rebuilds a `fn()` from [`fn_to_offset`]; `None` if `layout` shows another executable.
///
/// # Safety
/// `(offset, layout)` must come from `fn_to_offset` in a process running this executable.
pub(crate) unsafe fn fn_from_offset(offset: i64, layout: i64) -> Option<fn()> {
    if layout != layout_marker() {
        return None;
    }
    // SAFETY: per the contract, the offset names a `fn()` of this same image.
    Some(unsafe { code_at::<fn()>(offset) })
}

/// The address offsets are measured from, in this process.
pub(crate) fn base() -> usize {
    std::ptr::from_ref(&BASE) as usize
}

/// `addr - base`, as a signed distance.
pub(crate) fn distance(addr: usize, base: usize) -> i64 {
    // Addresses in one image are far less than 2^63 apart.
    (addr.wrapping_sub(base)).cast_signed() as i64
}

/// The distance of this very function from the base: a fingerprint of the executable's layout.
pub(crate) fn layout_marker() -> i64 {
    distance(layout_marker as fn() -> i64 as usize, base())
}

/// The text of a panic payload (`panic!` with a literal or a format string), as std prints it.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}
