//! Issue #15, finding 2: a lock is never taken from a live holder, even one whose identity
//! could not be read lazily (its descriptor table was full at its first lock use).
//!
//! The holder is a real child under every start method. It lowers its descriptor limit and
//! opens descriptors until `EMFILE` *before* it touches any lock, then takes the lock and says
//! so; the parent, in another process, must find the lock busy while the holder lives.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::sync_support::LIMIT;
use mproc::LockError;
use mproc::prelude::*;

/// Soft descriptor limit the holder sets for itself: small, so filling the table is quick.
const NOFILE: libc::rlim_t = 64;

/// What the holder saw: whether its table really was full, and how its lock calls went.
#[derive(Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct Report {
    filled: bool,
    acquired: Result<mproc::Acquired, LockError>,
    released: Result<(), LockError>,
}

/// Opens `/dev/null` until the table is full; returns the descriptors and whether `EMFILE`
/// was reached.
fn fill_descriptor_table() -> (Vec<libc::c_int>, bool) {
    let limit = libc::rlimit {
        rlim_cur: NOFILE,
        rlim_max: NOFILE.max(rlimit_max()),
    };
    // SAFETY: setrlimit reads a valid rlimit.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) };
    assert_eq!(set, 0);
    let mut fds = Vec::with_capacity(usize::try_from(NOFILE).unwrap());
    loop {
        // SAFETY: a NUL-terminated path; the descriptor is owned by `fds` until closed.
        let fd = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            let full = std::io::Error::last_os_error().raw_os_error() == Some(libc::EMFILE);
            return (fds, full);
        }
        fds.push(fd);
    }
}

fn rlimit_max() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes a valid rlimit.
    let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) };
    assert_eq!(got, 0);
    limit.rlim_max
}

/// Fills its descriptor table, then (first lock use of this process) takes `lock`, says so,
/// and holds it until `done` (bounded).
#[process]
fn hold_with_a_full_table(lock: Lock, held: Event, done: Event) -> Report {
    let (fds, filled) = fill_descriptor_table();
    let acquired = lock.acquire();
    held.set();
    let _ = done.wait_timeout(LIMIT);
    let released = lock.release();
    for fd in fds {
        // SAFETY: each was opened above and is closed once.
        unsafe { libc::close(fd) };
    }
    Report {
        filled,
        acquired,
        released,
    }
}

#[test]
fn a_holder_whose_table_was_full_at_first_use_keeps_its_lock() {
    for method in integration_tests::METHODS {
        let (lock, held, done) = (
            Lock::new().unwrap(),
            Event::new().unwrap(),
            Event::new().unwrap(),
        );
        let holder = hold_with_a_full_table::builder()
            .start_method(method)
            .spawn(lock.clone(), held.clone(), done.clone())
            .unwrap();
        assert!(
            held.wait_timeout(LIMIT).is_ok(),
            "{method:?}: the holder never said so"
        );
        let contended = lock.try_acquire();
        let timed = lock.acquire_timeout(std::time::Duration::from_millis(20));
        done.set();
        let report = holder.join_timeout(LIMIT).unwrap();
        assert!(
            report.filled,
            "{method:?}: the table never filled: {report:?}"
        );
        assert_eq!(report.acquired, Ok(mproc::Acquired::Clean), "{method:?}");
        assert_eq!(
            contended,
            Err(LockError::WouldBlock),
            "{method:?}: the lock was taken from its live holder"
        );
        assert_eq!(timed, Err(LockError::Timeout), "{method:?}");
        assert_eq!(report.released, Ok(()), "{method:?}");
        assert!(!lock.is_locked(), "{method:?}");
    }
}

/// Fills its descriptor table, then forks a grandchild with [`libc::fork`]: the grandchild's
/// identity cannot be read at all (its inherited table is full), so it must fall back to an
/// identity nobody judges dead while it lives. It takes `lock`, says so, holds it until `done`.
/// Returns whether the table was full and the grandchild's exit status.
#[process]
fn fork_a_holder_with_a_full_table(lock: Lock, held: Event, done: Event) -> (bool, i32) {
    let (fds, filled) = fill_descriptor_table();
    // SAFETY: the grandchild only uses the lock and events (atomics and futexes in memory
    // mapped before the fork) and leaves with `_exit`.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let acquired = lock.acquire();
        held.set();
        let _ = done.wait_timeout(LIMIT);
        let released = lock.release();
        let code = i32::from(acquired.is_err()) | i32::from(released.is_err()) << 1;
        // SAFETY: ends the grandchild without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = -1;
    if pid > 0 {
        // SAFETY: waits for our own child; `status` is a valid out-pointer. The parent bounds
        // this by setting `done` (the grandchild's only wait is bounded too).
        unsafe { libc::waitpid(pid, &raw mut status, 0) };
    }
    for fd in fds {
        // SAFETY: each was opened above and is closed once.
        unsafe { libc::close(fd) };
    }
    (filled, status)
}

#[test]
fn a_holder_whose_identity_cannot_be_read_at_all_keeps_its_lock() {
    let (lock, held, done) = (
        Lock::new().unwrap(),
        Event::new().unwrap(),
        Event::new().unwrap(),
    );
    let child =
        fork_a_holder_with_a_full_table::spawn(lock.clone(), held.clone(), done.clone()).unwrap();
    assert!(
        held.wait_timeout(LIMIT).is_ok(),
        "the grandchild never said so"
    );
    let contended = lock.try_acquire();
    done.set();
    let (filled, status) = child.join_timeout(LIMIT).unwrap();
    assert!(filled, "the table never filled");
    assert_eq!(
        contended,
        Err(LockError::WouldBlock),
        "the lock was taken from its live holder"
    );
    assert_eq!(status, 0, "the grandchild's acquire or release failed");
    assert!(!lock.is_locked());
}
