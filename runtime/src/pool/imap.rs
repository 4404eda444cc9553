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
use super::task::{Task, TaskRef};
use crate::pool::{PoolError, TaskError};

/// An iterator over the results of `imap` (in input order) or `imap_unordered` (in completion
/// order). Each item is one task's result.
pub struct IMap<'p, M, T: Task<M>, I> {
    pool: &'p Pool,
    job: Arc<Job>,
    task: TaskRef,
    input: I,
    chunksize: usize,
    window: u32,
    submitted: u32,
    consumed: u32,
    input_done: bool,
    ordered: bool,
    current: std::vec::IntoIter<Result<T::Output, TaskError>>,
    _marker: PhantomData<fn() -> (M, T)>,
}

impl<M, T: Task<M>, I> std::fmt::Debug for IMap<'_, M, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IMap")
            .field("task", &self.task.name)
            .field("submitted_chunks", &self.submitted)
            .field("consumed_chunks", &self.consumed)
            .field("ordered", &self.ordered)
            .finish_non_exhaustive()
    }
}

impl<'p, M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> IMap<'p, M, T, I> {
    pub(crate) fn new(pool: &'p Pool, task: TaskRef, input: I, ordered: bool) -> Self {
        let window = u32::try_from(2 * pool.processes())
            .unwrap_or(u32::MAX)
            .max(2);
        Self {
            pool,
            job: Arc::new(Job::new(task.name, None)),
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
    pub fn next_timeout(&mut self, timeout: Duration) -> Option<Result<T::Output, TaskError>> {
        self.next_until(Instant::now().checked_add(timeout))
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<T::Output, TaskError>> {
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
            match self.job.take::<T::Output>(wanted, deadline) {
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
            let items: Vec<T::Args> = self.input.by_ref().take(self.chunksize).collect();
            if items.is_empty() {
                self.input_done = true;
                self.pool.callbacks.run(self.job.set_total(self.submitted));
                break;
            }
            let index = self.submitted;
            let submitted = super::encode_chunk(&self.job, index, self.task, &items)
                .and_then(|chunk| self.pool.shared.submit([chunk]).map_err(TaskError::Pool));
            if let Err(e) = submitted {
                return Some(e);
            }
            self.submitted += 1;
        }
        None
    }
}

impl<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> Iterator for IMap<'_, M, T, I> {
    type Item = Result<T::Output, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
    }
}

#[cfg(feature = "progress")]
impl<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> IMap<'_, M, T, I> {
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
