//! `AsyncResult`: the result of an `apply_async` or a `map_async`, to wait for or be called back
//! with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::callbacks::Callbacks;
use super::job::Job;
use crate::pool::{PoolError, TaskError};

/// The result of a task (or of a whole `map`) running in the pool, as Python's `AsyncResult`.
///
/// `get` can be called any number of times (each decodes the stored result again). Callbacks
/// run in this process, on the pool's callback thread, once the result is ready; `get`, `wait`
/// and `ready` see the result only once its own callbacks have run, and `Pool::join` waits for
/// them all.
///
/// It is also a [`Future`](std::future::Future) of the same value, usable under any executor
/// (the pool's thread wakes it; no runtime is needed): `pool.apply_async(f, x)?.await`. See
/// [`as_completed`](crate::pool::as_completed) for many results in the order they finish.
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
    ///
    /// The callback runs on the pool's callback thread; [`get`](Self::get) and
    /// [`wait`](Self::wait) (and the future) return only after it has run, as in `CPython`.
    /// Returns the result, which may be dropped: `pool.apply_async(f, x)?.on_success(cb);`
    /// fires and forgets.
    #[allow(
        clippy::return_self_not_must_use,
        reason = "fire-and-forget is the common use (issue #22 item 7)"
    )]
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
    ///
    /// As [`on_success`](Self::on_success): `get` and `wait` return only after it has run.
    #[allow(
        clippy::return_self_not_must_use,
        reason = "fire-and-forget is the common use (issue #22 item 7)"
    )]
    pub fn on_error(self, callback: impl FnOnce(&TaskError) + Send + 'static) -> Self {
        let (job, decode) = (Arc::clone(&self.job), self.decode);
        self.when_finished(Box::new(move || {
            if let Err(error) = decode(&job) {
                callback(&error);
            }
        }));
        self
    }

    /// Registers `callback`; the job counts it until it has run (even if it panics), so that
    /// `get` and `wait` return only after it.
    fn when_finished(&self, callback: Box<dyn FnOnce() + Send>) {
        let job = Arc::clone(&self.job);
        let counted: Box<dyn FnOnce() + Send> = Box::new(move || {
            let _ran = Ran(job);
            callback();
        });
        if let Some(now) = self.job.when_finished(counted) {
            self.callbacks.run(vec![now]);
        }
    }
}

impl<T: 'static> Future for AsyncResult<T> {
    type Output = Result<T, TaskError>;

    /// Ready once the result is (and its callbacks ran); until then the pool's thread keeps
    /// the waker and wakes it then. Needs no runtime.
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.job.settled_or_register(cx.waker()) {
            Poll::Ready((self.decode)(&self.job))
        } else {
            Poll::Pending
        }
    }
}

impl<T> AsyncResult<T> {
    pub(crate) fn job(&self) -> &Arc<Job> {
        &self.job
    }

    /// Decodes the result (which must be ready).
    pub(crate) fn decoded(&self) -> Result<T, TaskError> {
        (self.decode)(&self.job)
    }
}

/// Tells the job a callback ran when dropped (also when the callback panicked).
struct Ran(Arc<Job>);

impl Drop for Ran {
    fn drop(&mut self) {
        self.0.callback_ran();
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
