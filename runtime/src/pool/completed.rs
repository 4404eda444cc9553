//! [`as_completed`]: many results in the order they finish (Python's
//! `concurrent.futures.as_completed`), without a runtime: each result's job wakes a waker that
//! queues its index here.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use super::AsyncResult;
use crate::pool::TaskError;

/// Iterates over `results` in the order they finish (and their callbacks ran), as
/// `(index in results, value)`.
///
/// ```
/// # fn main() -> mproc::Result<()> {
/// use mproc::pool::as_completed;
///
/// let pool = mproc::Pool::new(2)?;
/// let results = (1..=3u64)
///     .map(|x| pool.apply_async(|x: u64| x * 10, x))
///     .collect::<Result<Vec<_>, _>>()?;
/// let mut seen: Vec<(usize, u64)> = Vec::new();
/// for (index, value) in as_completed(results) {
///     seen.push((index, value?));
/// }
/// seen.sort_unstable();
/// assert_eq!(seen, [(0, 10), (1, 20), (2, 30)]);
/// # Ok(())
/// # }
/// ```
pub fn as_completed<T: 'static>(
    results: impl IntoIterator<Item = AsyncResult<T>>,
) -> AsCompleted<T> {
    let finished = Arc::new(Finished::default());
    let results: Vec<Option<AsyncResult<T>>> = results.into_iter().map(Some).collect();
    for (index, result) in results.iter().flatten().enumerate() {
        let waker = Waker::from(Arc::new(IndexWaker {
            index,
            finished: Arc::clone(&finished),
        }));
        if result.job().settled_or_register(&waker) {
            waker.wake();
        }
    }
    AsCompleted {
        left: results.len(),
        results,
        finished,
    }
}

/// One finished result: its index in the input and its value.
pub type Completed<T> = (usize, Result<T, TaskError>);

/// The iterator of [`as_completed`].
pub struct AsCompleted<T> {
    results: Vec<Option<AsyncResult<T>>>,
    left: usize,
    finished: Arc<Finished>,
}

impl<T> std::fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted")
            .field("left", &self.left)
            .finish_non_exhaustive()
    }
}

/// Indexes of the results that finished, in that order.
#[derive(Default)]
struct Finished {
    queue: Mutex<VecDeque<usize>>,
    changed: Condvar,
}

struct IndexWaker {
    index: usize,
    finished: Arc<Finished>,
}

impl Wake for IndexWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut queue = self
            .finished
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        queue.push_back(self.index);
        drop(queue);
        self.finished.changed.notify_one();
    }
}

impl<T: 'static> AsCompleted<T> {
    /// How many results have not been yielded yet.
    #[must_use]
    pub fn remaining(&self) -> usize {
        self.left
    }

    /// The next result to finish, waiting at most `timeout`: `Ok(None)` when every result was
    /// yielded.
    ///
    /// # Errors
    /// [`TaskError::Timeout`] if none finished in time (nothing is lost: ask again).
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Completed<T>>, TaskError> {
        self.next_until(Instant::now().checked_add(timeout))
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Result<Option<Completed<T>>, TaskError> {
        let mut queue = self
            .finished
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            if self.left == 0 {
                return Ok(None);
            }
            while let Some(index) = queue.pop_front() {
                if let Some(result) = self.results.get_mut(index).and_then(Option::take) {
                    drop(queue);
                    self.left -= 1;
                    return Ok(Some((index, result.decoded())));
                }
            }
            queue = match deadline {
                None => self
                    .finished
                    .changed
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline
                        .checked_duration_since(Instant::now())
                        .ok_or(TaskError::Timeout)?;
                    self.finished
                        .changed
                        .wait_timeout(queue, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl<T: 'static> Iterator for AsCompleted<T> {
    type Item = Completed<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None).ok().flatten()
    }
}
