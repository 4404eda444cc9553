//! Who holds a lock: the identity of this process and thread, and whether another process is
//! still alive.
//!
//! A process is named by its pid *and* its start time (`/proc/<pid>/stat`, field 22, in clock
//! ticks since boot). A pid can be reused after its process is reaped; the pair cannot (a reused
//! pid would have to come round in the same clock tick), so a lock whose owner died is never
//! mistaken for one held by the unrelated process that later got the same pid.
//!
//! Both identities are cached. The cache is cleared in the child of every `fork` by a
//! `pthread_atfork` handler: a forked child has a new pid, a new start time and new thread ids.

use std::ffi::{c_char, c_int};
use std::io;
use std::os::fd::AsFd;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::fd::{Interest, poll};
use super::proc::pidfd_open;

/// This process's `(start_time << 32) | pid`, or 0 before first use (and after a fork).
static SELF_ID: AtomicU64 = AtomicU64::new(0);
/// Bumped in every forked child, so per-thread caches know to refresh.
static FORK_GENERATION: AtomicU32 = AtomicU32::new(0);
static ATFORK: Once = Once::new();

thread_local! {
    /// `(fork generation + 1, tid)`; 0 in the high half means not cached.
    static TID: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

extern "C" fn after_fork_in_child() {
    SELF_ID.store(0, Ordering::Relaxed);
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// What the fork handler does, for a child made without glibc's `fork()` (the fork server's
/// `clone`), where no `pthread_atfork` handler runs.
pub(crate) fn forget_after_fork() {
    after_fork_in_child();
}

/// Registers the fork handler before `main`, while the process has one thread: registering
/// lazily would race with a `fork` on another thread (a child forked in the middle of a
/// `Once` would wait for it forever, or keep its parent's cached identity).
#[used]
#[unsafe(link_section = ".init_array")]
static REGISTER_AT_LOAD: extern "C" fn(c_int, *const *const c_char, *const *const c_char) =
    register_at_load;

extern "C" fn register_at_load(_: c_int, _: *const *const c_char, _: *const *const c_char) {
    ATFORK.call_once(register);
}

fn register() {
    // SAFETY: registers a child handler that only stores to atomics (async-signal-safe).
    let ret = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    if ret != 0 {
        // ENOMEM: caching would be unsafe across fork, so never cache.
        NO_CACHE.store(true, Ordering::Relaxed);
    }
}

/// Makes sure the handler is registered (normally done at load time, see above).
fn register_atfork() {
    std::hint::black_box(&REGISTER_AT_LOAD);
    ATFORK.call_once(register);
}

static NO_CACHE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// This process's identity: `(start_time as u32) << 32 | pid`. Never 0.
pub(crate) fn self_id() -> u64 {
    let id = SELF_ID.load(Ordering::Relaxed);
    if id != 0 {
        return id;
    }
    self_id_slow()
}

#[cold]
fn self_id_slow() -> u64 {
    register_atfork();
    let pid = super::proc::getpid();
    let start = start_time(pid).unwrap_or(0);
    let id = compose(pid, start);
    if !NO_CACHE.load(Ordering::Relaxed) {
        SELF_ID.store(id, Ordering::Relaxed);
    }
    id
}

/// Builds an identity from a pid and a start time (only its low 32 bits are kept).
pub(crate) fn compose(pid: libc::pid_t, start: u64) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        reason = "the low 32 bits are the fingerprint"
    )]
    let start = start as u32;
    (u64::from(start) << 32) | u64::from(pid.cast_unsigned())
}

/// The calling thread's kernel thread id.
pub(crate) fn self_tid() -> u32 {
    let generation = u64::from(FORK_GENERATION.load(Ordering::Relaxed)) + 1;
    let cached = TID.with(std::cell::Cell::get);
    if cached >> 32 == generation && !NO_CACHE.load(Ordering::Relaxed) {
        #[allow(clippy::cast_possible_truncation, reason = "the low half is the tid")]
        return cached as u32;
    }
    register_atfork();
    // SAFETY: gettid has no preconditions.
    let tid = unsafe { libc::gettid() }.cast_unsigned();
    TID.with(|c| c.set((generation << 32) | u64::from(tid)));
    tid
}

/// The start time of process `pid` in clock ticks since boot.
fn start_time(pid: libc::pid_t) -> io::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    parse_start_time(&stat).ok_or_else(|| io::Error::other("malformed /proc/<pid>/stat"))
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted after its *last* closing parenthesis.
fn parse_start_time(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(19)?.parse().ok()
}

/// Whether the process named by `id` (from [`compose`]) is still running.
///
/// A zombie (exited, not yet reaped) counts as dead; so does a live process that reuses the
/// pid with another start time. When the answer cannot be known (for example the descriptor
/// table is full), the process is presumed alive: a lock is never taken from a live owner.
pub(crate) fn is_alive(id: u64) -> bool {
    #[allow(clippy::cast_possible_truncation, reason = "the low half is the pid")]
    let pid = (id as u32).cast_signed();
    if pid <= 0 {
        return false;
    }
    let pidfd = match pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return false,
        Err(_) => return true,
    };
    let exited = || {
        matches!(
            poll([Interest::read(pidfd.as_fd())], Some(std::time::Instant::now())),
            Ok(Some([r])) if r.readable
        )
    };
    if exited() {
        return false;
    }
    match start_time(pid) {
        // The pidfd pins the process we just checked; if it is still running after the read,
        // the start time we read is its own.
        Ok(start) => compose(pid, start) == id && !exited(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => false,
        Err(_) => !exited(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_time_is_field_22_after_the_command() {
        let line = "42 (a b) c)) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1 2 3";
        assert_eq!(parse_start_time(line), Some(987_654));
        assert_eq!(parse_start_time("garbage"), None);
    }

    #[test]
    fn this_process_is_alive_and_others_are_told_apart() {
        let me = self_id();
        assert_eq!(me, self_id(), "cached");
        assert!(is_alive(me));
        // Same pid, another start time: a different process.
        assert!(!is_alive(me ^ (1 << 40)));
        assert!(!is_alive(0));
        assert_ne!(self_tid(), 0);
    }

    #[test]
    fn a_reaped_process_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let id = compose(pid, start_time(pid).unwrap_or(0));
        child.wait().unwrap();
        assert!(!is_alive(id));
    }
}
