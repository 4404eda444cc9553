//! The process pool: Python's `multiprocessing.Pool`, crash-isolated, lazy and fast.
//!
//! ```
//! use mproc::Pool;
//!
//! fn square(x: u64) -> u64 {
//!     x * x
//! }
//!
//! fn add(a: u64, b: u64) -> u64 {
//!     a + b
//! }
//!
//! # fn main() -> mproc::Result<()> {
//! let pool = Pool::new(2)?;
//! assert_eq!(pool.map(square, 1..=4)?, [1, 4, 9, 16]);
//! assert_eq!(pool.starmap(add, [(1, 2), (3, 4)])?, [3, 7]);
//! assert_eq!(pool.apply(|x: u64| x + 1, 41)?, 42);
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
//! A task is a function item or a closure that captures nothing, of up to 8 arguments that are
//! serde types (see [`Task`]): only the function's identity travels to the worker, never a
//! captured value, so Python's "can't pickle lambda" does not exist here and a capturing
//! closure is a compile error. Several arguments are given as a tuple, which makes `map` and
//! `starmap` the same operation (both names exist, as in Python). Handles (a pipe end, a
//! `codec::Fd`, shared-memory objects) can be task arguments, also ones created after the pool
//! started: their descriptors travel with the task.
//!
//! # Crashes
//!
//! A task that panics fails with [`TaskError::Panicked`]; its worker lives on. A worker that
//! dies (killed, aborted, segfaulting, exiting) fails only the task it was running, with
//! [`TaskError::WorkerLost`]; tasks queued behind it go to other workers, a new worker takes its
//! place, and the pool goes on. (Python's `Pool` loses the task and `get()` hangs.) A task
//! handed to a worker that died before reading it runs on another worker.
//!
//! A worker that dies before it is ready (before or while its initializer runs) is replaced
//! too, after a pause that grows with each such death in a row. Only when `processes + 4`
//! workers in a row die or fail that way does the pool give up: what is submitted then fails
//! with [`PoolError::InitializerFailed`] if an initializer is set (one that keeps failing),
//! else with [`PoolError::WorkersDiedBeforeReady`]. (Python's `Pool` replaces them forever.)
//!
//! # Chunks and laziness
//!
//! `map` splits its input into chunks as Python does (`len / (4 × workers)`, rounded up) unless
//! a chunk size is given; each chunk is one message each way. `imap` and `imap_unordered` read
//! their input only as results are consumed, keeping at most two chunks per worker in flight,
//! so an endless input works in bounded memory.
//!
//! # Ending a pool
//!
//! [`close`](Pool::close) stops new submissions and lets the workers finish what was
//! submitted; [`terminate`](Pool::terminate) stops them at once (unfinished tasks fail with
//! [`TaskError::Terminated`]); [`join`](Pool::join) waits for the workers and the callbacks.
//! Dropping a running pool closes it and joins it: submitted tasks finish first. (Python's
//! context manager terminates instead; call `terminate()` for that.) Either way no worker is
//! left behind: workers are daemons and also die if this process is killed.

mod bell;
mod callbacks;
mod dispatcher;
mod error;
mod imap;
mod job;
mod protocol;
mod result;
mod shared;
mod task;
mod worker;

pub use error::{PoolError, TaskError, WorkerStartError};
pub use imap::IMap;
pub use result::AsyncResult;
pub use task::Task;

use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use self::callbacks::Callbacks;
use self::dispatcher::{Config, Init};
use self::job::Job;
use self::shared::{Chunk, Mode, Shared};
use self::task::TaskRef;
use crate::process::{StartMethod, cpu_count};
use crate::sys::OsContext;
use crate::sys::poller::Waker;

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

