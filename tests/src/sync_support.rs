//! Helpers for the cross-process synchronization tests (`tests/sync_*.rs`).

use std::time::{Duration, Instant};

/// The bound on every wait in the sync tests: long enough for a loaded CI machine, short
/// enough that a bug fails the test instead of hanging it.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Polls `condition` until it holds or `LIMIT` passes; returns whether it held.
///
/// For states no primitive can signal (for example "that process is now blocked in the
/// kernel"); everything else waits on an `Event`, a `Barrier` or a join.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + LIMIT;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    condition()
}

/// The futex system call number (what `/proc/<pid>/syscall` shows while a task sleeps in it).
#[cfg(target_arch = "x86_64")]
const SYS_FUTEX: &str = "202";
#[cfg(target_arch = "aarch64")]
const SYS_FUTEX: &str = "98";

/// Whether process `pid` (its main thread) is blocked in a futex wait right now.
#[must_use]
pub fn in_futex_wait(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/syscall"))
        .is_ok_and(|s| s.split_whitespace().next() == Some(SYS_FUTEX))
}

/// Waits (bounded) until `pid` is parked on a futex: the deterministic replacement for
/// "sleep a bit so the child is surely waiting".
///
/// # Panics
/// If it does not park within [`LIMIT`].
pub fn wait_parked(pid: i32) {
    assert!(
        eventually(|| in_futex_wait(pid)),
        "process {pid} never blocked on a futex"
    );
}

/// Mappings of mproc segments in this process (`/memfd:mproc-...` lines of
/// `/proc/self/maps`).
#[must_use]
pub fn mproc_mappings() -> usize {
    std::fs::read_to_string("/proc/self/maps").map_or(usize::MAX, |m| {
        m.lines().filter(|l| l.contains("/memfd:mproc-")).count()
    })
}
