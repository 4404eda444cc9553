//! The process pool: Python's `multiprocessing.Pool`, crash-isolated, lazy and fast.
//!
//! ```
//! use mproc::Pool;
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn add((a, b): (u64, u64)) -> u64 {
//!     a + b
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let pool = Pool::new(2)?;
//! assert_eq!(pool.map(square, 1..=4).run()?, [1, 4, 9, 16]);
//! assert_eq!(pool.map(square, 1..=4).chunksize(2).run()?, [1, 4, 9, 16]);
//! assert_eq!(pool.starmap(add, [(1, 2), (3, 4)]).run()?, [3, 7]);
//! assert_eq!(pool.apply(|x| x + 1, 41u64)?, 42); // a closure's types are inferred
//! let squares: Vec<u64> = pool.imap(square, 1..).take(3).collect::<Result<_, _>>()?;
//! assert_eq!(squares, [1, 4, 9]);
//! pool.close();
//! pool.join()?;
//! # Ok(())
//! # }
//! ```
//!
//! # Tasks
//!
//! A task is a `fn(A) -> R`: a function item or a closure that captures nothing, taking one
//! argument and returning a value, both serde types (see [`TaskValue`]). Several arguments
//! travel as one tuple, as in [`Process::new`](crate::Process::new): write
//! `fn add((a, b): (u64, u64))`, or put `#[pool_task]` on `fn add(a: u64, b: u64)`, which
//! rewrites it to take that tuple. `map` and `starmap` are then the same operation (both names
//! exist, as in Python). A task of no arguments takes `()`.
//!
//! Only the function's identity travels to the worker, never a captured value, so Python's
//! "can't pickle lambda" does not exist here, and a closure that captures is refused by the
//! type checker (`cargo check`), at the call:
//!
//! ```compile_fail
//! # fn main() -> mproc::Result<()> {
//! let pool = mproc::Pool::new(2)?;
//! let offset = 10;
//! pool.map(move |x: u64| x + offset, 1..=4).run()?; // captures `offset`: refused
//! # Ok(())
//! # }
//! ```
//!
//! Give such values as arguments instead (`pool.map(|(x, offset)| x + offset, ...)`).
//! Handles (a pipe end, a `codec::Fd`, shared-memory objects) can be task arguments, also ones
//! created after the pool started: their descriptors travel with the task.
//!
//! # Crashes
//!
//! A task that panics fails with [`TaskError::Panicked`]; its worker lives on. A worker that
//! dies (killed, aborted, segfaulting, exiting) fails only the task it was running, with
//! [`TaskError::WorkerLost`]: a worker records the chunk it takes in shared memory in the same
//! atomic step as taking it, so the pool knows exactly which one it held. Tasks it had not
//! taken are taken by the other workers, a new worker takes its place, and the pool goes on.
//! (Python's `Pool` loses the task and `get()` hangs.)
//!
//! A worker that dies before it is ready (before or while its initializer runs) is replaced
//! too, after a pause that grows with each such death in a row. Only when `processes + 4`
//! workers in a row die or fail that way does the pool give up: what is submitted then fails
//! with [`PoolError::InitializerFailed`] if an initializer is set (one that keeps failing),
//! else with [`PoolError::WorkersDiedBeforeReady`]. (Python's `Pool` replaces them forever.)
//!
//! # One grammar for the map family
//!
//! Python's names are the entry points; Python's keyword arguments are methods of the call
//! they return: `pool.map(f, xs, chunksize=8)` is `pool.map(f, xs).chunksize(8).run()`, and
//! `pool.map_async(f, xs, callback=cb)` is `pool.map_async(f, xs).run()?.on_success(cb)`.
//! See [`Map`], [`MapAsync`] and [`IMap`].
//!
//! # Chunks and laziness
//!
//! `map` splits its input into chunks as Python does (`len / (4 × workers)`, rounded up) unless
//! a chunk size is given. Chunks wait in a ring in shared memory, in submission order, and a
//! worker takes the next one when it is free (Python's model): a slow task delays only itself,
//! and tasks start in the order they were submitted. `imap` and `imap_unordered` read their
//! input only as results are consumed, keeping at most two chunks per worker submitted and not
//! yet consumed, so an endless input works in bounded memory.
//!
//! # Ending a pool
//!
//! [`close`](Pool::close) stops new submissions and lets the workers finish what was
//! submitted; [`terminate`](Pool::terminate) stops them at once (unfinished tasks fail with
//! [`TaskError::Terminated`]); [`join`](Pool::join) waits for the workers and the callbacks.
//! Dropping a running pool closes it and joins it: submitted tasks finish first. (Python's
//! context manager terminates instead; call `terminate()` for that.) Either way no worker is
//! left behind: workers are daemons and also die if this process is killed.
//!
//! # Events
//!
//! With the cargo feature `tracing`, the pool emits events with the target `mproc::pool`
//! (besides the `mproc::process` events of its workers, which are processes):
//!
//! | event | level | fields |
//! |---|---|---|
//! | `pool worker started` | `DEBUG` | `pid`, `slot`, `name`, `replacement` (the slot had a worker before) |
//! | `pool worker ended` | `DEBUG` (`WARN` if a signal ended it or it held a chunk) | `pid`, `exit_status`, `lost` (chunks it held, failed with `WorkerLost`) |

mod bell;
mod builder;
mod call;
mod callbacks;
mod completed;
mod dispatcher;
mod error;
mod imap;
mod job;
mod outcomes;
mod protocol;
mod result;
mod ring;
mod shared;
mod slots;
mod task;
mod trace;
mod unready;
mod worker;

pub use builder::PoolBuilder;
pub use call::{Map, MapAsync};
pub use completed::{AsCompleted, Completed, as_completed};
pub use error::{PoolError, TaskError, WorkerStartError};
pub use imap::IMap;
pub use result::AsyncResult;
pub use task::{TaskName, TaskValue};

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use self::callbacks::Callbacks;
use self::job::Job;
use self::shared::{Chunk, Mode, Payload, Shared};
use self::task::TaskRef;
#[cfg(feature = "mpi")]
pub(crate) use self::{
    job::{Encoded, item_error},
    outcomes::{Garbled, Outcomes},
    task::{TaskCode, TaskRef as EncodedTask},
};

/// A pool of worker processes (Python's `multiprocessing.Pool`). See the [module
/// documentation](self).
pub struct Pool {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    callbacks: Arc<Callbacks>,
    processes: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("processes", &self.processes)
            .finish_non_exhaustive()
    }
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "arguments are taken by value, as Python's `apply(f, args)` does; they are \
              serialized rather than consumed"
)]
impl Pool {
    /// A pool of `processes` workers.
    ///
    /// # Errors
    /// As [`PoolBuilder::build`].
    pub fn new(processes: usize) -> Result<Self, PoolError> {
        Self::builder().processes(processes).build()
    }

