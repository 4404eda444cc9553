//! [`MpiPool`]: the local pool's calls, run by the worker ranks.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::imap::MpiIMap;
use super::master::{ChunkResult, Engine};
use super::trampoline;
use super::wire::{self, Failure, TaskHeader};
use crate::codec::{self, CodecError};
use crate::pool::EncodedTask;
use crate::pool::{
    AsyncResult, Garbled, Outcomes, Pool, PoolError, TaskError, TaskName, TaskValue,
    WorkerStartError, item_error,
};
use crate::process::SpawnError;

/// The pool across hosts (see the [module documentation](super)): made by
/// [`init`](super::init) on rank 0, or a local [`Pool`] when the program runs as a single
/// rank.
///
/// Its calls are the local pool's, with the same task functions and the same [`TaskError`]s:
/// `pool.map(f, xs).chunksize(8).run()`, `pool.imap(f, xs)`, `pool.apply(f, x)`, ...
/// It is used from the thread that made it (MPI is initialized for one thread).
#[derive(Debug)]
pub struct MpiPool {
    inner: Inner,
}

enum Inner {
    Local(Pool),
    Cluster {
        engine: RefCell<Engine>,
        /// Finalizes MPI when dropped, after the engine stopped the worker ranks.
        universe: Option<mpi::environment::Universe>,
    },
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Inner::Local(pool) => f.debug_tuple("Local").field(pool).finish(),
            Inner::Cluster { engine, .. } => f.debug_tuple("Cluster").field(engine).finish(),
        }
    }
}

impl MpiPool {
    pub(super) fn local(pool: Pool) -> Self {
        Self {
            inner: Inner::Local(pool),
        }
    }

    pub(super) fn cluster(engine: Engine, universe: mpi::environment::Universe) -> Self {
        Self {
            inner: Inner::Cluster {
                engine: RefCell::new(engine),
                universe: Some(universe),
            },
        }
    }

    /// How many tasks run at once: the local worker processes of every worker rank, summed
    /// (or the local pool's workers in a single-rank run).
    #[must_use]
    pub fn processes(&self) -> usize {
        match &self.inner {
            Inner::Local(pool) => pool.processes(),
            Inner::Cluster { engine, .. } => engine.borrow().processes(),
        }
    }

    /// How many worker ranks serve this pool: 0 when it fell back to a local pool.
    #[must_use]
    pub fn worker_ranks(&self) -> usize {
        match &self.inner {
            Inner::Local(_) => 0,
            Inner::Cluster { engine, .. } => engine.borrow().worker_ranks(),
        }
    }

    /// The number of MPI ranks of the job, this one included (1 for a local pool).
    #[must_use]
    pub fn world_size(&self) -> usize {
        match &self.inner {
            Inner::Local(_) => 1,
            Inner::Cluster { engine, .. } => usize::try_from(engine.borrow().size()).unwrap_or(1),
        }
    }

