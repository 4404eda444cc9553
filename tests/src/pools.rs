//! A pool for tests: every wait bounded by [`TIMEOUT`], and terminated when dropped, so a test
//! that fails (or a worker that hangs) never leaves the test binary waiting.

use std::ops::Deref;

use mproc::pool::{IMap, Task};
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
    pub fn apply<M: 'static, T: Task<M>>(
        &self,
        task: T,
        args: T::Args,
    ) -> Result<T::Output, TaskError> {
        self.0.apply_async(task, args)?.get_timeout(TIMEOUT)
    }

    /// `map`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The first failed task's error, or [`TaskError::Timeout`].
    pub fn map<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<Vec<T::Output>, TaskError> {
        self.0.map_async(task, items).run()?.get_timeout(TIMEOUT)
    }

    /// `map_chunked`, bounded by [`TIMEOUT`].
    ///
    /// # Errors
    /// The first failed task's error, or [`TaskError::Timeout`].
    pub fn map_chunked<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
        chunksize: usize,
    ) -> Result<Vec<T::Output>, TaskError> {
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
    pub fn starmap<M: 'static, T: Task<M>>(
        &self,
        task: T,
        items: impl IntoIterator<Item = T::Args>,
    ) -> Result<Vec<T::Output>, TaskError> {
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
pub fn collect<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>>(
    mut results: IMap<'_, M, T, I>,
) -> Vec<Result<T::Output, TaskError>> {
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
