//! [`MpiIMap`]: the iterator of [`MpiPool::imap`](super::MpiPool::imap) and
//! `imap_unordered`, with a bounded read-ahead of chunks on the worker ranks.

use std::marker::PhantomData;

use super::pool::{MpiPool, decode_chunk, encode_chunk};
use super::trampoline::TaskEntry;
use crate::pool::{IMap, PoolError, Task, TaskError, WorkerStartError};
use crate::process::SpawnError;

/// The iterator of [`MpiPool::imap`] and [`MpiPool::imap_unordered`]: one task's result per
/// item.
pub struct MpiIMap<'p, M, T: Task<M>, I> {
    inner: IMapInner<'p, M, T, I>,
}

enum IMapInner<'p, M, T: Task<M>, I> {
    Local(IMap<'p, M, T, I>),
    Cluster(ClusterIMap<'p, M, T, I>),
}

impl<'p, M, T: Task<M>, I> MpiIMap<'p, M, T, I> {
    /// The local pool's iterator (a single rank).
    pub(super) fn local(imap: IMap<'p, M, T, I>) -> Self {
        Self {
            inner: IMapInner::Local(imap),
        }
    }

    /// Chunks of `input` farmed to the worker ranks of `pool`, at most `window` in flight.
    pub(super) fn cluster(
        pool: &'p MpiPool,
        entry: Result<TaskEntry, TaskError>,
        input: I,
        window: u32,
        ordered: bool,
    ) -> Self {
        Self {
            inner: IMapInner::Cluster(ClusterIMap {
                pool,
                entry,
                input,
                chunksize: 1,
                window,
                job: None,
                lens: std::collections::HashMap::new(),
                submitted: 0,
                consumed: 0,
                input_done: false,
                ordered,
                current: Vec::new().into_iter(),
                _marker: PhantomData,
            }),
        }
    }
}

impl<M, T: Task<M>, I> std::fmt::Debug for MpiIMap<'_, M, T, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiIMap")
            .field("task", &std::any::type_name::<T>())
            .finish_non_exhaustive()
    }
}

struct ClusterIMap<'p, M, T: Task<M>, I> {
    pool: &'p MpiPool,
    entry: Result<TaskEntry, TaskError>,
    input: I,
    chunksize: usize,
    window: u32,
    job: Option<u64>,
    /// The length of each chunk in flight.
    lens: std::collections::HashMap<u32, usize>,
    submitted: u32,
    consumed: u32,
    input_done: bool,
    ordered: bool,
    current: std::vec::IntoIter<Result<T::Output, TaskError>>,
    _marker: PhantomData<fn() -> M>,
}

impl<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> MpiIMap<'_, M, T, I> {
    /// Sends the tasks in chunks of `chunksize` (default 1). Set it before the first result
    /// is taken; 0 makes the first item `Err(TaskError::Pool(PoolError::ZeroChunksize))`.
    #[must_use]
    pub fn chunksize(mut self, chunksize: usize) -> Self {
        self.inner = match self.inner {
            IMapInner::Local(imap) => IMapInner::Local(imap.chunksize(chunksize)),
            IMapInner::Cluster(mut imap) => {
                imap.chunksize = chunksize;
                IMapInner::Cluster(imap)
            }
        };
        self
    }
}

impl<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> Iterator for MpiIMap<'_, M, T, I> {
    type Item = Result<T::Output, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IMapInner::Local(imap) => imap.next(),
            IMapInner::Cluster(imap) => imap.next(),
        }
    }
}

impl<M: 'static, T: Task<M>, I: Iterator<Item = T::Args>> ClusterIMap<'_, M, T, I> {
    fn next(&mut self) -> Option<Result<T::Output, TaskError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if let Err(e) = self.refill() {
                self.input_done = true;
                return Some(Err(e));
            }
            let job = self.job?;
            if self.input_done && self.consumed == self.submitted {
                return None;
            }
            let wanted = self.ordered.then_some(self.consumed);
            let engine = self.pool.engine()?;
            let (index, result) = engine.borrow_mut().take(job, wanted, None)?;
            self.consumed += 1;
            let n = self.lens.remove(&index).unwrap_or(0);
            let name = std::any::type_name::<T>();
            self.current = decode_chunk::<T::Output>(name, n, &result).into_iter();
        }
    }

    /// Submits chunks until the window is full or the input ends.
    fn refill(&mut self) -> Result<(), TaskError> {
        let entry = *self.entry.as_ref().map_err(|_| {
            TaskError::Pool(WorkerStartError::Process(SpawnError::TargetNotInExecutable).into())
        })?;
        if self.chunksize == 0 {
            return Err(PoolError::ZeroChunksize.into());
        }
        let Some(engine) = self.pool.engine() else {
            return Ok(());
        };
        let mut engine = engine.borrow_mut();
        let job = *self.job.get_or_insert_with(|| engine.new_job());
        while !self.input_done && self.submitted - self.consumed < self.window {
            let items: Vec<T::Args> = self.input.by_ref().take(self.chunksize).collect();
            if items.is_empty() {
                self.input_done = true;
                break;
            }
            let message = encode_chunk(&engine, entry, job, self.submitted, &items)?;
            engine.submit(job, message);
            self.lens.insert(self.submitted, items.len());
            self.submitted += 1;
        }
        Ok(())
    }
}

impl<M, T: Task<M>, I> Drop for ClusterIMap<'_, M, T, I> {
    fn drop(&mut self) {
        if let (Some(job), Some(engine)) = (self.job, self.pool.engine()) {
            engine.borrow_mut().abandon(job);
        }
    }
}