    /// Runs `task(args)` on a worker rank and waits for its value (Python's `apply`).
    ///
    /// # Errors
    /// As the local [`Pool::apply`]; see also [`MpiPool`]'s notes on handles.
    #[track_caller]
    pub fn apply<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        args: A,
    ) -> Result<R, TaskError> {
        self.apply_async(task, args)?.get()
    }

    /// Submits `task(args)` and returns at once (Python's `apply_async`). The task runs while
    /// this pool is waited on (any result's `get`, `wait` or `ready`, or another call).
    ///
    /// # Errors
    /// As the local [`Pool::apply_async`]; arguments that hold handles (descriptors) are
    /// refused with [`TaskError::EncodeArgs`]: they cannot travel to another host.
    #[track_caller]
    pub fn apply_async<A: TaskValue, R: TaskValue>(
        &self,
        task: fn(A) -> R,
        args: A,
    ) -> Result<MpiAsyncResult<'_, R>, TaskError> {
        match &self.inner {
            Inner::Local(pool) => Ok(MpiAsyncResult::Local(pool.apply_async(task, args)?)),
            Inner::Cluster { engine, .. } => {
                let entry = entry_of(task)?;
                let mut engine = engine.borrow_mut();
                let job = engine.new_job();
                let message = encode_chunk(&engine, entry, job, 0, std::slice::from_ref(&args));
                let message = message.inspect_err(|_| engine.abandon(job))?;
                engine.submit(job, message);
                Ok(MpiAsyncResult::Cluster(Pending {
                    pool: self,
                    job,
                    task: entry.name,
                    result: RefCell::new(None),
                    _marker: PhantomData,
                }))
            }
        }
    }

    /// Applies `task` to every item (Python's `map`): `pool.map(f, xs).run()`, with
    /// `.chunksize(n)` as Python's `chunksize=`. The default chunk size is Python's: the
    /// input's length over four times [`processes`](Self::processes), rounded up.
    pub fn map<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MpiMap<'_, A, R, I> {
        MpiMap {
            pool: self,
            task,
            items,
            chunksize: None,
        }
    }

    /// Python's `starmap`: the same as [`map`](Self::map) (several arguments are a tuple).
    pub fn starmap<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MpiMap<'_, A, R, I> {
        self.map(task, items)
    }

    /// The results of `task` over `items`, in order, as they come (Python's `imap`; chunk
    /// size 1 unless [`MpiIMap::chunksize`] says otherwise). The input is read lazily: at most
    /// two chunks per worker process are in flight.
    #[track_caller]
    pub fn imap<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MpiIMap<'_, A, R, I::IntoIter> {
        self.imap_in(task, items.into_iter(), true)
    }

    /// Like [`imap`](Self::imap), in the order the chunks finish (Python's
    /// `imap_unordered`).
    #[track_caller]
    pub fn imap_unordered<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        items: I,
    ) -> MpiIMap<'_, A, R, I::IntoIter> {
        self.imap_in(task, items.into_iter(), false)
    }

    #[track_caller]
    fn imap_in<A: TaskValue, R: TaskValue, I: Iterator<Item = A>>(
        &self,
        task: fn(A) -> R,
        input: I,
        ordered: bool,
    ) -> MpiIMap<'_, A, R, I> {
        match &self.inner {
            Inner::Local(pool) => MpiIMap::local(if ordered {
                pool.imap(task, input)
            } else {
                pool.imap_unordered(task, input)
            }),
            Inner::Cluster { engine, .. } => {
                let window = u32::try_from(2 * engine.borrow().processes()).unwrap_or(u32::MAX);
                MpiIMap::cluster(self, entry_of(task), input, window.max(2), ordered)
            }
        }
    }

    pub(super) fn engine(&self) -> Option<&RefCell<Engine>> {
        match &self.inner {
            Inner::Local(_) => None,
            Inner::Cluster { engine, .. } => Some(engine),
        }
    }
}

impl Drop for MpiPool {
    /// Waits for the chunks in flight, stops the worker ranks (they leave their processes) and
    /// finalizes MPI; a local pool is closed and joined.
    fn drop(&mut self) {
        match &mut self.inner {
            Inner::Local(pool) => {
                pool.close();
                let _ = pool.join();
            }
            Inner::Cluster { engine, universe } => {
                engine.get_mut().stop();
                drop(universe.take());
            }
        }
    }
}

/// The entry of a task value's type, or the error the local pool gives for code outside the
/// executable.
#[track_caller]
pub(super) fn entry_of<A: TaskValue, R: TaskValue>(
    task: fn(A) -> R,
) -> Result<EncodedTask, TaskError> {
    let name = TaskName::of::<A, R>(std::panic::Location::caller());
    EncodedTask::of(task, name).map_err(|_| {
        TaskError::Pool(WorkerStartError::Process(SpawnError::TargetNotInExecutable).into())
    })
}

