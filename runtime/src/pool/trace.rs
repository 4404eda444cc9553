//! Structured events of the pool, for the `tracing` feature (off by default: without it each
//! function here is empty and compiles away). Target `mproc::pool`.

use crate::process::ExitStatus;

/// A worker was started in `slot`.
pub(crate) fn worker_started(pid: libc::pid_t, slot: usize, name: &str) {
    #[cfg(feature = "tracing")]
    tracing::debug!(target: "mproc::pool", pid, slot, name, "pool worker started");
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, slot, name);
}

/// A worker ended (`status` if known); its slot is filled again while the pool runs.
pub(crate) fn worker_ended(pid: libc::pid_t, status: Option<ExitStatus>) {
    #[cfg(feature = "tracing")]
    match status {
        Some(ExitStatus::Code(0)) => {
            tracing::debug!(target: "mproc::pool", pid, exit_status = "exit code 0", "pool worker ended");
        }
        Some(status) => {
            tracing::warn!(target: "mproc::pool", pid, exit_status = %status, "pool worker ended");
        }
        None => tracing::warn!(target: "mproc::pool", pid, "pool worker ended"),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, status);
}
