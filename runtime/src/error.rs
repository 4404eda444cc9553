//! Error types: one enum per operation family, and [`Error`] wrapping them all for `?` in
//! `main`.

use std::io;

pub use crate::codec::CodecError;
use crate::process::StartMethod;
use crate::queue::QueueError;
use crate::shm::ShmError;
use crate::sync::{ArrayError, BarrierError, ConditionError, LockError, SemaphoreError};
use crate::sys::proc::{ExitStatus, signal_name};
use crate::topology::TopologyError;

/// Starting a process failed; no child is left behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The arguments could not be serialized.
    #[error("cannot serialize the process arguments")]
    Encode(#[source] CodecError),
    /// The target function does not live in the main executable (for example it is in a shared
    /// library), so a re-executed child could not find it. Use the `Fork` start method.
    #[error("the target function is not part of the main executable; use the fork start method")]
    TargetNotInExecutable,
    /// A system call failed.
    #[error("cannot start a process: {op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// No start method was given and the default cannot be determined (a bad
    /// `MPROC_START_METHOD`).
    #[error("cannot start a process: no valid start method")]
    StartMethod(#[from] StartMethodError),
    /// The fork server could not start the process, or could not be started or reached.
    #[error("the fork server cannot start a process: {reason}")]
    ForkServer {
        /// What went wrong.
        reason: String,
    },
}

/// Choosing a start method failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartMethodError {
    /// The program's start method was already fixed, by an earlier
    /// [`set_start_method`](crate::set_start_method) or by the first use of the default
    /// (Python's `RuntimeError("context has already been set")`).
    #[error("the start method has already been set (to `{current}`)")]
    AlreadySet {
        /// The method in force.
        current: StartMethod,
    },
    /// A name that is not `fork`, `spawn` or `forkserver`.
    #[error("unknown start method `{name}`: expected `fork`, `spawn` or `forkserver`")]
    Unknown {
        /// The name given.
        name: String,
    },
    /// The `MPROC_START_METHOD` environment variable names no method.
    #[error(
        "environment variable MPROC_START_METHOD is `{value}`: expected `fork`, `spawn` or `forkserver`"
    )]
    Environment {
        /// The variable's value (lossily decoded).
        value: String,
    },
}

impl SpawnError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| SpawnError::Os { op, source }
    }
}