/// The task message of chunk `chunk` of `job`: header, then the arguments. Arguments holding
/// handles are refused: a descriptor cannot travel to another host.
pub(super) fn encode_chunk<A: Serialize>(
    engine: &Engine,
    entry: EncodedTask,
    job: u64,
    chunk: u32,
    items: &[A],
) -> Result<Vec<u8>, TaskError> {
    let header = TaskHeader {
        job,
        chunk,
        code: entry.code,
        tag: trampoline::tag(&engine.key, entry.code),
    };
    let mut message = header.start_message();
    let mut fds = Vec::new();
    codec::encode_into(items, &mut message, &mut fds).map_err(|source| TaskError::EncodeArgs {
        task: entry.name,
        source,
    })?;
    if !fds.is_empty() {
        return Err(TaskError::EncodeArgs {
            task: entry.name,
            source: CodecError::Serialize {
                type_name: std::any::type_name::<A>(),
                detail: format!(
                    "the arguments hold {} handle(s) (descriptors), which cannot travel to \
                     another host",
                    fds.len()
                ),
            },
        });
    }
    Ok(message)
}

/// The values of a chunk of `n` tasks from what its rank sent back.
pub(super) fn decode_chunk<R: DeserializeOwned>(
    task: TaskName,
    n: usize,
    result: &ChunkResult,
) -> Vec<Result<R, TaskError>> {
    let (failure, rank) = match result {
        ChunkResult::Outcomes { bytes, rank } => {
            // As the rank's local worker encoded them (see `super::trampoline`).
            match codec::decode::<Outcomes<R>>(bytes, Vec::new()).map(Outcomes::into_items) {
                Ok(Ok(outcomes)) if outcomes.len() == n => {
                    return outcomes
                        .into_iter()
                        .map(|o| o.map_err(|f| item_error(f, task)))
                        .collect();
                }
                Ok(Err(Garbled)) => (
                    Failure::Refused {
                        message: "the failures' positions do not fit the chunk".to_owned(),
                    },
                    *rank,
                ),
                Ok(Ok(outcomes)) => (
                    Failure::Refused {
                        message: format!("{} outcomes for a chunk of {n} tasks", outcomes.len()),
                    },
                    *rank,
                ),
                Err(e) => (
                    Failure::Refused {
                        message: e.to_string(),
                    },
                    *rank,
                ),
            }
        }
        ChunkResult::Failed { failure, rank } => (failure.clone(), *rank),
        ChunkResult::Garbled { detail, rank } => {
            return (0..n)
                .map(|_| Err(wire::undecodable(task, format!("rank {rank}: {detail}"))))
                .collect();
        }
    };
    (0..n)
        .map(|_| Err(failure.clone().into_task_error(task, rank)))
        .collect()
}

/// `pool.map(task, items)` before it runs: set `chunksize`, then [`run`](MpiMap::run).
#[must_use = "nothing runs until `run()`"]
pub struct MpiMap<'p, A, R, I> {
    pool: &'p MpiPool,
    task: fn(A) -> R,
    items: I,
    chunksize: Option<usize>,
}

impl<A, R, I> std::fmt::Debug for MpiMap<'_, A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiMap")
            .field("task", &std::any::type_name::<fn(A) -> R>())
            .field("chunksize", &self.chunksize)
            .finish_non_exhaustive()
    }
}

impl<A: TaskValue, R: TaskValue, I: IntoIterator<Item = A>> MpiMap<'_, A, R, I> {
    /// Sends the tasks in chunks of `chunksize` (Python's `chunksize=`); 0 makes
    /// [`run`](Self::run) fail with [`PoolError::ZeroChunksize`].
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.chunksize = Some(chunksize);
        self
    }

    /// Runs the tasks and waits for their values, in input order.
    ///
    /// # Errors
    /// The first failed task's [`TaskError`], as the local [`Map::run`](crate::pool::Map::run).
    #[track_caller]
    pub fn run(self) -> Result<Vec<R>, TaskError> {
        let engine = match &self.pool.inner {
            Inner::Local(pool) => {
                let call = pool.map(self.task, self.items);
                return match self.chunksize {
                    Some(n) => call.chunksize(n).run(),
                    None => call.run(),
                };
            }
            Inner::Cluster { engine, .. } => engine,
        };
        let entry = entry_of(self.task)?;
        let items: Vec<A> = self.items.into_iter().collect();
        let chunksize = match self.chunksize {
            Some(0) => return Err(PoolError::ZeroChunksize.into()),
            Some(n) => n,
            None => items.len().div_ceil(4 * self.pool.processes()).max(1),
        };
        let mut engine = engine.borrow_mut();
        let job = engine.new_job();
        let chunks: Vec<&[A]> = items.chunks(chunksize).collect();
        for (index, chunk) in chunks.iter().enumerate() {
            let index = u32::try_from(index).map_err(|_| PoolError::ZeroChunksize)?;
            let message = encode_chunk(&engine, entry, job, index, chunk);
            let message = message.inspect_err(|_| engine.abandon(job))?;
            engine.submit(job, message);
        }
        let mut values = Vec::with_capacity(items.len());
        for (index, chunk) in chunks.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            // Without a deadline, `take` returns only with the chunk's result.
            let Some((_, result)) = engine.take(job, Some(index), None) else {
                return Err(TaskError::Timeout);
            };
            for value in decode_chunk::<R>(entry.name, chunk.len(), &result) {
                match value {
                    Ok(v) => values.push(v),
                    Err(e) => {
                        engine.abandon(job);
                        return Err(e);
                    }
                }
            }
        }
        engine.abandon(job);
        Ok(values)
    }
}

