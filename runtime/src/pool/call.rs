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
use super::task::{TaskName, TaskRef};
use super::{AsyncResult, Pool, TaskValue, caller_name, encode_chunks, outside, result};
use crate::codeptr::NotInExecutable;
use crate::pool::{PoolError, TaskError};

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
pub struct Map<'p, A, R, I> {
    call: Call<'p, A, R, I>,
    #[cfg(feature = "progress")]
    progress: bool,
}

/// `pool.map_async(task, items)` before it is submitted: set Python's keyword arguments, then
/// [`run`](MapAsync::run), which returns the [`AsyncResult`] at once. Made by
/// [`Pool::map_async`] and [`Pool::starmap_async`].
#[must_use = "nothing is submitted until `run()`"]
pub struct MapAsync<'p, A, R, I> {
    call: Call<'p, A, R, I>,
}

/// What both calls hold: the pool, the task, the input and the chunk size asked for.
struct Call<'p, A, R, I> {
    pool: &'p Pool,
    name: TaskName,
    task_ref: Result<TaskRef, NotInExecutable>,
    items: I,
    chunksize: Option<usize>,
    _marker: PhantomData<fn(A) -> R>,
}

impl<'p, A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>> Call<'p, A, R, I> {
    #[track_caller]
    fn new(pool: &'p Pool, task: fn(A) -> R, items: I) -> Self {
        let name = caller_name::<A, R>();
        Self {
            pool,
            name,
            task_ref: TaskRef::of(task, name),
            items,
            chunksize: None,
            _marker: PhantomData,
        }
    }

    /// The input, and the chunk size: the one asked for, or Python's default for its length.
    fn items_and_chunksize(self) -> Result<Parts<'p, A>, PoolError> {
        let items: Vec<A> = self.items.into_iter().collect();
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
    fn submit(self) -> Result<AsyncResult<Vec<R>>, TaskError> {
        let Parts {
            pool,
            task,
            items,
            chunksize,
        } = self.items_and_chunksize()?;
        let task = task.map_err(outside)?;
        let chunks = items.chunks(chunksize);
        let total = u32::try_from(chunks.len()).map_err(|_| PoolError::ZeroChunksize)?;
        let job = Arc::new(Job::new(task.name, Some(total)));
        pool.shared.submit_all(encode_chunks(&job, task, chunks)?)?;
        Ok(AsyncResult::new(
            job,
            result::decode_all::<R>,
            Arc::clone(&pool.callbacks),
        ))
    }
}

/// A call taken apart to run.
struct Parts<'p, A> {
    pool: &'p Pool,
    task: Result<TaskRef, NotInExecutable>,
    items: Vec<A>,
    chunksize: usize,
}

impl<'p, A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>> Map<'p, A, R, I> {
    #[track_caller]
    pub(super) fn new(pool: &'p Pool, task: fn(A) -> R, items: I) -> Self {
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
    pub fn run(self) -> Result<Vec<R>, TaskError> {
        #[cfg(feature = "progress")]
        if self.progress {
            let name = self.call.name;
            let parts = self.call.items_and_chunksize()?;
            let total = parts.items.len() as u64;
            return super::IMap::<A, R, _>::new(
                parts.pool,
                name,
                parts.task,
                parts.items.into_iter(),
                true,
            )
            .chunksize(parts.chunksize)
            .progress(total)
            .collect();
        }
        self.call.submit()?.get()
    }
}

impl<'p, A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>> MapAsync<'p, A, R, I> {
    #[track_caller]
    pub(super) fn new(pool: &'p Pool, task: fn(A) -> R, items: I) -> Self {
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
    pub fn run(self) -> Result<AsyncResult<Vec<R>>, TaskError> {
        self.call.submit()
    }
}

impl<A, R, I> std::fmt::Debug for Map<'_, A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Map")
            .field("task", &self.call.name)
            .field("chunksize", &self.call.chunksize)
            .finish_non_exhaustive()
    }
}

impl<A, R, I> std::fmt::Debug for MapAsync<'_, A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapAsync")
            .field("task", &self.call.name)
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
