//! Who holds a lock: the identity of this process and thread, and whether another process is
//! still alive.
//!
//! A process is named by its pid *and* its start time (`/proc/<pid>/stat`, field 22, in clock
//! ticks since boot). A pid can be reused after its process is reaped; the pair cannot (a reused
//! pid would have to come round in the same clock tick), so a lock whose owner died is never
//! mistaken for one held by the unrelated process that later got the same pid.
//!
//! # Identity is computed, never guessed
//! Reading the start time needs a free descriptor. A load-time constructor reads it in every
//! process before user code runs (also in one started by `exec`). A forked child reads its own
//! at its first use of a lock: most children never take one, and the read (an `open` of
//! `/proc/self/stat` and the code behind it, all copy-on-write page faults in a fresh child)
//! was a third of the time a `Fork` start took. If it cannot be read then (the program filled
//! its descriptor table, `/proc` is missing), the process takes the *unknown-start* identity
//! (start field 0): every other process judges such an owner alive for as long as any process
//! has its pid. A lock is then never taken from a live holder; the cost is only that a dead
//! holder whose pid was reused is recovered late (when the reuser exits). Whatever identity a
//! process first hands out, it keeps: the lock words it wrote must match the identity it
//! releases with.
//!
//! Both identities are cached. The cache is emptied in the child of every `fork` (a
//! `pthread_atfork` handler, or by hand after the fork server's `clone`): a forked child has a
//! new pid, a new start time and new thread ids.

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

/// The start field of an identity whose start time could not be read: such an owner is
/// alive while any process has its pid (see the module docs). A real start time whose low 32
/// bits are 0 is treated the same way, which is only more cautious.
const UNKNOWN_START: u32 = 0;

extern "C" fn after_fork_in_child() {
    // Only stores to atomics: the parent may have had other threads. 0 (not read) leaves the
    // read to the first use (see the module docs).
    slot().store(0, Ordering::Relaxed);
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// What the fork handler does, for a child made without glibc's `fork()` (the fork server's
/// `clone`), where no `pthread_atfork` handler runs.
pub(crate) fn forget_after_fork() {
    after_fork_in_child();
}

/// Registers the fork handler and reads this process's identity before `main`, while the
/// process has one thread and its descriptor table is as the kernel or its parent left it:
/// registering lazily would race with a `fork` on another thread (a child forked in the middle
/// of a `Once` would wait for it forever, or keep its parent's cached identity), and reading
/// lazily could meet a table the program filled.
#[used]
#[unsafe(link_section = ".init_array")]
static REGISTER_AT_LOAD: extern "C" fn(c_int, *const *const c_char, *const *const c_char) =
    register_at_load;

extern "C" fn register_at_load(_: c_int, _: *const *const c_char, _: *const *const c_char) {
    ATFORK.call_once(register);
    if let Some(id) = read_self_id() {
        let _ = slot().compare_exchange(0, id, Ordering::Relaxed, Ordering::Relaxed);
    }
}

fn register() {
    // SAFETY: registers a child handler that only makes async-signal-safe calls and stores to
    // atomics.
    let ret = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
    if ret != 0 {
        // ENOMEM: a forked child would keep its parent's identity, so the cache is checked
        // against the pid on every use instead.
        NO_CACHE.store(true, Ordering::Relaxed);
    }
}

/// Makes sure the handler is registered (normally done at load time, see above).
fn register_atfork() {
    std::hint::black_box(&REGISTER_AT_LOAD);
    ATFORK.call_once(register);
}

static NO_CACHE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Under `NO_CACHE`, the identity lives here instead of in `SELF_ID` (which stays 0, so the
/// fast path always falls through) and is trusted only while its pid is this process's.
static CHECKED_ID: AtomicU64 = AtomicU64::new(0);

/// Where this process keeps its identity.
fn slot() -> &'static AtomicU64 {
    if NO_CACHE.load(Ordering::Relaxed) {
        &CHECKED_ID
    } else {
        &SELF_ID
    }
}

/// This process's identity: `(start_time as u32) << 32 | pid`. Never 0; never changes within
/// one process (see the module docs for the unknown-start case).
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
    let slot = slot();
    let cached = slot.load(Ordering::Relaxed);
    if cached != 0 && pid_of(cached) == pid {
        return cached;
    }
    let id = read_self_id().unwrap_or_else(|| compose(pid, u64::from(UNKNOWN_START)));
    // The first identity stored wins, so every thread of this process uses the same one
    // (`cached` is 0, or a forked parent's identity under `NO_CACHE`).
    match slot.compare_exchange(cached, id, Ordering::Relaxed, Ordering::Relaxed) {
        Err(now) if pid_of(now) == pid => now,
        _ => id,
    }
}

/// The pid half of an identity.
fn pid_of(id: u64) -> libc::pid_t {
    #[allow(clippy::cast_possible_truncation, reason = "the low half is the pid")]
    (id as u32).cast_signed()
}

