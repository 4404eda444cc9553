//! # mproc
//!
//! Python's `multiprocessing`, rebuilt for Rust: real OS processes with typed arguments and
//! results, compile-time checked spawning, shared-memory locks, values and queues, pipes,
//! process pools, and typed process topologies (`process!`).
//!
//! ```
//! use mproc::prelude::*;
//!
//! #[process]
//! fn greet(name: String, times: u32) -> String {
//!     format!("hello {name} x{times} from pid {}", current_process().pid())
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let child = greet::spawn("world".into(), 3)?;
//! let reply = child.join()?;
//! assert!(reply.starts_with("hello world x3"));
//! # Ok(())
//! # }
//! ```
//!
//! `greet` stays an ordinary function; `#[process]` adds `greet::spawn(..)` and
//! `greet::builder()` (name, daemon flag, start method, stdio) beside it. Without the macro,
//! [`Process::new`] takes any `fn` or non-capturing closure.
//!
//! ## How it works
//!
//! Arguments and results always travel serialized (serde + postcard), whatever the start
//! method; handles to shared objects travel as file descriptors beside the bytes. A child
//! finds its function through a typed trampoline: a direct pointer under `Fork`, an offset
//! within the same executable under `Spawn` and `ForkServer` (see [`StartMethod`]).
//!
//! ## Coming from Python
//!
//! [`guide::python`] maps every name of Python's `multiprocessing` to mproc's, with the three
//! differences a port runs into first (start methods and globals, `join`, errors as values).

#![warn(missing_docs)]

mod auth;
pub mod codec;
mod codeptr;
pub mod connection;
mod error;
pub mod guide;
pub mod manager;
#[cfg(feature = "mpi")]
pub mod mpi;
pub mod pipe;
pub mod pool;
pub mod process;
pub mod queue;
pub mod shared;
pub mod shared_memory;
pub mod shm;
pub mod sync;
mod sys;
pub mod topology;
pub mod trust;
mod wire;

#[doc(hidden)]
pub mod __private;

#[cfg(all(any(test, feature = "fuzzing"), not(loom)))]
#[doc(hidden)]
pub mod __fuzz;

pub use auth::{AuthKey, AuthKeyError, MAX_AUTHKEY_LEN, set_authkey};
pub use codec::CodecError;
pub use error::{Error, Result};
pub use mproc_macros::{ShmSafe, managed, pool_task, process};
pub use pipe::{Connection, Pipe, PipeError};
pub use pool::{AsyncResult, Pool, PoolError, TaskError};
pub use process::{
    Child, ChildOutput, CurrentProcess, ExitStatus, PanicLocation, ParentProcess, Process,
    ProcessError, ProcessHandle, START_METHOD_ENV, SpawnError, StartMethod, StartMethodError,
    active_children, cpu_count, current_process, get_start_method, parent_process,
    set_start_method,
};
pub use queue::{JoinableQueue, Queue, QueueError, QueueReader, QueueWriter, SimpleQueue};
pub use shared::{Array, ArrayError, ArrayGuard, RawArray, RawValue, Value, ValueGuard};
pub use shm::{InvalidBool, ShmBool, ShmError, ShmSafe};
pub use sync::{
    Acquired, Barrier, BarrierCreateError, BarrierError, BoundedSemaphore, Condition,
    ConditionError, Event, EventError, Lock, LockError, OwnerDied, RLock, Semaphore,
    SemaphoreError, TryLockError,
};
pub use sys::OsError;

/// Diagnostics for tests and leak checks.
pub mod diag {
    pub use crate::process::{fork_result_ticket, fork_server_pid, started_by};
    pub use crate::sys::fd::open_fd_count;
}

/// The names most programs need: `use mproc::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Acquired, Array, ArrayError, AsyncResult, Barrier, BarrierCreateError, BarrierError,
        BoundedSemaphore, Child, CodecError, Condition, ConditionError, Connection, Event,
        EventError, ExitStatus, InvalidBool, JoinableQueue, Lock, LockError, Pipe, PipeError, Pool,
        PoolError, Process, ProcessError, ProcessHandle, Queue, QueueError, RLock, Semaphore,
        SemaphoreError, ShmBool, ShmError, ShmSafe, SimpleQueue, SpawnError, StartMethod,
        StartMethodError, TaskError, TryLockError, Value, active_children, cpu_count,
        current_process, get_start_method, parent_process, set_start_method,
    };
    pub use crate::{pool_task, process};
}
