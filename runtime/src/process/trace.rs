//! Structured events of the process family, for the `tracing` feature (off by default: without
//! it each function here is empty and compiles away).
//!
//! The events are listed in `process`'s module docs ("Events").

use crate::process::StartMethod;
use crate::sys::proc::ExitStatus;

/// A child was started.
pub(crate) fn started(pid: libc::pid_t, name: &str, method: StartMethod, daemon: bool) {
    #[cfg(feature = "tracing")]
    tracing::debug!(
        target: "mproc::process",
        pid,
        name,
        start_method = %method,
        daemon,
        "process started"
    );
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, name, method, daemon);
}

/// A child was reaped.
pub(crate) fn exited(pid: libc::pid_t, name: &str, status: ExitStatus) {
    #[cfg(feature = "tracing")]
    match status {
        ExitStatus::Code(code) => tracing::debug!(
            target: "mproc::process",
            pid,
            name,
            exit_status = %status,
            code,
            "process exited"
        ),
        ExitStatus::Signaled(signal) => tracing::warn!(
            target: "mproc::process",
            pid,
            name,
            exit_status = %status,
            signal,
            "process exited"
        ),
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, name, status);
}

/// A fork server was started; `generation` counts the servers this program started (a
/// generation above 1 replaces one that died or was discarded).
pub(crate) fn fork_server_started(pid: libc::pid_t, generation: u64) {
    #[cfg(feature = "tracing")]
    if generation > 1 {
        tracing::warn!(
            target: "mproc::process",
            pid,
            generation,
            restart = true,
            "fork server started"
        );
    } else {
        tracing::debug!(
            target: "mproc::process",
            pid,
            generation,
            restart = false,
            "fork server started"
        );
    }
    #[cfg(not(feature = "tracing"))]
    let _ = (pid, generation);
}

/// A fork server died or broke its protocol and was discarded (killed and reaped); the next
/// `ForkServer` start replaces it.
pub(crate) fn fork_server_lost(pid: libc::pid_t) {
    #[cfg(feature = "tracing")]
    tracing::warn!(target: "mproc::process", pid, "fork server lost");
    #[cfg(not(feature = "tracing"))]
    let _ = pid;
}
