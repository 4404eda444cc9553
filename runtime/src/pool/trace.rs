//! Structured events of the pool, for the `tracing` feature (off by default: without it each
//! function here is empty and compiles away). Target `mproc::pool`; listed in the pool's module
//! docs ("Events").

use crate::process::ExitStatus;

/// A worker was started in `slot`; `replacement` if the slot had a worker before.
pub(crate) fn worker_started(pid: libc::pid_t, slot: usize, name: &str, replacement: bool) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "mproc::pool",
        pid,
        slot,
        name,
        replacement,
        "pool worker started"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, slot, name, replacement);
}

/// A worker ended (`status` if known) holding `lost` chunks, which failed with `WorkerLost`.
pub(crate) fn worker_ended(pid: libc::pid_t, status: Option<ExitStatus>, lost: usize) {
    #[cfg(feature = "tracing")]
    {
        let exit_status = status.map_or_else(|| "unknown".to_owned(), |s| s.to_string());
        if lost > 0 || matches!(status, Some(ExitStatus::Signaled(_))) {
            tracing::warn!(target: "mproc::pool", pid, exit_status, lost, "pool worker ended");
        } else {
            tracing::debug!(target: "mproc::pool", pid, exit_status, lost, "pool worker ended");
        }
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, status, lost);
}
