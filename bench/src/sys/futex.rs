//! Process-shared futex wait and wake on a word in shared memory.
//!
//! No `FUTEX_PRIVATE_FLAG`: the waiters live in different processes.

use std::sync::atomic::AtomicU32;
use std::time::Duration;

/// Sleeps while `*word == expected`, at most `timeout`. Returns on a wake, a changed value,
/// a signal or the timeout; the caller re-checks its condition in every case.
pub(crate) fn wait(word: &AtomicU32, expected: u32, timeout: Duration) {
    let ts = libc::timespec {
        tv_sec: libc::time_t::try_from(timeout.as_secs()).unwrap_or(libc::time_t::MAX),
        tv_nsec: libc::c_long::from(timeout.subsec_nanos().cast_signed()),
    };
    // SAFETY: `word` is a live, aligned 32-bit word (a reference); the kernel only reads it and
    // `ts` for the duration of the call. EAGAIN/EINTR/ETIMEDOUT are all "re-check".
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT,
            expected,
            &raw const ts,
        );
    }
}

/// Wakes up to `n` processes sleeping on `word`.
pub(crate) fn wake(word: &AtomicU32, n: i32) {
    // SAFETY: `word` is a live, aligned 32-bit word; FUTEX_WAKE does not dereference it.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE, n);
    }
}
