//! What a child reports of a panic: its message, where it happened, and its backtrace when the
//! child's environment asks for one (`RUST_BACKTRACE`, as std's own report does).
//!
//! `catch_unwind` hands over only the payload. The location and the backtrace exist only while
//! the panic hook runs, so mproc installs a hook ([`install_hook`]) that records them in a
//! thread-local before calling the previous hook (which still prints the usual message on
//! stderr); [`catch`] takes the record when the unwind reaches it. Process targets and pool
//! tasks both run under [`catch`]. A function that installs its own panic hook replaces the
//! recording one: its panics then arrive with the message only.
//!
//! The hook records only in a child ([`start_recording`]); elsewhere it just calls the previous
//! one. A forked child must not install it itself: another thread of the parent may have been
//! running a panic hook at the fork, and the child would then wait forever for std's hook lock.
//! So the `Fork` method installs it in the parent, before its first fork, and the child inherits
//! it (a program that replaces the hook after that loses the locations of its forked children's
//! panics, not their messages). `Spawn` and fork-server children are single-threaded fresh
//! processes and install it themselves.

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, PanicHookInfo, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::codeptr;

/// Where a panic happened: a source file, line and column (std's
/// [`Location`](std::panic::Location), owned so that it can travel from a child).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PanicLocation {
    /// The source file, as the compiler named it (`src/main.rs`, or a path into a dependency).
    pub file: String,
    /// The line, from 1.
    pub line: u32,
    /// The column, from 1.
    pub column: u32,
}

impl std::fmt::Display for PanicLocation {
    /// `file:line:column`, as std prints a panic's location.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A caught panic, as a child reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PanicReport {
    /// The payload's text (see [`codeptr::panic_message`]).
    pub(crate) message: String,
    /// Where it panicked, if the recording hook saw it.
    pub(crate) location: Option<PanicLocation>,
    /// The backtrace's text, if the environment asked for backtraces.
    pub(crate) backtrace: Option<String>,
}

impl PanicReport {
    /// A report of `message` alone.
    pub(crate) fn message(message: String) -> Self {
        Self {
            message,
            location: None,
            backtrace: None,
        }
    }
}

/// What the hook saw of the last panic on this thread.
#[derive(Debug)]
struct Seen {
    location: Option<PanicLocation>,
    backtrace: Option<String>,
}

thread_local! {
    static LAST: RefCell<Option<Seen>> = const { RefCell::new(None) };
}

/// Whether this process installed the recording hook (a forked child inherits the flag with
/// the hook itself).
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// Whether this process is a child whose panics are recorded.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Installs the recording hook in front of the current one, once per process.
pub(crate) fn install_hook() {
    // The first use of `LAST` on a thread registers its destructor with the C library (a lazy
    // symbol binding, an allocation). Done here, in the thread about to fork, the child
    // inherits it made: done in each child, it cost every `Fork` start about ten page faults.
    let _ = LAST.try_with(|_| ());
    // Relaxed: the flag only keeps a second call from stacking a second hook; `set_hook` itself
    // synchronizes the hook's publication.
    if INSTALLED.swap(true, Ordering::Relaxed) {
        return;
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // Relaxed: set by the child on its only thread before its function runs.
        if RECORDING.load(Ordering::Relaxed) {
            record(info);
        }
        previous(info);
    }));
}

/// Makes this child record its panics, installing the hook if it has none (a forked child has
/// its parent's, see the module docs). Called by a child before it runs its function.
pub(crate) fn start_recording() {
    install_hook();
    RECORDING.store(true, Ordering::Relaxed);
}

fn record(info: &PanicHookInfo<'_>) {
    let location = info.location().map(|l| PanicLocation {
        file: l.file().to_owned(),
        line: l.line(),
        column: l.column(),
    });
    let backtrace =
        backtrace_wanted().then(|| std::backtrace::Backtrace::force_capture().to_string());
    // A panic while the cell is borrowed cannot happen (nothing panics while it is); if it did,
    // the record is skipped rather than aborting in a hook.
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = Some(Seen {
                location,
                backtrace,
            });
        }
    });
}

/// Whether the environment asks for backtraces: `RUST_LIB_BACKTRACE`, else `RUST_BACKTRACE`,
/// set to anything but `0` (std's rule for captured backtraces). Read at each panic, so a value
/// set in the child counts.
fn backtrace_wanted() -> bool {
    let on = |v: std::ffi::OsString| v != "0";
    std::env::var_os("RUST_LIB_BACKTRACE")
        .or_else(|| std::env::var_os("RUST_BACKTRACE"))
        .is_some_and(on)
}

/// Runs `f`; a panic becomes a [`PanicReport`] with what the hook recorded of it (nothing if
/// the recording hook is not installed).
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, PanicReport> {
    let take = || LAST.try_with(|l| l.borrow_mut().take()).ok().flatten();
    // A panic caught earlier (by the function itself) must not be taken for this one.
    drop(take());
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let seen = take();
        PanicReport {
            message: codeptr::panic_message(&*payload),
            location: seen.as_ref().and_then(|s| s.location.clone()),
            backtrace: seen.and_then(|s| s.backtrace),
        }
    })
}

/// `" at file:line:column"`, or nothing: for error messages.
pub(crate) fn at(location: Option<&PanicLocation>) -> String {
    location.map(|l| format!(" at {l}")).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_carries_its_location_once_the_hook_is_installed() {
        start_recording();
        let line = line!() + 1;
        let report = catch(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(report.message, "boom 7");
        let location = report.location.expect("the hook recorded a location");
        assert_eq!((location.file.as_str(), location.line), (file!(), line));
        assert_eq!(catch(|| 5).unwrap(), 5);
    }

    #[test]
    fn the_location_displays_as_std_prints_it() {
        let l = PanicLocation {
            file: "src/main.rs".into(),
            line: 3,
            column: 9,
        };
        assert_eq!(l.to_string(), "src/main.rs:3:9");
        assert_eq!(at(Some(&l)), " at src/main.rs:3:9");
        assert_eq!(at(None), "");
    }
}
