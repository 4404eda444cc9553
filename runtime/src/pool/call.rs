//! The calls of the map family: Python's keyword arguments as builder methods.
//!
//! `pool.map(f, xs, chunksize=8)` is `pool.map(f, xs).chunksize(8).run()`: the entry point
//! keeps Python's name ([`Pool::map`], [`Pool::map_async`], [`Pool::starmap`],
//! [`Pool::starmap_async`]), each keyword argument is a method of the call it returns, and
//! [`run`](Map::run) makes the call. Nothing is submitted before `run`. [`Pool::imap`] and
//! [`Pool::imap_unordered`] return their iterator ([`IMap`](super::IMap)) at once, which takes
//! the same `chunksize` and runs as it is iterated; callbacks (Python's `callback=` and
//! `error_callback=`) are methods of the [`AsyncResult`] that `map_async` and `apply_async`
//! return.
//!
//! The options say *what* is asked (how many tasks travel together, whether to show
//! progress), never how the pool schedules them.

use std::marker::PhantomData;
use std::sync::Arc;

use super::job::Job;
use super::shared::Chunk;
use super::task::TaskRef;
use super::{AsyncResult, Pool, Task, encode_chunk, result, spawn_error, task_ref};
use crate::pool::{PoolError, TaskError};
use crate::process::SpawnError;

/// `pool.map(task, items)` before it runs: set Python's keyword arguments, then
/// [`run`](Map::run). Made by [`Pool::map`] and [`Pool::starmap`].
///
/// ```
/// # fn main() -> mproc::Result<()> {
/// let pool = mproc::Pool::new(2)?;
/// let squares = pool.map(|x: u64| x * x, 1..=4).chunksize(2).run()?;
/// assert_eq!(squares, [1, 4, 9, 16]);
/// # Ok(())
/// # }
/// ```
#[must_use = "nothing runs until `run()`"]
pub struct Map<'p, M, T: Task<M>, I> {
    call: Call<'p, M, T, I>,
    #[cfg(feature = "progress")]
    progress: bool,
}

/// `pool.map_async(task, items)` before it is submitted: set Python's keyword arguments, then
/// [`run`](MapAsync::run), which returns the [`AsyncResult`] at once. Made by
/// [`Pool::map_async`] and [`Pool::starmap_async`].
#[must_use = "nothing is submitted until `run()`"]
pub struct MapAsync<'p, M, T: Task<M>, I> {
    call: Call<'p, M, T, I>,
}

/// What both calls hold: the pool, the task, the input and the chunk size asked for.
struct Call<'p, M, T, I> {
    pool: &'p Pool,
    /// Made at once, so a task that cannot reach a worker (a capturing closure) is refused
    /// when the program is built, at the call, not only where `run` is called.
    task_ref: Result<TaskRef, SpawnError>,
    items: I,
    chunksize: Option<usize>,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<'p, M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>> Call<'p, M, T, I> {
    #[allow(
        clippy::needless_pass_by_value,
        reason = "the task is zero-sized: only its type travels, as its `TaskRef`"
    )]
    fn new(pool: &'p Pool, task: T, items: I) -> Self {
        Self {
            pool,
            task_ref: task_ref(&task),
            items,
            chunksize: None,
            _marker: PhantomData,
        }
    }

    /// The input, and the chunk size: the one asked for, or Python's default for its length.
    fn items_and_chunksize(self) -> Result<Parts<'p, T::Args>, PoolError> {
        let items: Vec<T::Args> = self.items.into_iter().collect();
        let chunksize = match self.chunksize {
            Some(0) => return Err(PoolError::ZeroChunksize),
            Some(n) => n,
            None => default_chunksize(items.len(), self.pool.processes()),
        };
        Ok(Parts {
            pool: self.pool,
            task: self.task_ref,
            items,
            chunksize,
        })
    }

    /// Submits every chunk as one job.
    fn submit(self) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        let Parts {
            pool,
            task,
            items,
            chunksize,
        } = self.items_and_chunksize()?;
        let task = task.map_err(spawn_error)?;
        let chunks = items.chunks(chunksize);
        let total = u32::try_from(chunks.len()).map_err(|_| PoolError::ZeroChunksize)?;
        let job = Arc::new(Job::new(task.name, Some(total)));
        let encoded: Vec<Chunk> = chunks
            .enumerate()
            .map(|(i, items)| encode_chunk(&job, u32::try_from(i).unwrap_or(u32::MAX), task, items))
            .collect::<Result<_, _>>()?;
        pool.shared.submit(encoded)?;
        Ok(AsyncResult::new(
            job,
            result::decode_all::<T::Output>,
            Arc::clone(&pool.callbacks),
        ))
    }
}

