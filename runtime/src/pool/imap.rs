//! `imap` and `imap_unordered`: results as they come, over an input consumed lazily.
//!
//! At most a window of chunks (twice the number of workers) is submitted and not yet consumed:
//! the input is read only as results are taken, so an endless iterator works in bounded memory
//! (Python's `imap` reads its whole input first).

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::Pool;
use super::job::Job;
use super::task::{TaskName, TaskRef, TaskValue};
use crate::codeptr::NotInExecutable;
use crate::pool::{PoolError, TaskError};

/// An iterator over the results of `imap` (in input order) or `imap_unordered` (in completion
/// order). Each item is one task's result.
pub struct IMap<'p, A, R, I> {
    pool: &'p Pool,
    job: Arc<Job>,
    /// The task, or why it cannot reach a worker (reported by the first item).
    task: Result<TaskRef, NotInExecutable>,
    input: I,
    chunksize: usize,
    window: u32,
    submitted: u32,
    consumed: u32,
    input_done: bool,
    ordered: bool,
    current: std::vec::IntoIter<Result<R, TaskError>>,
    _marker: PhantomData<fn(A) -> R>,
}

impl<A, R, I> std::fmt::Debug for IMap<'_, A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("task", &self.job.task)
            .field("submitted_chunks", &self.submitted)
            .field("consumed_chunks", &self.consumed)
            .field("ordered", &self.ordered)
            .finish_non_exhaustive()
    }
}

impl<'p, A: TaskValue, R: TaskValue, I: Iterator<Item = A>> IMap<'p, A, R, I> {
    pub(crate) fn new(
        pool: &'p Pool,
        name: TaskName,
        task: Result<TaskRef, NotInExecutable>,
        input: I,
        ordered: bool,
    ) -> Self {
        let window = u32::try_from(2 * pool.processes())
            .unwrap_or(u32::MAX)
            .max(2);
        Self {
            pool,
            job: Arc::new(Job::new(name, None)),
            task,
            input,
            chunksize: 1,
            window,
            submitted: 0,
            consumed: 0,
            input_done: false,
            ordered,
            current: Vec::new().into_iter(),
            _marker: PhantomData,
        }
    }

    /// Sends the tasks in chunks of `chunksize` (Python's `chunksize=`; default 1). Set it
    /// before the first result is taken. 0 makes the first item
    /// `Err(TaskError::Pool(PoolError::ZeroChunksize))`, and ends the iteration.
    #[must_use]
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = chunksize;
        self
    }

    /// The next result, waiting at most `timeout` (Python's `next(timeout)`).
    ///
    /// `Some(Err(TaskError::Timeout))` if none came in time: nothing is lost, ask again.
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<R, TaskError>> {
        self.next_until(Instant::now().checked_add(timeout))
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<R, TaskError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if let Some(failed) = self.refill() {
                return Some(Err(failed));
            }
            if self.input_done && self.consumed == self.submitted {
                return None;
            }
            let wanted = if self.ordered {
                Some(self.consumed)
            } else {
                None
            };
            match self.job.take::<R>(wanted, deadline) {
                None => return Some(Err(TaskError::Timeout)),
                Some((_, Ok(items))) => {
                    self.consumed += 1;
                    self.current = items.into_iter();
                }
                Some((_, Err(failure))) => {
                    self.consumed += 1;
                    return Some(Err(failure));
                }
            }
        }
    }

    /// Submits chunks until the window is full or the input ends. Returns an error for a chunk
    /// that could not be submitted (its tasks are skipped).
    fn refill(&mut self) -> Option<TaskError> {
        while !self.input_done && self.submitted - self.consumed < self.window {
            if self.chunksize == 0 {
                self.input_done = true;
                self.pool.callbacks.run(self.job.set_total(self.submitted));
                return Some(PoolError::ZeroChunksize.into());
            }
            let items: Vec<A> = self.input.by_ref().take(self.chunksize).collect();
            if items.is_empty() {
                self.input_done = true;
                self.pool.callbacks.run(self.job.set_total(self.submitted));
                break;
            }
            let task = match self.task {
                Ok(task) => task,
                Err(e) => {
                    self.input_done = true;
                    self.pool.callbacks.run(self.job.set_total(self.submitted));
                    return Some(super::outside(e));
                }
            };
            let index = self.submitted;
            let submitted = super::encode_chunk(&self.job, index, task, &items)
                .and_then(|chunk| self.pool.shared.submit([chunk]).map_err(TaskError::Pool));
            if let Err(e) = submitted {
                return Some(e);
            }
            self.submitted += 1;
        }
        None
    }
}

impl<A: TaskValue, R: TaskValue, I: Iterator<Item = A>> Iterator for IMap<'_, A, R, I> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
    }
}

#[cfg(feature = "progress")]
impl<A: TaskValue, R: TaskValue, I: Iterator<Item = A>> IMap<'_, A, R, I> {
    /// Shows a progress bar on stderr as results are taken, out of `total` (Python users wrap
    /// `imap` in tqdm for this). Requires the `progress` feature.
    pub fn progress(self, total: u64) -> indicatif::ProgressBarIter<Self> {
        use indicatif::ProgressIterator;
        let style = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} tasks, {per_sec}, eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
        self.progress_count(total).with_style(style)
    }
}
