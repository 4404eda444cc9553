//! The pool's errors: [`PoolError`] (building or using a pool, with [`WorkerStartError`]) and
//! [`TaskError`] (one task's outcome).

use std::sync::Arc;

use super::task::TaskName;
use crate::codec::CodecError;
use crate::process::{PanicLocation, SpawnError};
use crate::queue::QueueError;
use crate::shm::ShmError;
use crate::sys::OsError;
use crate::sys::proc::{ExitStatus, signal_name};

/// A pool could not be built or used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// `processes` was 0 (Python: "Number of processes must be at least 1").
    #[error("a pool needs at least one process")]
    NoProcesses,
    /// `maxtasksperchild` was 0.
    #[error("maxtasksperchild must be at least 1")]
    ZeroMaxTasks,
    /// A chunk size of 0 (Python: "Chunksize must be 1+, not 0").
    #[error("chunksize must be at least 1")]
    ZeroChunksize,
    /// The pool was closed or terminated: it takes no new tasks (Python: "Pool not running").
    #[error("the pool is not running")]
    NotRunning,
    /// `join` before `close` or `terminate` (Python: "Pool is still running").
    #[error("the pool is still running: call close() or terminate() before join()")]
    StillRunning,
    /// A worker's initializer failed; the pool stopped taking tasks.
    #[error("a worker's initializer failed: {message}")]
    InitializerFailed {
        /// What the initializer reported (its panic message).
        message: String,
    },
    /// Workers kept ending before they were ready, and no initializer is set: they were killed
    /// or could not start. Each was replaced after a pause that grows with every such end in a
    /// row; after `in_a_row` of them the pool stopped replacing them and fails what is
    /// submitted with this. (With an initializer set, the same is
    /// [`InitializerFailed`](PoolError::InitializerFailed).)
    #[error("{in_a_row} pool workers in a row ended before they were ready (the last: {})", describe_status(*last))]
    WorkersDiedBeforeReady {
        /// How many ended in a row, none of them ready and no worker becoming ready between.
        in_a_row: u32,
        /// How the last one ended, if known.
        last: Option<ExitStatus>,
    },
    /// A worker (or the pool's own thread) could not be started; the pool keeps running with
    /// the workers it has, if any. The cause is shared by the clones of this error.
    #[error("cannot start a pool worker")]
    Spawn(#[source] Arc<WorkerStartError>),
    /// `successful()` on a result that is not ready.
    #[error("the result is not ready")]
    NotReady,
    /// `join_timeout` ran out of time: the workers are still finishing.
    #[error("timed out waiting for the pool's workers")]
    Timeout,
}

impl From<WorkerStartError> for PoolError {
    fn from(e: WorkerStartError) -> Self {
        PoolError::Spawn(Arc::new(e))
    }
}

/// Why a pool worker could not be started (inside [`PoolError::Spawn`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WorkerStartError {
    /// A system call failed (a socket pair, a descriptor's duplicate, epoll, the pool thread).
    #[error(transparent)]
    Os(#[from] OsError),
    /// The worker process could not be started.
    #[error(transparent)]
    Process(#[from] SpawnError),
    /// The worker's report queue could not be made.
    #[error("cannot make the worker's report queue")]
    ReportQueue(#[source] QueueError),
    /// The pool's report bell (or a worker's sleep bell) could not be made.
    #[error("cannot make the pool's report bell")]
    ReportBell(#[source] ShmError),
    /// The pool's task ring could not be made.
    #[error("cannot make the pool's task ring")]
    TaskRing(#[source] ShmError),
    /// The pool's thread ended before it reported how starting the workers went.
    #[error("the pool thread ended before it started the workers")]
    ThreadEnded,
}

/// A task (or a chunk of tasks) did not produce its value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the worker survives.
    ///
    /// Match it with `TaskError::Panicked { message, .. }`: the variant may gain fields.
    #[error("task {task} panicked{}: {message}", crate::process::panic::at(location.as_ref()))]
    #[non_exhaustive]
    Panicked {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
        /// The panic message.
        message: String,
        /// Where the task panicked (`None` if it replaced the worker's panic hook, which
        /// records it).
        location: Option<PanicLocation>,
        /// The backtrace, when the worker's environment asks for backtraces (`RUST_BACKTRACE`
        /// or `RUST_LIB_BACKTRACE` set and not `0`).
        backtrace: Option<String>,
    },
    /// The worker running the task died (killed, aborted, crashed, exited). Only the task it
    /// was running fails this way; the worker is replaced and the pool goes on.
    #[error("task {task} lost its worker (pid {pid}, {})", describe_end(*signal, *code))]
    WorkerLost {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
        /// The worker's pid.
        pid: i32,
        /// The signal that ended it, if a signal did.
        signal: Option<i32>,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
    /// The task's arguments could not be serialized (nothing was submitted).
    #[error("cannot serialize the arguments of task {task}")]
    EncodeArgs {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
        /// The serialization error.
        #[source]
        source: CodecError,
    },
    /// The task returned a value that could not be serialized (in the worker).
    #[error("task {task} returned a value that cannot be serialized: {message}")]
    EncodeResult {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
        /// The error, as the worker saw it.
        message: String,
    },
    /// The result arrived but does not decode as the expected type.
    #[error("cannot decode the result of task {task}")]
    DecodeResult {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
        /// The decoding error.
        #[source]
        source: CodecError,
    },
    /// The deadline passed before the result was ready; ask again later.
    #[error("timed out waiting for the result")]
    Timeout,
    /// The pool was terminated before the task finished.
    #[error("the pool was terminated before task {task} finished")]
    Terminated {
        /// Which task: its type and the call that submitted it.
        task: TaskName,
    },
    /// The pool refused the task or stopped (see [`PoolError`]).
    #[error(transparent)]
    Pool(#[from] PoolError),
}

fn describe_status(status: Option<ExitStatus>) -> String {
    status.map_or_else(|| "unknown status".to_owned(), |s| s.to_string())
}

fn describe_end(signal: Option<i32>, code: Option<i32>) -> String {
    match (signal, code) {
        (Some(s), _) => format!("killed by signal {s} ({})", signal_name(s)),
        (None, Some(c)) => format!("exited with code {c}"),
        (None, None) => "ended".to_owned(),
    }
}
