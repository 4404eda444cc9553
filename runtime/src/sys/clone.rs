//! Forking a *sibling*: a copy of the calling process whose parent is the caller's own parent
//! (`clone` with `CLONE_PARENT`). The fork server uses it, so the children it makes are children
//! of the program that asked for them: that program reaps them, waits on them through pidfds and
//! gets their exact exit status, as with a plain `fork`.
//!
//! glibc's `fork()` cannot add `CLONE_PARENT`, so this calls the `clone` system call itself and
//! repeats the two things glibc's `fork()` does in the child that matter to a single-threaded
//! caller: the kernel writes the child's thread id into the thread descriptor
//! (`CLONE_CHILD_SETTID` at the address glibc registered with `set_tid_address`, which
//! `PR_GET_TID_ADDRESS` reveals), and the child registers the robust-mutex list again (the
//! kernel does not copy that registration). Without the first, process-shared robust and
//! error-checking pthread mutexes would record the wrong owner in the child. `pthread_atfork`
//! handlers are not run: the caller must not depend on them; mproc's own (the lock-owner
//! identity cache of `owner`) is called directly in the child.

use std::io;

use super::cvt;
use super::proc::Forked;

/// What a sibling fork must restore in the child, captured once on the forking thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SiblingFork {
    /// Where glibc keeps this thread's id (`None` if the kernel does not reveal it).
    tid_address: Option<usize>,
    /// This thread's robust-mutex list head, as registered with the kernel.
    robust_head: usize,
    robust_len: usize,
}

impl SiblingFork {
    /// Captures the calling thread's registrations. Call it on the thread that will fork.
    ///
    /// # Errors
    /// If the robust-list registration cannot be read.
    pub(crate) fn prepare() -> io::Result<Self> {
        let mut head: usize = 0;
        let mut len: libc::size_t = 0;
        // SAFETY: get_robust_list(0, ..) reads the calling thread's registration into the two
        // out-pointers, which are valid for writes of their types.
        cvt(unsafe { libc::syscall(libc::SYS_get_robust_list, 0, &raw mut head, &raw mut len) })?;
        Ok(Self {
            tid_address: tid_address(),
            robust_head: head,
            robust_len: len,
        })
    }
}

/// The address glibc registered for this thread with `set_tid_address` (its thread
/// descriptor's `tid` field), checked to hold this thread's id.
fn tid_address() -> Option<usize> {
    let mut addr: *mut libc::c_int = std::ptr::null_mut();
    // SAFETY: PR_GET_TID_ADDRESS stores one pointer at the address given, which is valid for
    // that write. It fails (EINVAL) on kernels without checkpoint/restore support.
    let ret = unsafe { libc::prctl(libc::PR_GET_TID_ADDRESS, &raw mut addr, 0, 0, 0) };
    if ret != 0 || addr.is_null() || !addr.is_aligned() {
        return None;
    }
    // SAFETY: the kernel holds this address as the thread's clear-child-tid location, which it
    // writes when the thread exits: by the `set_tid_address` contract it is valid, aligned,
    // writable memory of this thread for the thread's life. We only read it.
    let value = unsafe { addr.read_volatile() };
    (value == gettid()).then_some(addr as usize)
}

/// The calling thread's id.
pub(crate) fn gettid() -> libc::pid_t {
    // SAFETY: gettid has no arguments and cannot fail.
    unsafe { libc::gettid() }
}

/// Forks the calling process into a sibling: the child's parent is the caller's parent.
///
/// The child's exit is reported to that parent (it must reap it); the caller gets the pid.
///
/// # Safety
/// As [`super::proc::fork`], and more strictly: the calling process must be single-threaded,
/// `prep` must have been captured on this thread, and the child must not rely on
/// `pthread_atfork` handlers (none run).
pub(crate) unsafe fn fork_sibling(prep: &SiblingFork) -> io::Result<Forked> {
    let mut flags = libc::CLONE_PARENT | libc::SIGCHLD;
    let child_tid = match prep.tid_address {
        Some(addr) => {
            flags |= libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID;
            addr
        }
        None => 0,
    };
    // SAFETY: forwarded to the caller (see `# Safety`). Without a new stack the child runs on a
    // copy of this stack, exactly as after fork(). The child-tid address is this thread's tid
    // field (checked in `prepare`), which exists at the same address in the child's copy.
    let pid = cvt(unsafe { raw_clone(flags, child_tid) })?;
    if pid != 0 {
        return Ok(Forked::Parent(
            libc::pid_t::try_from(pid).expect("invariant: pids fit in pid_t"),
        ));
    }
    // SAFETY: the head address and length come from get_robust_list on the thread this child
    // copies; the list lives in the thread descriptor, at the same address here. The list is
    // empty (a single-threaded caller holds no robust mutex while forking), as glibc's fork
    // makes it in the child.
    let _ = unsafe { libc::syscall(libc::SYS_set_robust_list, prep.robust_head, prep.robust_len) };
    // glibc runs no `pthread_atfork` handler here; mproc's own (the lock-owner identity cache,
    // which must not keep the server's pid) is run by hand.
    super::owner::forget_after_fork();
    Ok(Forked::Child)
}

/// `clone(flags, no new stack, no parent tid, child_tid, no tls)`.
///
/// # Safety
/// See [`fork_sibling`].
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
unsafe fn raw_clone(flags: libc::c_int, child_tid: usize) -> libc::c_long {
    // SAFETY: forwarded to the caller. On these architectures the kernel's argument order is
    // (flags, stack, parent_tid, child_tid, tls).
    unsafe {
        libc::syscall(
            libc::SYS_clone,
            libc::c_ulong::from(flags.cast_unsigned()),
            0usize,
            0usize,
            child_tid,
            0usize,
        )
    }
}

/// On architectures whose `clone` argument order is not handled here, sibling forks fail.
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
unsafe fn raw_clone(_flags: libc::c_int, _child_tid: usize) -> libc::c_long {
    // SAFETY: setting errno has no precondition.
    unsafe { *libc::__errno_location() = libc::ENOSYS };
    -1
}
