//! The OS layer of the floors: every `unsafe` block of the benchmark lives here.
//!
//! The floors measure what the kernel and the hardware allow, so they call the kernel directly
//! (`fork`, `waitpid`, `execve`, `futex`, `mmap`, `sched_setaffinity`, `getrusage`). Each `unsafe` block
//! carries a `SAFETY:` note. The workloads above this module are safe Rust.

pub(crate) mod cpu;
pub(crate) mod proc;
pub(crate) mod shm;

use std::io;

/// Turns a `-1`-on-error libc return value into an `io::Result`.
fn cvt(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret == -1 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}
