//! CPU placement, clocks and peak memory of the measuring process.

use std::io;

use super::cvt;

/// Restricts this process (and the children it starts afterwards) to CPU 0, as
/// `taskset -c 0` would.
pub(crate) fn pin_to_cpu0() -> io::Result<()> {
    // SAFETY: `cpu_set_t` is plain data for which all-zero is the empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: CPU 0 is within the set's capacity.
    unsafe { libc::CPU_SET(0, &mut set) };
    // SAFETY: `set` is a valid cpu_set_t of the size passed; pid 0 is this process.
    cvt(unsafe { libc::sched_setaffinity(0, std::mem::size_of_val(&set), &raw const set) })?;
    Ok(())
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine, so a child's
/// end time can be compared with its parent's start time.
pub(crate) fn mono_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe {
        libc::clock_gettime(libc::CLOCK_MONOTONIC, &raw mut ts);
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs * 1_000_000_000 + nanos
}

/// Peak resident set size (`VmHWM`) in KiB of this process (`RUSAGE_SELF`) or of the largest
/// child it has waited for (`RUSAGE_CHILDREN`).
fn max_rss_kib(who: libc::c_int) -> u64 {
    // SAFETY: `rusage` is plain data for which all-zero is valid.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid out-pointer.
    if unsafe { libc::getrusage(who, &raw mut usage) } != 0 {
        return 0;
    }
    u64::try_from(usage.ru_maxrss).unwrap_or(0) // Linux reports KiB
}

/// Peak RSS of this process, in KiB.
pub(crate) fn peak_rss_self_kib() -> u64 {
    max_rss_kib(libc::RUSAGE_SELF)
}

/// Peak RSS of the largest reaped child (a worker), in KiB; 0 if none was reaped.
pub(crate) fn peak_rss_children_kib() -> u64 {
    max_rss_kib(libc::RUSAGE_CHILDREN)
}