/// A child did not produce its function's value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The function panicked; the message is the panic payload (as `panic!` formatted it).
    #[error("process panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The process exited (for example with `std::process::exit(code)`) without returning.
    #[error("process exited with code {code} before returning a value")]
    Exited {
        /// The exit code (its low 8 bits, as the kernel keeps them).
        code: i32,
    },
    /// The process was ended by a signal.
    #[error("process was killed by signal {signal} ({})", signal_name(*signal))]
    Killed {
        /// The signal number.
        signal: i32,
    },
    /// The deadline passed while the process was still running; it can be joined again.
    #[error("timed out waiting for the process")]
    Timeout,
    /// The process was already joined (its value was taken by an earlier `join`).
    #[error("process was already joined")]
    AlreadyJoined,
    /// The child could not start running the function: its arguments did not decode, or its
    /// start-up failed. The message says why.
    #[error("process could not start its function: {message}")]
    Bootstrap {
        /// What failed in the child.
        message: String,
    },
    /// The child's return value could not be serialized (in the child).
    #[error("process could not serialize its return value: {message}")]
    EncodeResult {
        /// The serialization error, as the child saw it.
        message: String,
    },
    /// The child's return value arrived but does not decode as the expected type.
    #[error("cannot decode the process result")]
    DecodeResult(#[source] CodecError),
    /// The result channel was corrupted.
    #[error("the result channel from the process is corrupted: {0}")]
    Corrupted(String),
    /// A system call failed while waiting for or signalling the process.
    #[error("{op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

impl ProcessError {
    pub(crate) fn os(op: &'static str) -> impl FnOnce(io::Error) -> Self {
        move |source| ProcessError::Os { op, source }
    }
}

/// Any mproc error, for `?` in functions that use several families.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// See [`SpawnError`].
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// See [`ProcessError`].
    #[error(transparent)]
    Process(#[from] ProcessError),
    /// See [`CodecError`].
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// See [`StartMethodError`].
    #[error(transparent)]
    StartMethod(#[from] StartMethodError),
    /// See [`PipeError`].
    #[error(transparent)]
    Pipe(#[from] PipeError),
    /// See [`PoolError`].
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// See [`QueueError`].
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// See [`TopologyError`].
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// See [`TaskError`].
    #[error(transparent)]
    Task(#[from] TaskError),
    /// See [`ShmError`].
    #[error(transparent)]
    Shm(#[from] ShmError),
    /// See [`LockError`].
    #[error(transparent)]
    Lock(#[from] LockError),
    /// See [`SemaphoreError`].
    #[error(transparent)]
    Semaphore(#[from] SemaphoreError),
    /// See [`ConditionError`].
    #[error(transparent)]
    Condition(#[from] ConditionError),
    /// See [`BarrierError`].
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// See [`ArrayError`].
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// See [`AuthKeyError`](crate::AuthKeyError).
    #[error(transparent)]
    AuthKey(#[from] crate::AuthKeyError),
    /// See [`InvalidBool`](crate::InvalidBool).
    #[error(transparent)]
    InvalidBool(#[from] crate::shm::InvalidBool),
    /// A named shared-memory operation failed.
    #[error(transparent)]
    SharedMemory(#[from] crate::shared_memory::SharedMemoryError),
    /// A `ShareableList` operation failed.
    #[error(transparent)]
    ShareableList(#[from] crate::shared_memory::ShareableListError),
    /// An I/O error from code around mproc (files, sockets the user opened).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A pipe operation failed. Unless it says otherwise, the connection stays usable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipeError {
    /// The other end is closed (in every process) and every message sent before was received
    /// (Python's `EOFError`).
    #[error("the other end of the pipe is closed and no message is left")]
    Eof,
    /// Sending failed because the other end is closed (Python's `BrokenPipeError`).
    #[error("the other end of the pipe is closed")]
    Disconnected,
    /// The deadline passed; nothing was sent or received.
    #[error("timed out")]
    Timeout,
    /// A message longer than this end accepts. From `recv`/`recv_bytes` the message was
    /// discarded unread; from `recv_bytes_max` it was left in the pipe for another call.
    #[error("message of {len} bytes exceeds the maximum of {max} bytes")]
    TooLarge {
        /// The message's length.
        len: u64,
        /// The maximum in force.
        max: u64,
    },
    /// `recv_bytes_into`'s buffer was too short; the whole message is here (Python's
    /// `BufferTooShort`, whose `args[0]` is the message).
    #[error("buffer too short for a message of {} bytes", message.len())]
    BufferTooShort {
        /// The complete message, which was received.
        message: Vec<u8>,
    },
    /// `offset`/`size` do not describe a part of the buffer.
    #[error("offset {offset} and size {size:?} do not fit a buffer of {len} bytes")]
    OutOfBounds {
        /// The offset given.
        offset: usize,
        /// The size given (`None`: to the end).
        size: Option<usize>,
        /// The buffer's length.
        len: usize,
    },
    /// The value could not be serialized; nothing was sent.
    #[error("cannot serialize the message")]
    Encode(#[source] CodecError),
    /// The message does not decode as the expected type; it was consumed.
    #[error("cannot deserialize the message")]
    Decode(#[source] CodecError),
    /// A message mproc does not send arrived (a foreign or malicious peer); it was discarded.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A descriptor received as a pipe end is not an mproc pipe socket.
    #[error("the descriptor is not an mproc pipe end")]
    NotAPipe,
    /// A system call failed.
    #[error("{op} failed")]
    Os {
        /// The operation that failed.
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
}

/// A pool could not be built or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// A worker could not be started.
    #[error("cannot start a pool worker: {message}")]
    Spawn {
        /// The start error, as text (the pool keeps running with the workers it has).
        message: String,
    },
    /// `successful()` on a result that is not ready.
    #[error("the result is not ready")]
    NotReady,
    /// `join_timeout` ran out of time: the workers are still finishing.
    #[error("timed out waiting for the pool's workers")]
    Timeout,
}

/// A task (or a chunk of tasks) did not produce its value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the worker survives.
    #[error("task `{task}` panicked: {message}")]
    Panicked {
        /// The task's name (the function's path).
        task: &'static str,
        /// The panic message.
        message: String,
    },
    /// The worker running the task died (killed, aborted, crashed, exited). Only the task it
    /// was running fails this way; the worker is replaced and the pool goes on.
    #[error("task `{task}` lost its worker (pid {pid}, {})", describe_end(*signal, *code))]
    WorkerLost {
        /// The task's name.
        task: &'static str,
        /// The worker's pid.
        pid: i32,
        /// The signal that ended it, if a signal did.
        signal: Option<i32>,
        /// Its exit code, if it exited.
        code: Option<i32>,
    },
    /// The task's arguments could not be serialized (nothing was submitted).
    #[error("cannot serialize the arguments of task `{task}`")]
    EncodeArgs {
        /// The task's name.
        task: &'static str,
        /// The serialization error.
        #[source]
        source: CodecError,
    },
    /// The task returned a value that could not be serialized (in the worker).
    #[error("task `{task}` returned a value that cannot be serialized: {message}")]
    EncodeResult {
        /// The task's name.
        task: &'static str,
        /// The error, as the worker saw it.
        message: String,
    },
    /// The result arrived but does not decode as the expected type.
    #[error("cannot decode the result of task `{task}`")]
    DecodeResult {
        /// The task's name.
        task: &'static str,
        /// The decoding error.
        #[source]
        source: CodecError,
    },
    /// The deadline passed before the result was ready; ask again later.
    #[error("timed out waiting for the result")]
    Timeout,
    /// The pool was terminated before the task finished.
    #[error("the pool was terminated before task `{task}` finished")]
    Terminated {
        /// The task's name.
        task: &'static str,
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