/// The result of [`MpiPool::apply_async`]: as the local [`AsyncResult`].
#[derive(Debug)]
pub enum MpiAsyncResult<'p, R> {
    /// A single-rank run's local result.
    Local(AsyncResult<R>),
    /// A task sent to a worker rank.
    Cluster(Pending<'p, R>),
}

/// A task sent to a worker rank (inside [`MpiAsyncResult::Cluster`]).
pub struct Pending<'p, R> {
    pool: &'p MpiPool,
    job: u64,
    task: TaskName,
    result: RefCell<Option<ChunkResult>>,
    _marker: PhantomData<fn() -> R>,
}

impl<R> std::fmt::Debug for Pending<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("task", &self.task)
            .field("job", &self.job)
            .finish_non_exhaustive()
    }
}

impl<R: DeserializeOwned + Send + 'static> MpiAsyncResult<'_, R> {
    /// Waits for the value (Python's `get`).
    ///
    /// # Errors
    /// The task's [`TaskError`].
    pub fn get(&self) -> Result<R, TaskError> {
        match self {
            Self::Local(result) => result.get(),
            Self::Cluster(pending) => pending.get_until(None),
        }
    }

    /// Waits at most `timeout` for the value.
    ///
    /// # Errors
    /// [`TaskError::Timeout`] if it is not ready in time (ask again later); otherwise as
    /// [`get`](Self::get).
    pub fn get_timeout(&self, timeout: Duration) -> Result<R, TaskError> {
        match self {
            Self::Local(result) => result.get_timeout(timeout),
            Self::Cluster(pending) => pending.get_until(Instant::now().checked_add(timeout)),
        }
    }

    /// Whether the value is ready (makes progress once, never waits).
    #[must_use]
    pub fn ready(&self) -> bool {
        match self {
            Self::Local(result) => result.ready(),
            Self::Cluster(pending) => {
                pending.result.borrow().is_some()
                    || pending
                        .pool
                        .engine()
                        .is_some_and(|e| e.borrow_mut().arrived(pending.job, 0))
            }
        }
    }
}

impl<R: DeserializeOwned> Pending<'_, R> {
    fn get_until(&self, deadline: Option<Instant>) -> Result<R, TaskError> {
        let mut stored = self.result.borrow_mut();
        if stored.is_none() {
            let engine = self.pool.engine().ok_or(PoolError::NotRunning)?;
            let taken = engine.borrow_mut().take(self.job, Some(0), deadline);
            let Some((_, result)) = taken else {
                return Err(TaskError::Timeout);
            };
            *stored = Some(result);
        }
        let Some(result) = stored.as_ref() else {
            return Err(PoolError::NotReady.into());
        };
        decode_chunk::<R>(self.task, 1, result)
            .pop()
            .unwrap_or(Err(PoolError::NotReady.into()))
    }
}

impl<R> Drop for Pending<'_, R> {
    fn drop(&mut self) {
        if let Some(engine) = self.pool.engine() {
            engine.borrow_mut().abandon(self.job);
        }
    }
}