/// Options for a [`Pool`]: `Pool::builder().processes(4).maxtasksperchild(100).build()`.
#[derive(Debug, Default)]
#[must_use]
pub struct PoolBuilder {
    processes: Option<usize>,
    max_tasks: Option<u64>,
    init: Option<Result<Init, String>>,
    method: Option<StartMethod>,
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "the initializer (zero-sized) and its arguments are taken by value, as Python's \
              `initializer`/`initargs`; they are serialized rather than consumed"
)]
impl PoolBuilder {
    /// The number of workers (default: [`cpu_count`], the CPUs this process may use).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = Some(processes);
        self
    }

    /// Replace each worker after it ran this many tasks (chunks), as Python's
    /// `maxtasksperchild`.
    pub fn maxtasksperchild(mut self, tasks: u64) -> Self {
        self.max_tasks = Some(tasks);
        self
    }

    /// Runs `initializer(args)` once in each worker before it takes tasks (Python's
    /// `initializer` and `initargs`). A worker whose initializer panics or crashes is replaced;
    /// if that happens in `processes + 4` workers in a row, the pool stops taking tasks and
    /// they fail with [`PoolError::InitializerFailed`] (see [Crashes](crate::pool#crashes)).
    pub fn initializer<M: 'static, T: Task<M, Output = ()>>(
        mut self,
        initializer: T,
        args: T::Args,
    ) -> Self {
        let init = task_ref(&initializer)
            .map_err(|e| e.to_string())
            .and_then(|task| {
                let (mut payload, mut fds) = (Vec::new(), Vec::new());
                task::encode_chunk(std::slice::from_ref(&args), &mut payload, &mut fds)
                    .map_err(|e| e.to_string())?;
                Ok(Init {
                    entry: task.entry,
                    payload,
                    fds,
                })
            });
        self.init = Some(init);
        self
    }

    /// How workers are started (default: the program's default start method).
    pub fn start_method(mut self, method: StartMethod) -> Self {
        self.method = Some(method);
        self
    }

    /// Starts the pool and its workers.
    ///
    /// # Errors
    /// [`PoolError::NoProcesses`], [`PoolError::ZeroMaxTasks`], [`PoolError::InitializerFailed`]
    /// if the initializer's arguments cannot be serialized, [`PoolError::Spawn`] if no worker
    /// could be started.
    pub fn build(self) -> Result<Pool, PoolError> {
        let processes = self.processes.unwrap_or_else(cpu_count);
        if processes == 0 {
            return Err(PoolError::NoProcesses);
        }
        if self.max_tasks == Some(0) {
            return Err(PoolError::ZeroMaxTasks);
        }
        let init = self
            .init
            .transpose()
            .map_err(|message| PoolError::InitializerFailed { message })?;
        let waker = Waker::new().map_err(WorkerStartError::os("eventfd"))?;
        let shared = Arc::new(Shared::new(waker));
        let callbacks = Arc::new(Callbacks::default());
        let config = Config {
            processes,
            max_chunks: self.max_tasks,
            init,
            method: self.method,
        };
        let (started, startup) = std::sync::mpsc::channel();
        let thread = {
            let (shared, callbacks) = (Arc::clone(&shared), Arc::clone(&callbacks));
            std::thread::Builder::new()
                .name("mproc-pool".into())
                .spawn(move || dispatcher::run(shared, config, callbacks, &started))
                .map_err(WorkerStartError::os("starting the pool thread"))?
        };
        let pool = Pool {
            shared,
            thread: Mutex::new(Some(thread)),
            callbacks,
            processes,
        };
        match startup.recv() {
            Ok(Ok(())) => Ok(pool),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(WorkerStartError::ThreadEnded.into()),
        }
    }
}

