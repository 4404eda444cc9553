//! Futexes on 32-bit words that live in shared memory.
//!
//! Waits are never `FUTEX_PRIVATE_FLAG`: the words are shared between processes, so the kernel
//! must key them by the underlying page, not by this process's address space. Timed waits take
//! an absolute `CLOCK_MONOTONIC` deadline (`FUTEX_WAIT_BITSET` without `FUTEX_CLOCK_REALTIME`),
//! so a retry after a spurious wakeup or `EINTR` never stretches the timeout.
// Under `--cfg loom` the algorithms park on a model instead.
#![cfg_attr(loom, allow(dead_code))]

use std::io;
use std::sync::atomic::{AtomicU32, AtomicU64};
use std::time::Instant;

/// Why a [`wait`] returned. Callers re-check their condition in every case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Waited {
    /// Woken, interrupted, or the word no longer held the expected value.
    Woken,
    /// The deadline passed.
    TimedOut,
}

/// Blocks while `*word == expected`, until woken or until `deadline` (`None`: no deadline).
///
/// Spurious returns are possible; the caller loops on its own condition.
pub(crate) fn wait(word: &AtomicU32, expected: u32, deadline: Option<Instant>) -> Waited {
    wait_raw(word.as_ptr(), expected, deadline)
}

/// Like [`wait`], on the low 32 bits of a 64-bit word (the half that holds the bits a lock's
/// waiters watch).
pub(crate) fn wait_low(word: &AtomicU64, expected: u32, deadline: Option<Instant>) -> Waited {
    wait_raw(low_half(word), expected, deadline)
}

/// Like [`wake`], for waiters on the low half of a 64-bit word.
pub(crate) fn wake_low(word: &AtomicU64, count: u32) -> usize {
    wake_raw(low_half(word), count)
}

/// The address of the low 32 bits of `word`.
fn low_half(word: &AtomicU64) -> *mut u32 {
    let base = word.as_ptr().cast::<u32>();
    if cfg!(target_endian = "little") {
        base
    } else {
        base.wrapping_add(1)
    }
}

/// Blocks while `*addr == expected`; `addr` points into a live aligned word.
fn wait_raw(addr: *mut u32, expected: u32, deadline: Option<Instant>) -> Waited {
    let ts = match deadline {
        None => None,
        Some(d) => {
            let now = Instant::now();
            if d <= now {
                return Waited::TimedOut;
            }
            Some(monotonic_after(d - now))
        }
    };
    let tp = ts.as_ref().map_or(std::ptr::null(), std::ptr::from_ref);
    // SAFETY: `addr` is a live, aligned 32-bit word for the duration of the call (both
    // callers derive it from a borrowed atomic); the kernel only reads it. `tp` is null or points at a live timespec. The bitset
    // operation with FUTEX_BITSET_MATCH_ANY behaves as FUTEX_WAIT with an absolute timeout.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_futex,
            addr,
            libc::FUTEX_WAIT_BITSET,
            expected,
            tp,
            std::ptr::null::<u32>(),
            libc::FUTEX_BITSET_MATCH_ANY,
        )
    };
    if ret == -1 && io::Error::last_os_error().raw_os_error() == Some(libc::ETIMEDOUT) {
        Waited::TimedOut
    } else {
        // 0 (woken), EAGAIN (value changed), EINTR (signal): the caller re-checks.
        Waited::Woken
    }
}

/// Wakes up to `count` waiters blocked on `word` (`u32::MAX`: all). Returns how many woke.
pub(crate) fn wake(word: &AtomicU32, count: u32) -> usize {
    wake_raw(word.as_ptr(), count)
}

fn wake_raw(addr: *mut u32, count: u32) -> usize {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    // SAFETY: `addr` is a live aligned word (derived from a borrowed atomic); FUTEX_WAKE only
    // uses it to find its waiters.
    let ret = unsafe { libc::syscall(libc::SYS_futex, addr, libc::FUTEX_WAKE, count) };
    usize::try_from(ret).unwrap_or(0)
}

/// `CLOCK_MONOTONIC` now plus `d`, as a timespec (saturating far in the future).
fn monotonic_after(d: std::time::Duration) -> libc::timespec {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut now) };
    #[allow(
        clippy::useless_conversion,
        reason = "`c_long` is 32 bits on some targets"
    )]
    let nanos = i64::from(now.tv_nsec) + i64::from(d.subsec_nanos());
    let secs = i64::try_from(d.as_secs())
        .unwrap_or(i64::MAX / 2)
        .saturating_add(now.tv_sec)
        .saturating_add(nanos / 1_000_000_000);
    libc::timespec {
        tv_sec: secs,
        tv_nsec: nanos % 1_000_000_000,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_changed_word_returns_at_once() {
        let w = AtomicU32::new(1);
        assert_eq!(wait(&w, 0, None), Waited::Woken);
    }

    #[test]
    fn a_deadline_times_out() {
        let w = AtomicU32::new(0);
        let t = Instant::now();
        assert_eq!(
            wait(&w, 0, Some(t + Duration::from_millis(5))),
            Waited::TimedOut
        );
        assert!(t.elapsed() >= Duration::from_millis(5));
        assert_eq!(wait(&w, 0, Some(t)), Waited::TimedOut);
    }

    #[test]
    fn wake_releases_a_waiter() {
        let w = std::sync::Arc::new(AtomicU32::new(0));
        let w2 = w.clone();
        let t = std::thread::spawn(move || {
            while w2.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                wait(&w2, 0, Some(Instant::now() + Duration::from_secs(10)));
            }
        });
        w.store(1, std::sync::atomic::Ordering::SeqCst);
        wake(&w, 1);
        t.join().unwrap();
    }
}
