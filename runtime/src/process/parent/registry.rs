//! The table of this process's children: naming, reaping, and what happens at exit.
//!
//! Finished children are reaped whenever the table is touched (each start, each
//! `active_children()`), by `join`/`is_alive`/`exit_status` on their handles, and at exit, as
//! Python does. At normal exit (return from `main`, `std::process::exit`, a panic that unwinds
//! out of `main`) daemon children are sent `SIGTERM` (then `SIGKILL` if they linger), and
//! non-daemon children are waited for. If the parent dies abruptly, daemon children die by
//! `PR_SET_PDEATHSIG`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once, PoisonError};
use std::time::{Duration, Instant};

use crate::process::parent::handle::ChildEntry;
use crate::sys::fork_hook::{ForkContext, ForkHook, Held};

pub(crate) struct Registry {
    /// The children's counter for default names (Python's `_process_counter`).
    counter: u32,
    children: Vec<Arc<ChildEntry>>,
}

static REGISTRY: Mutex<Registry> = Mutex::new(Registry {
    counter: 0,
    children: Vec::new(),
});

/// Whether this process has tried to start a child (or a fork server) since it began (a
/// forked child starts over): one that never did has nothing to end at exit, and skips the
/// table and the fork server's state altogether.
static STARTED_ANY: AtomicBool = AtomicBool::new(false);

/// Notes that this process is starting a child (call before anything is created for it).
pub(crate) fn note_start() {
    STARTED_ANY.store(true, Ordering::Relaxed);
}

/// How long daemon children get between `SIGTERM` and `SIGKILL` at exit.
const DAEMON_GRACE: Duration = Duration::from_secs(1);

/// Locks the table (a panic elsewhere never makes it unusable).
pub(crate) fn lock() -> MutexGuard<'static, Registry> {
    REGISTRY.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Registry {
    /// The next child's identity path.
    pub(crate) fn next_path(&mut self, parent: &[u32]) -> Vec<u32> {
        self.counter += 1;
        let mut path = parent.to_vec();
        path.push(self.counter);
        path
    }

    pub(crate) fn add(&mut self, entry: Arc<ChildEntry>) {
        register_exit_hook();
        self.children.push(entry);
    }

    /// Reaps finished children and forgets them.
    pub(crate) fn reap_finished(&mut self) {
        self.children.retain(|c| matches!(c.try_reap(), Ok(None)));
    }

    /// The children still running.
    pub(crate) fn live(&mut self) -> Vec<Arc<ChildEntry>> {
        self.reap_finished();
        self.children.clone()
    }
}

/// The table, locked across `fork()`.
pub(crate) static FORK_HOOK: ForkHook = ForkHook {
    guards: &[concat!(module_path!(), "::REGISTRY")],
    prepare: || Ok(Some(Box::new(ForkGuard(Some(lock()))))),
};

/// The registry's lock (taken out in the child to be released).
struct ForkGuard(Option<MutexGuard<'static, Registry>>);

impl Held for ForkGuard {
    fn in_parent(self: Box<Self>, _: &mut ForkContext) {}

    /// The parent's children are not ours, and our counter restarts. Their records are
    /// forgotten, not dropped: dropping would close the parent's pidfds (a system call each)
    /// and touch the parent's result slots.
    fn in_child(&mut self, _: &mut ForkContext) {
        let Some(mut registry) = self.0.take() else {
            return;
        };
        std::mem::forget(std::mem::take(&mut registry.children));
        registry.counter = 0;
        STARTED_ANY.store(false, Ordering::Relaxed);
    }
}

pub(crate) fn register_exit_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: `at_exit` is an `extern "C" fn()` that never unwinds; registering it has no
        // other precondition. A failure (table full) only loses the exit-time cleanup.
        unsafe { libc::atexit(at_exit) };
    });
}

extern "C" fn at_exit() {
    // Never unwind across the C boundary.
    let _ = std::panic::catch_unwind(shutdown);
}

/// Ends this process's children as Python does at exit: daemons are terminated, the others are
/// waited for. Also run by a child when its function has returned.
pub(crate) fn shutdown() {
    // Set by this thread or, for another thread's start, ordered by the lock that start took
    // and the exit that followed it; a start racing with exit itself is not waited for.
    if !STARTED_ANY.load(Ordering::Relaxed) {
        return;
    }
    let children = lock().live();
    if !children.is_empty() {
        end_children(&children);
    }
    // The fork server is needed no more; stopped here it leaves no orphan behind.
    crate::process::start::forkserver::shutdown();
}

/// Terminates the daemons among `children` (killing those that outlast the grace period) and
/// waits for all of them.
fn end_children(children: &[Arc<ChildEntry>]) {
    for child in children.iter().filter(|c| c.daemon) {
        let _ = child.signal(libc::SIGTERM);
    }
    let grace = Instant::now() + DAEMON_GRACE;
    for child in children {
        if child.daemon {
            if child.wait(Some(grace)).is_err() {
                let _ = child.signal(libc::SIGKILL);
                let _ = child.wait(None);
            }
        } else {
            let _ = child.wait(None);
        }
    }
    lock().reap_finished();
}
