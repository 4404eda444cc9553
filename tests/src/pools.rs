//! A pool for tests: every wait bounded by [`TIMEOUT`], and terminated when dropped, so a test
//! that fails (or a worker that hangs) never leaves the test binary waiting.

use std::ops::Deref;

use mproc::pool::{IMap, TaskValue};
use mproc::{Pool, StartMethod, TaskError};

use crate::TIMEOUT;

/// A [`Pool`] whose blocking calls time out and which terminates on drop.
#[derive(Debug)]
pub struct TestPool(Pool);

/// A pool of `processes` workers started with `method`.
///
/// # Panics
/// If the pool cannot be built.
#[must_use]
pub fn pool(processes: usize, method: StartMethod) -> TestPool {
    TestPool(
        Pool::builder()
            .processes(processes)
            .start_method(method)
            .build()
            .expect("pool"),
    )
}

impl TestPool {
    /// Wraps a pool built elsewhere.
    #[must_use]
    pub fn from(pool: Pool) -> Self {
        Self(pool)
    }

    /// `apply`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The task's error, or [`TaskError::Timeout`].
    #[track_caller]
    pub fn apply<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        args: A,
    ) -> Result<R, TaskError> {
        self.0.apply_async(task, args)?.get_timeout(TIMEOUT)
    }

    /// `map`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The first failed task's error, or [`TaskError::Timeout`].
    #[track_caller]
    pub fn map<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, TaskError> {
        self.0.map_async(task, items).run()?.get_timeout(TIMEOUT)
    }

    /// `map_chunked`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The first failed task's error, or [`TaskError::Timeout`].
    #[track_caller]
    pub fn map_chunked<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
        chunksize: usize,
    ) -> Result<Vec<R>, TaskError> {
        self.0
            .map_async(task, items)
            .chunksize(chunksize)
            .run()?
            .get_timeout(TIMEOUT)
    }

    /// `starmap`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The first failed task's error, or [`TaskError::Timeout`].
    #[track_caller]
    pub fn starmap<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        items: impl IntoIterator<Item = A>,
    ) -> Result<Vec<R>, TaskError> {
        self.0
            .starmap_async(task, items)
            .run()?
            .get_timeout(TIMEOUT)
    }
}

impl Deref for TestPool {
    type Target = Pool;

    fn deref(&self) -> &Pool {
        &self.0
    }
}

impl Drop for TestPool {
    fn drop(&mut self) {
        self.0.terminate();
    }
}

/// Collects an `imap` with each wait bounded by [`TIMEOUT`].
///
/// # Panics
/// If a result does not come within [`TIMEOUT`].
pub fn collect<A: TaskValue, R: TaskValue, I: Iterator<Item = A>>(
    mut results: IMap<'_, A, R, I>,
) -> Vec<Result<R, TaskError>> {
    let mut out = Vec::new();
    while let Some(item) = results.next_timeout(TIMEOUT) {
        assert!(
            !matches!(item, Err(TaskError::Timeout)),
            "no result within {TIMEOUT:?}"
        );
        out.push(item);
    }
    out
}
