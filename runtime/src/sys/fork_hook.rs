//! Fork hooks: what each module that keeps process-global state does around a `fork()`.
//!
//! A child forked from a multithreaded process has one thread, and a copy of every lock as it
//! was at the fork: one that another thread held stays held forever, and state that another
//! thread was initializing stays half made. So a module with process-global state contributes a
//! [`ForkHook`]: its *prepare* step (in the forking thread, before the fork) initializes what is
//! made lazily and takes the module's lock; the lock is then let go of in the parent (its
//! [`Held::in_parent`] step, also run when the fork failed) and reset in the child
//! ([`Held::in_child`]).
//!
//! The list of hooks lives with the `Fork` start method (`process::start::fork`), the one
//! place that calls `fork()` while other threads may run: it takes the locks in list order and
//! releases them in reverse. A test there reads the crate's source and fails when a static
//! lock or lazily made static is neither claimed by a hook's [`ForkHook::guards`] nor listed,
//! with its reason, as not needing one: a new process-global lock cannot be forgotten silently.

use std::os::fd::OwnedFd;

use super::OsError;

/// One module's part in a fork.
#[derive(Debug)]
pub(crate) struct ForkHook {
    /// The statics this hook keeps consistent, each as `module::path::NAME` (write them with
    /// `concat!(module_path!(), "::NAME")`).
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "read by the test that checks every global lock has a hook"
        )
    )]
    pub(crate) guards: &'static [&'static str],
    /// Runs in the forking thread before the fork: makes what is lazily made, takes the locks,
    /// and returns what it holds (`None` when it holds nothing).
    pub(crate) prepare: fn() -> Prepare,
}

/// What a prepare step returns: what it holds, if anything, or why it could not prepare.
pub(crate) type Prepare = Result<Option<Box<dyn Held>>, OsError>;

/// What a [`ForkHook`]'s prepare step holds across the fork.
///
/// The child's step borrows: the child never frees what the prepare steps allocated (see
/// [`Prepared::in_child`]), so a step that holds a lock keeps it in an `Option` and takes it
/// out to release it.
pub(crate) trait Held {
    /// In the parent after the fork, or after a fork that failed.
    fn in_parent(self: Box<Self>, fork: &mut ForkContext);
    /// In the child, which has a single thread: reset the state for it and release the lock.
    fn in_child(&mut self, fork: &mut ForkContext);
}

/// What the hooks may need to know of the fork under way.
#[derive(Debug, Default)]
pub(crate) struct ForkContext {
    /// The descriptors the child receives with its arguments. The parent lets go of them; the
    /// child keeps them.
    pub(crate) child_fds: Vec<OwnedFd>,
}

/// A lock (or anything) that is simply released on both sides of the fork.
#[derive(Debug)]
pub(crate) struct ReleaseBoth<G>(pub(crate) Option<G>);

impl<G> ReleaseBoth<G> {
    /// Holds `guard` across the fork.
    pub(crate) fn new(guard: G) -> Self {
        Self(Some(guard))
    }
}

impl<G> Held for ReleaseBoth<G> {
    fn in_parent(self: Box<Self>, _: &mut ForkContext) {}
    fn in_child(&mut self, _: &mut ForkContext) {
        drop(self.0.take());
    }
}

/// What every hook's prepare step took, in order.
pub(crate) struct Prepared(Vec<Box<dyn Held>>);

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Prepared").field(&self.0.len()).finish()
    }
}

/// Runs the prepare steps of `hooks` in order. If one fails, what the earlier ones took is
/// released (as in a parent) before the error is returned.
///
/// # Errors
/// The first prepare step's error.
pub(crate) fn prepare<'h>(
    hooks: impl IntoIterator<Item = &'h ForkHook>,
    fork: &mut ForkContext,
) -> Result<Prepared, OsError> {
    let mut held = Prepared(Vec::new());
    for hook in hooks {
        match (hook.prepare)() {
            Ok(Some(h)) => held.0.push(h),
            Ok(None) => {}
            Err(e) => {
                held.in_parent(fork);
                return Err(e);
            }
        }
    }
    Ok(held)
}

impl Prepared {
    /// The parent's steps, in reverse order of the prepare steps.
    pub(crate) fn in_parent(self, fork: &mut ForkContext) {
        for held in self.0.into_iter().rev() {
            held.in_parent(fork);
        }
    }

    /// The child's steps, in reverse order of the prepare steps.
    ///
    /// The list and what it holds are then forgotten, not freed: in a fresh child, the first
    /// call into the allocator's free path costs copy-on-write and code page faults (several
    /// microseconds each on a virtual machine), and these few bytes are the parent's anyway.
    pub(crate) fn in_child(mut self, fork: &mut ForkContext) {
        for held in self.0.iter_mut().rev() {
            held.in_child(fork);
        }
        std::mem::forget(self);
    }
}
