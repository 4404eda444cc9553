//! `AsyncResult`: the result of an `apply_async` or a `map_async`, to wait for or be called back
//! with.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::callbacks::Callbacks;
use super::job::Job;
use crate::pool::{PoolError, TaskError};

/// The result of a task (or of a whole `map`) running in the pool, as Python's `AsyncResult`.
///
/// `get` can be called any number of times (each decodes the stored result again). Callbacks
/// run in this process, on the pool's callback thread, once the result is ready; `Pool::join`
/// waits for them.
pub struct AsyncResult<T> {
    job: Arc<Job>,
    decode: fn(&Job) -> Result<T, TaskError>,
    callbacks: Arc<Callbacks>,
}

impl<T> std::fmt::Debug for AsyncResult<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncResult")
            .field("task", &self.job.task)
            .field("ready", &self.job.is_finished())
            .finish_non_exhaustive()
    }
}

impl<T: 'static> AsyncResult<T> {
    pub(crate) fn new(
        job: Arc<Job>,
        decode: fn(&Job) -> Result<T, TaskError>,
        callbacks: Arc<Callbacks>,
    ) -> Self {
        Self {
            job,
            decode,
            callbacks,
        }
    }

    /// Waits for the result.
    ///
    /// # Errors
    /// The task's [`TaskError`] (for a `map`, the first failed task's).
    pub fn get(&self) -> Result<T, TaskError> {
        self.job.wait_finished(None);
        (self.decode)(&self.job)
    }

    /// Waits at most `timeout` for the result.
    ///
    /// # Errors
    /// [`TaskError::Timeout`] if it is not ready (ask again later: nothing is lost); otherwise
    /// as [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, TaskError> {
        if !self.job.wait_finished(Instant::now().checked_add(timeout)) {
            return Err(TaskError::Timeout);
        }
        (self.decode)(&self.job)
    }

    /// Waits until the result is ready.
    pub fn wait(&self) {
        self.job.wait_finished(None);
    }

    /// Waits at most `timeout`; returns whether the result is ready.
    #[must_use]
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.job.wait_finished(Instant::now().checked_add(timeout))
    }

    /// Whether the result is ready.
    #[must_use]
    pub fn ready(&self) -> bool {
        self.job.is_finished()
    }

    /// Whether the task succeeded.
    ///
    /// # Errors
    /// [`PoolError::NotReady`] if it has not finished (Python raises `ValueError`).
    pub fn successful(&self) -> Result<bool, PoolError> {
        if !self.job.is_finished() {
            return Err(PoolError::NotReady);
        }
        Ok((self.decode)(&self.job).is_ok())
    }
}

impl<T: Send + 'static> AsyncResult<T> {
    /// Calls `callback` with the value once the task succeeded (Python's `callback=`).
    #[must_use]
    pub fn on_success(self, callback: impl FnOnce(T) + Send + 'static) -> Self {
        let (job, decode) = (Arc::clone(&self.job), self.decode);
        self.when_finished(Box::new(move || {
            if let Ok(value) = decode(&job) {
                callback(value);
            }
        }));
        self
    }

    /// Calls `callback` with the error once the task failed (Python's `error_callback=`).
    #[must_use]
    pub fn on_error(self, callback: impl FnOnce(&TaskError) + Send + 'static) -> Self {
        let (job, decode) = (Arc::clone(&self.job), self.decode);
        self.when_finished(Box::new(move || {
            if let Err(error) = decode(&job) {
                callback(&error);
            }
        }));
        self
    }

    fn when_finished(&self, callback: Box<dyn FnOnce() + Send>) {
        if let Some(now) = self.job.when_finished(callback) {
            self.callbacks.run(vec![now]);
        }
    }
}

/// Decodes a job of one task into its value.
pub(crate) fn decode_one<R: DeserializeOwned>(job: &Job) -> Result<R, TaskError> {
    let values: Vec<R> = job.decode_all()?;
    values
        .into_iter()
        .next()
        .ok_or_else(|| TaskError::Panicked {
            task: job.task,
            message: "the task produced no value".to_owned(),
            location: None,
            backtrace: None,
        })
}

/// Decodes a job of many tasks into their values, in order.
pub(crate) fn decode_all<R: DeserializeOwned>(job: &Job) -> Result<Vec<R>, TaskError> {
    job.decode_all()
}
