//! The umbrella [`Error`], wrapping every module's errors for `?` in `main`, and [`Result`].
//! Each module owns its error enums (`process::error`, `pipe::error`, `pool::error`, …).

use std::io;

use crate::codec::CodecError;
use crate::pipe::PipeError;
use crate::pool::{PoolError, TaskError};
use crate::process::{ProcessError, SpawnError, StartMethodError};
use crate::queue::QueueError;
use crate::shared::ArrayError;
use crate::shm::ShmError;
use crate::sync::{
    BarrierCreateError, BarrierError, ConditionError, EventError, LockError, OwnerDied,
    SemaphoreError, TryLockError,
};
use crate::topology::TopologyError;

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
    /// See [`BarrierCreateError`].
    #[error(transparent)]
    BarrierCreate(#[from] BarrierCreateError),
    /// See [`BarrierError`].
    #[error(transparent)]
    Barrier(#[from] BarrierError),
    /// See [`EventError`].
    #[error(transparent)]
    Event(#[from] EventError),
    /// See [`ArrayError`].
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// See [`AuthKeyError`](crate::AuthKeyError).
    #[error(transparent)]
    AuthKey(#[from] crate::AuthKeyError),
    /// See [`InvalidBool`](crate::InvalidBool).
    #[error(transparent)]
    InvalidBool(#[from] crate::shm::InvalidBool),
    /// A `Listener`, `Client` or network `Connection` operation failed.
    #[error(transparent)]
    Connection(#[from] crate::connection::ConnectionError),
    /// A named shared-memory operation failed.
    #[error(transparent)]
    SharedMemory(#[from] crate::shared_memory::SharedMemoryError),
    /// A `ShareableList` operation failed.
    #[error(transparent)]
    ShareableList(#[from] crate::shared_memory::ShareableListError),
    /// A manager or proxy operation failed.
    #[error(transparent)]
    Manager(#[from] crate::manager::ManagerError),
    /// An I/O error from code around mproc (files, sockets the user opened).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl<G> From<OwnerDied<G>> for Error {
    fn from(e: OwnerDied<G>) -> Self {
        Error::Lock(e.into())
    }
}

impl<G> From<TryLockError<G>> for Error {
    fn from(e: TryLockError<G>) -> Self {
        Error::Lock(e.into())
    }
}