/// Python's default chunk size for `map`: `len / (4 × workers)`, rounded up, at least 1.
fn default_chunksize(len: usize, processes: usize) -> usize {
    len.div_ceil(4 * processes).max(1)
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "tasks (zero-sized) and their arguments are taken by value, as Python's \
              `apply(f, args)` does; they are serialized rather than consumed"
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
    pub fn apply<M: 'static, T: Task<M>>(
        &self,
        task: T,
        args: T::Args,
    ) -> Result<T::Output, TaskError> {
        self.apply_async(task, args)?.get()
    }

    /// Submits `task(args)` and returns at once (Python's `apply_async`).
    ///
    /// # Errors
    /// [`TaskError::EncodeArgs`] if the arguments cannot be serialized; [`TaskError::Pool`] if
    /// the pool is not running.
    pub fn apply_async<M: 'static, T: Task<M>>(
        &self,
        task: T,
        args: T::Args,
    ) -> Result<AsyncResult<T::Output>, TaskError> {
        let task = task_ref(&task).map_err(spawn_error)?;
        let job = Arc::new(Job::new(task.name, Some(1)));
        let chunk = encode_chunk(&job, 0, task, std::slice::from_ref(&args))?;
        self.shared.submit([chunk])?;
        Ok(AsyncResult::new(
            job,
            result::decode_one::<T::Output>,
            Arc::clone(&self.callbacks),
        ))
    }

    /// Applies `task` to every item and returns the values in order (Python's `map`), with
    /// Python's default chunk size.
    ///
    /// # Errors
    /// The first failed task's [`TaskError`].
    pub fn map<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<Vec<T::Output>, TaskError> {
        self.map_async(task, items)?.get()
    }

    /// [`map`](Self::map) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// [`PoolError::ZeroChunksize`] for 0; otherwise as [`map`](Self::map).
    pub fn map_chunked<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
        chunksize: usize,
    ) -> Result<Vec<T::Output>, TaskError> {
        self.map_async_chunked(task, items, chunksize)?.get()
    }

    /// [`map`](Self::map), returning at once (Python's `map_async`).
    ///
    /// # Errors
    /// As [`apply_async`](Self::apply_async).
    pub fn map_async<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        let items: Vec<T::Args> = items.into_iter().collect();
        let chunksize = default_chunksize(items.len(), self.processes);
        self.submit_all(task, items, chunksize)
    }

    /// [`map_async`](Self::map_async) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// [`PoolError::ZeroChunksize`] for 0; otherwise as [`apply_async`](Self::apply_async).
    pub fn map_async_chunked<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        if chunksize == 0 {
            return Err(PoolError::ZeroChunksize.into());
        }
        self.submit_all(task, items.into_iter().collect(), chunksize)
    }

    /// Python's `starmap`: the same as [`map`](Self::map), since a task of several arguments
    /// takes them as a tuple (`starmap(add, [(1, 2)])` calls `add(1, 2)`).
    ///
    /// # Errors
    /// As [`map`](Self::map).
    pub fn starmap<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<Vec<T::Output>, TaskError> {
        self.map(task, items)
    }

    /// [`starmap`](Self::starmap) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// As [`map_chunked`](Self::map_chunked).
    pub fn starmap_chunked<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
        chunksize: usize,
    ) -> Result<Vec<T::Output>, TaskError> {
        self.map_chunked(task, items, chunksize)
    }

    /// Python's `starmap_async` (see [`starmap`](Self::starmap)).
    ///
    /// # Errors
    /// As [`map_async`](Self::map_async).
    pub fn starmap_async<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        self.map_async(task, items)
    }

    /// [`starmap_async`](Self::starmap_async) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// As [`map_async_chunked`](Self::map_async_chunked).
    pub fn starmap_async_chunked<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        self.map_async_chunked(task, items, chunksize)
    }

    /// The results of `task` over `items`, in order, as they come (Python's `imap`, chunk size
    /// 1). The input is read lazily.
    pub fn imap<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
    ) -> IMap<'_, M, T, I::IntoIter> {
        self.imap_with(task, items, 1, true)
    }

    /// [`imap`](Self::imap) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// [`PoolError::ZeroChunksize`] for 0.
    pub fn imap_chunked<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
        chunksize: usize,
    ) -> Result<IMap<'_, M, T, I::IntoIter>, PoolError> {
        self.imap_checked(task, items, chunksize, true)
    }

    /// Like [`imap`](Self::imap), in the order the tasks finish (Python's `imap_unordered`).
    pub fn imap_unordered<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
    ) -> IMap<'_, M, T, I::IntoIter> {
        self.imap_with(task, items, 1, false)
    }

    /// [`imap_unordered`](Self::imap_unordered) with chunks of `chunksize` tasks.
    ///
    /// # Errors
    /// [`PoolError::ZeroChunksize`] for 0.
    pub fn imap_unordered_chunked<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
        chunksize: usize,
    ) -> Result<IMap<'_, M, T, I::IntoIter>, PoolError> {
        self.imap_checked(task, items, chunksize, false)
    }

    /// [`map`](Self::map) showing a progress bar on stderr as tasks finish (with Python's
    /// default chunk size). Requires the `progress` feature.
    ///
    /// # Errors
    /// The first failed task's [`TaskError`].
    #[cfg(feature = "progress")]
    pub fn map_progress<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<Vec<T::Output>, TaskError> {
        let items: Vec<T::Args> = items.into_iter().collect();
        let total = items.len() as u64;
        let chunksize = default_chunksize(items.len(), self.processes);
        self.imap_with(task, items, chunksize, true)
            .progress(total)
            .collect()
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

    fn imap_checked<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> Result<IMap<'_, M, T, I::IntoIter>, PoolError> {
        if chunksize == 0 {
            return Err(PoolError::ZeroChunksize);
        }
        Ok(self.imap_with(task, items, chunksize, ordered))
    }

    fn imap_with<M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>>(
        &self,
        task: T,
        items: I,
        chunksize: usize,
        ordered: bool,
    ) -> IMap<'_, M, T, I::IntoIter> {
        let _ = task;
        // The task's offset cannot fail for a function of this executable; `TaskRef::of`
        // errors only for code in a shared library, which the submission then reports.
        let task = TaskRef::of::<M, T>().unwrap_or(TaskRef {
            name: std::any::type_name::<T>(),
            entry: 0,
        });
        IMap::new(self, task, items.into_iter(), chunksize, ordered)
    }

    fn submit_all<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: Vec<T::Args>,
        chunksize: usize,
    ) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        let task = task_ref(&task).map_err(spawn_error)?;
        let chunks = items.chunks(chunksize);
        let total = u32::try_from(chunks.len()).map_err(|_| PoolError::ZeroChunksize)?;
        let job = Arc::new(Job::new(task.name, Some(total)));
        let encoded: Vec<Chunk> = chunks
            .enumerate()
            .map(|(i, items)| encode_chunk(&job, u32::try_from(i).unwrap_or(u32::MAX), task, items))
            .collect::<Result<_, _>>()?;
        self.shared.submit(encoded)?;
        Ok(AsyncResult::new(
            job,
            result::decode_all::<T::Output>,
            Arc::clone(&self.callbacks),
        ))
    }
}