    /// Options for a pool.
    pub fn builder() -> PoolBuilder {
        PoolBuilder::default()
    }

    /// The number of workers.
    #[must_use]
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// Runs `task(args)` in a worker and waits for its value (Python's `apply`).
    ///
    /// # Errors
    /// See [`TaskError`].
    #[track_caller]
    pub fn apply<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        args: A,
    ) -> Result<R, TaskError> {
        self.apply_async(task, args)?.get()
    }

    /// Submits `task(args)` and returns at once (Python's `apply_async`).
    ///
    /// # Errors
    /// [`TaskError::EncodeArgs`] if the arguments cannot be serialized; [`TaskError::Pool`] if
    /// the pool is not running.
    #[track_caller]
    pub fn apply_async<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        args: A,
    ) -> Result<AsyncResult<R>, TaskError> {
        let task = task_ref(task).map_err(outside)?;
        let job = Arc::new(Job::new(task.name, Some(1)));
        let chunk = encode_chunk(&job, 0, task, std::slice::from_ref(&args))?;
        self.shared.submit([chunk])?;
        Ok(AsyncResult::new(
            job,
            result::decode_one::<R>,
            Arc::clone(&self.callbacks),
        ))
    }

    /// Applies `task` to every item (Python's `map`): `pool.map(f, xs).run()` waits for the
    /// values, in order; `pool.map(f, xs).chunksize(8).run()` is Python's
    /// `pool.map(f, xs, chunksize=8)`. See [`Map`] for the options.
    #[track_caller]
    pub fn map<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> Map<'_, A, R, I> {
        Map::new(self, task, items)
    }

    /// [`map`](Self::map) that returns at once (Python's `map_async`):
    /// `pool.map_async(f, xs).run()?` is an [`AsyncResult`]. See [`MapAsync`] for the options.
    #[track_caller]
    pub fn map_async<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MapAsync<'_, A, R, I> {
        MapAsync::new(self, task, items)
    }

    /// Python's `starmap`: the same as [`map`](Self::map), since a task of several arguments
    /// takes them as one tuple (`starmap(add, [(1, 2)])` calls `add((1, 2))`, which
    /// `#[pool_task] fn add(a: i32, b: i32)` takes).
    #[track_caller]
    pub fn starmap<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> Map<'_, A, R, I> {
        self.map(task, items)
    }

    /// Python's `starmap_async` (see [`starmap`](Self::starmap)).
    #[track_caller]
    pub fn starmap_async<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MapAsync<'_, A, R, I> {
        self.map_async(task, items)
    }

    /// The results of `task` over `items`, in order, as they come (Python's `imap`; chunk size
    /// 1 unless [`IMap::chunksize`] says otherwise). The input is read lazily, as the results
    /// are taken.
    #[track_caller]
    pub fn imap<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> IMap<'_, A, R, I::IntoIter> {
        self.imap_in(task, items, true)
    }

    /// Like [`imap`](Self::imap), in the order the tasks finish (Python's `imap_unordered`).
    #[track_caller]
    pub fn imap_unordered<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> IMap<'_, A, R, I::IntoIter> {
        self.imap_in(task, items, false)
    }

    /// Stops taking tasks; the workers finish what was submitted, then leave (Python's
    /// `close`).
    pub fn close(&self) {
        self.shared.set_mode(Mode::Closing);
    }

    /// Stops the workers now; unfinished tasks fail with [`TaskError::Terminated`] (Python's
    /// `terminate`). Returns once every worker is gone.
    pub fn terminate(&self) {
        self.shared.set_mode(Mode::Terminating);
        self.join_thread();
    }

    /// Waits for the workers to leave and the callbacks to finish (Python's `join`).
    ///
    /// # Errors
    /// [`PoolError::StillRunning`] unless [`close`](Self::close) or
    /// [`terminate`](Self::terminate) was called first.
    pub fn join(&self) -> Result<(), PoolError> {
        self.join_until(None)
    }

    /// Like [`join`](Self::join), waiting at most `timeout` for the workers.
    ///
    /// # Errors
    /// [`PoolError::Timeout`] if they are still working (join again later);
    /// [`PoolError::StillRunning`] as for [`join`](Self::join).
    pub fn join_timeout(&self, timeout: Duration) -> Result<(), PoolError> {
        self.join_until(Instant::now().checked_add(timeout))
    }

    fn join_until(&self, deadline: Option<Instant>) -> Result<(), PoolError> {
        if matches!(self.shared.inbox().mode, Mode::Running) {
            return Err(PoolError::StillRunning);
        }
        if !self.shared.wait_stopped(deadline) {
            return Err(PoolError::Timeout);
        }
        self.join_thread();
        Ok(())
    }

    fn join_thread(&self) {
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread {
            let _ = thread.join();
        }
        self.callbacks.finish();
    }

    #[track_caller]
    fn imap_in<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
        ordered: bool,
    ) -> IMap<'_, A, R, I::IntoIter> {
        let name = caller_name::<A, R>();
        IMap::new(
            self,
            name,
            TaskRef::of(task, name),
            items.into_iter(),
            ordered,
        )
    }
}