/// This process's identity read from `/proc/self/stat`, or `None` if it cannot be read.
/// Async-signal-safe: no allocation, only `getpid`, `open`, `read` and `close`.
fn read_self_id() -> Option<u64> {
    // SAFETY: getpid has no preconditions (the raw call: nix's wrapper is the same syscall).
    let pid = unsafe { libc::getpid() };
    let mut buf = [0u8; STAT_BUF];
    let len = read_own_stat(&mut buf)?;
    let start = parse_start_time(&buf[..len], len == buf.len())?;
    Some(compose(pid, start))
}

/// Bytes of `/proc/self/stat` read: field 22 ends within the first ~500 (16-byte command,
/// 20 fields of at most 20 digits), so a prefix of this size always holds it.
const STAT_BUF: usize = 1024;

/// Reads up to `buf.len()` bytes of `/proc/self/stat`; the count read, or `None`.
fn read_own_stat(buf: &mut [u8; STAT_BUF]) -> Option<usize> {
    // SAFETY: a NUL-terminated path; the descriptor is closed below on every path.
    let fd = unsafe {
        libc::open(
            c"/proc/self/stat".as_ptr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    let mut len = 0;
    let result = loop {
        if len == buf.len() {
            break Some(len);
        }
        let rest = &mut buf[len..];
        // SAFETY: writes at most `rest.len()` bytes into `rest`, which is valid for writes.
        let n = unsafe { libc::read(fd, rest.as_mut_ptr().cast(), rest.len()) };
        match usize::try_from(n) {
            Ok(0) => break Some(len),
            Ok(n) => len += n,
            Err(_) if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break None,
        }
    };
    // SAFETY: `fd` was opened above and is closed once.
    unsafe { libc::close(fd) };
    result
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
    let stat = std::fs::read(format!("/proc/{pid}/stat"))?;
    parse_start_time(&stat, false).ok_or_else(|| io::Error::other("malformed /proc/<pid>/stat"))
}

/// Field 22 of a `/proc/<pid>/stat` line. The command name (field 2) may contain spaces and
/// parentheses, so fields are counted after its *last* closing parenthesis (no later field
/// has one). `truncated`: `stat` may be a cut prefix, so field 22 counts only if another field
/// follows it (it was not cut in the middle).
fn parse_start_time(stat: &[u8], truncated: bool) -> Option<u64> {
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = stat[close + 1..]
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty());
    let field = fields.nth(19)?;
    if truncated && fields.next().is_none() {
        return None;
    }
    if field.is_empty() || field.len() > 20 {
        return None;
    }
    field.iter().try_fold(0u64, |n, &b| {
        let digit = b.checked_sub(b'0').filter(|d| *d < 10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// Whether the process named by `id` (from [`compose`]) is still running.
///
/// A zombie (exited, not yet reaped) counts as dead; so does a live process that reuses the
/// pid with another start time. When the answer cannot be known (for example the descriptor
/// table is full, or `id` has the unknown start time), the process is presumed alive: a lock
/// is never taken from a live owner.
pub(crate) fn is_alive(id: u64) -> bool {
    let pid = pid_of(id);
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
    if id >> 32 == u64::from(UNKNOWN_START) {
        // Its start time was never known: whoever runs under this pid may be it.
        return true;
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
        assert_eq!(parse_start_time(line.as_bytes(), false), Some(987_654));
        assert_eq!(parse_start_time(b"garbage", false), None);
        // A prefix cut right after field 22 might have cut it: refused.
        let cut = &line.as_bytes()[..line.find("987654").unwrap() + 6];
        assert_eq!(parse_start_time(cut, true), None);
        assert_eq!(parse_start_time(cut, false), Some(987_654));
        let huge = "1 (x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 0 0 1 0 99999999999999999999999 1";
        assert_eq!(parse_start_time(huge.as_bytes(), false), None);
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
    fn the_identity_is_read_at_load_without_allocation_and_matches_proc() {
        let pid = crate::sys::proc::getpid();
        let read = read_self_id().unwrap();
        assert_eq!(read, compose(pid, start_time(pid).unwrap()));
        assert_eq!(self_id(), read);
        assert_eq!(SELF_ID.load(Ordering::Relaxed), read, "cached since load");
    }

    #[test]
    fn a_reaped_process_is_dead() {
        // `cat` runs until its standard input closes: alive for certain until then.
        let mut child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = i32::try_from(child.id()).unwrap();
        let id = compose(pid, start_time(pid).unwrap());
        let unknown = compose(pid, u64::from(UNKNOWN_START));
        assert!(is_alive(unknown), "unknown start: alive while the pid runs");
        drop(child.stdin.take());
        child.wait().unwrap();
        assert!(!is_alive(id));
        assert!(!is_alive(unknown));
    }
}