/// The reference for a task value's type (the value itself is zero-sized).
fn task_ref<M: 'static, T: Task<M>>(_task: &T) -> Result<TaskRef, crate::process::SpawnError> {
    TaskRef::of::<M, T>()
}

#[allow(
    clippy::needless_pass_by_value,
    reason = "used as `map_err(spawn_error)`"
)]
fn spawn_error(e: crate::process::SpawnError) -> TaskError {
    TaskError::Pool(WorkerStartError::Process(e).into())
}

/// Encodes the arguments of chunk `index` of `job`.
pub(crate) fn encode_chunk<A: serde::Serialize>(
    job: &Arc<Job>,
    index: u32,
    task: TaskRef,
    items: &[A],
) -> Result<Chunk, TaskError> {
    let (mut payload, mut fds) = (Vec::new(), Vec::new());
    task::encode_chunk(items, &mut payload, &mut fds).map_err(|source| TaskError::EncodeArgs {
        task: task.name,
        source,
    })?;
    Ok(Chunk {
        job: Arc::clone(job),
        index,
        task,
        payload,
        fds,
    })
}

impl Drop for Pool {
    /// A pool still running is closed and joined: submitted tasks finish first.
    fn drop(&mut self) {
        self.close();
        self.join_thread();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_chunking_follows_python() {
        assert_eq!(default_chunksize(0, 4), 1);
        assert_eq!(default_chunksize(10, 1), 3);
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(16, 4), 1);
        assert_eq!(default_chunksize(17, 4), 2);
    }
}
#[cfg(all(test, not(loom)))]
mod proptests;