/// The reference for `task`, named by its type and the call that submitted it (a function
/// pointer carries no name).
#[track_caller]
fn task_ref<A: TaskValue, R: TaskValue>(
    task: fn(A) -> R,
) -> Result<TaskRef, crate::codeptr::NotInExecutable> {
    TaskRef::of(task, caller_name::<A, R>())
}

/// The name of a `fn(A) -> R` submitted by the caller's caller (through `#[track_caller]`).
#[track_caller]
fn caller_name<A, R>() -> TaskName {
    TaskName::of::<A, R>(std::panic::Location::caller())
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(spawn_error)`"
)]
fn spawn_error(e: crate::process::SpawnError) -> TaskError {
    TaskError::Pool(WorkerStartError::Process(e).into())
}

/// The error for a task whose code is outside the main executable.
fn outside(_: crate::codeptr::NotInExecutable) -> TaskError {
    spawn_error(crate::process::SpawnError::TargetNotInExecutable)
}

/// Submits chunks whose arguments are already encoded (each `(task, payload)`: one codec
/// sequence holding no handles) as one job, chunk `i` the `i`-th; take their results with
/// [`Job::take_encoded`] as the workers encoded them. The pool across hosts passes its chunks
/// through a worker rank this way, without decoding them.
#[cfg(feature = "mpi")]
pub(crate) fn submit_encoded(
    pool: &Pool,
    chunks: Vec<(TaskRef, Vec<u8>)>,
) -> Result<Arc<Job>, TaskError> {
    let total = u32::try_from(chunks.len()).map_err(|_| PoolError::ZeroChunksize)?;
    let name = chunks
        .first()
        .map_or(TaskName::described(""), |(task, _)| task.name);
    let job = Arc::new(Job::new(name, Some(total)));
    pool.shared.submit(
        (0..total)
            .zip(chunks)
            .map(|(index, (task, payload))| Chunk {
                job: Arc::clone(&job),
                index,
                task,
                payload: Payload::Own(payload),
                fds: Vec::new(),
            }),
    )?;
    Ok(job)
}

/// The most [`encode_chunk`] reserves before it knows the encoding's length.
const PAYLOAD_GUESS_MAX: usize = 64 << 10;

/// Encodes the arguments of chunk `index` of `job`.
pub(crate) fn encode_chunk<A: serde::Serialize>(
    job: &Arc<Job>,
    index: u32,
    task: TaskRef,
    items: &[A],
) -> Result<Chunk, TaskError> {
    // Room for the items as they lie in memory (their encoding is usually no longer), so a
    // small chunk is one allocation rather than an allocation and its growths.
    let guess = std::mem::size_of_val(items)
        .saturating_add(32)
        .min(PAYLOAD_GUESS_MAX);
    let (mut payload, mut fds) = (Vec::with_capacity(guess), Vec::new());
    task::encode_chunk(items, &mut payload, &mut fds).map_err(|source| TaskError::EncodeArgs {
        task: task.name,
        source,
    })?;
    Ok(Chunk {
        job: Arc::clone(job),
        index,
        task,
        payload: Payload::Own(payload),
        fds,
    })
}

/// Encodes the arguments of every chunk of `job` (chunk `i` the `i`-th of `chunks`) into one
/// buffer they share.
pub(crate) fn encode_chunks<'a, A: serde::Serialize + 'a>(
    job: &Arc<Job>,
    task: TaskRef,
    chunks: impl ExactSizeIterator<Item = &'a [A]>,
) -> Result<Vec<Chunk>, TaskError> {
    let count = chunks.len();
    let mut all = Vec::new();
    let mut parts = Vec::with_capacity(count);
    for items in chunks {
        let (start, mut fds) = (all.len(), Vec::new());
        if parts.is_empty() {
            // Room for every item as they lie in memory, guessed from the first chunk.
            let guess = std::mem::size_of_val(items).saturating_add(32);
            all.reserve(guess.saturating_mul(count).min(PAYLOAD_GUESS_MAX));
        }
        task::encode_chunk(items, &mut all, &mut fds).map_err(|source| TaskError::EncodeArgs {
            task: task.name,
            source,
        })?;
        parts.push((start..all.len(), fds));
    }
    let all = Arc::new(all);
    Ok((0u32..)
        .zip(parts)
        .map(|(index, (range, fds))| Chunk {
            job: Arc::clone(job),
            index,
            task,
            payload: Payload::Part {
                all: Arc::clone(&all),
                range,
            },
            fds,
        })
        .collect())
}

impl Drop for Pool {
    /// A pool still running is closed and joined: submitted tasks finish first.
    fn drop(&mut self) {
        self.close();
        self.join_thread();
    }
}

#[cfg(all(test, not(loom)))]
mod proptests;