/// A call taken apart to run.
struct Parts<'p, A> {
    pool: &'p Pool,
    task: Result<TaskRef, SpawnError>,
    items: Vec<A>,
    chunksize: usize,
}

impl<'p, M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>> Map<'p, M, T, I> {
    pub(super) fn new(pool: &'p Pool, task: T, items: I) -> Self {
        Self {
            call: Call::new(pool, task, items),
            #[cfg(feature = "progress")]
            progress: false,
        }
    }

    /// Sends the tasks to the workers in chunks of `chunksize` (Python's `chunksize=`; without
    /// it, Python's default: the input's length over four times the workers, rounded up).
    /// 0 makes [`run`](Self::run) fail with [`PoolError::ZeroChunksize`].
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.call.chunksize = Some(chunksize);
        self
    }

    /// Shows a progress bar on stderr as tasks finish (Python users wrap the call in tqdm).
    /// Requires the `progress` feature.
    #[cfg(feature = "progress")]
    pub fn progress(mut self) -> Self {
        self.progress = true;
        self
    }

    /// Runs the tasks and waits for their values, in input order.
    ///
    /// # Errors
    /// The first failed task's [`TaskError`]; [`PoolError::ZeroChunksize`] for a chunk size
    /// of 0; as [`Pool::apply_async`] if the tasks cannot be submitted.
    pub fn run(self) -> Result<Vec<T::Output>, TaskError> {
        #[cfg(feature = "progress")]
        if self.progress {
            let parts = self.call.items_and_chunksize()?;
            let task = parts.task.map_err(spawn_error)?;
            let total = parts.items.len() as u64;
            return super::IMap::<M, T, _>::new(parts.pool, task, parts.items.into_iter(), true)
                .chunksize(parts.chunksize)
                .progress(total)
                .collect();
        }
        self.call.submit()?.get()
    }
}

impl<'p, M: 'static, T: Task<M>, I: IntoIterator<Item = T::Args>> MapAsync<'p, M, T, I> {
    pub(super) fn new(pool: &'p Pool, task: T, items: I) -> Self {
        Self {
            call: Call::new(pool, task, items),
        }
    }

    /// As [`Map::chunksize`].
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.call.chunksize = Some(chunksize);
        self
    }

    /// Submits the tasks and returns at once; the [`AsyncResult`] gives their values in input
    /// order, and takes callbacks ([`on_success`](AsyncResult::on_success),
    /// [`on_error`](AsyncResult::on_error)).
    ///
    /// # Errors
    /// [`PoolError::ZeroChunksize`] for a chunk size of 0; otherwise as
    /// [`Pool::apply_async`].
    pub fn run(self) -> Result<AsyncResult<Vec<T::Output>>, TaskError> {
        self.call.submit()
    }
}

impl<M, T: Task<M>, I> std::fmt::Debug for Map<'_, M, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("task", &std::any::type_name::<T>())
            .field("chunksize", &self.call.chunksize)
            .finish_non_exhaustive()
    }
}

impl<M, T: Task<M>, I> std::fmt::Debug for MapAsync<'_, M, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapAsync")
            .field("task", &std::any::type_name::<T>())
            .field("chunksize", &self.call.chunksize)
            .finish_non_exhaustive()
    }
}

/// Python's default chunk size for `map`: `len / (4 × workers)`, rounded up, at least 1.
fn default_chunksize(len: usize, processes: usize) -> usize {
    len.div_ceil(4 * processes).max(1)
}

#[cfg(test)]
mod tests {
    use super::default_chunksize;

    #[test]
    fn default_chunking_follows_python() {
        assert_eq!(default_chunksize(0, 4), 1);
        assert_eq!(default_chunksize(10, 1), 3);
        assert_eq!(default_chunksize(100, 4), 7);
        assert_eq!(default_chunksize(16, 4), 1);
        assert_eq!(default_chunksize(17, 4), 2);
    }
}
