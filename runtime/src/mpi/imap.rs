//! [`MpiIMap`]: the iterator of [`MpiPool::imap`](super::MpiPool::imap) and
//! `imap_unordered`, with a bounded read-ahead of chunks on the worker ranks.

use std::marker::PhantomData;

use super::pool::{MpiPool, decode_chunk, encode_chunk};
use crate::pool::EncodedTask;
use crate::pool::{IMap, PoolError, TaskError, TaskName, TaskValue, WorkerStartError};
use crate::process::SpawnError;

/// The iterator of [`MpiPool::imap`] and [`MpiPool::imap_unordered`]: one task's result per
/// item.
pub struct MpiIMap<'p, A, R, I> {
    inner: IMapInner<'p, A, R, I>,
}

enum IMapInner<'p, A, R, I> {
    Local(IMap<'p, A, R, I>),
    Cluster(ClusterIMap<'p, A, R, I>),
}

impl<'p, A, R, I> MpiIMap<'p, A, R, I> {
    /// The local pool's iterator (a single rank).
    pub(super) fn local(imap: IMap<'p, A, R, I>) -> Self {
        Self {
            inner: IMapInner::Local(imap),
        }
    }

    /// Chunks of `input` farmed to the worker ranks of `pool`, at most `window` in flight.
    pub(super) fn cluster(
        pool: &'p MpiPool,
        entry: Result<EncodedTask, TaskError>,
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

impl<A, R, I> std::fmt::Debug for MpiIMap<'_, A, R, I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MpiIMap")
            .field("task", &std::any::type_name::<fn(A) -> R>())
            .finish_non_exhaustive()
    }
}

struct ClusterIMap<'p, A, R, I> {
    pool: &'p MpiPool,
    entry: Result<EncodedTask, TaskError>,
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
    current: std::vec::IntoIter<Result<R, TaskError>>,
    _marker: PhantomData<fn(A) -> R>,
}

impl<A: TaskValue, R: TaskValue, I: Iterator<Item = A>> MpiIMap<'_, A, R, I> {
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

impl<A: TaskValue, R: TaskValue, I: Iterator<Item = A>> Iterator for MpiIMap<'_, A, R, I> {
    type Item = Result<R, TaskError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            IMapInner::Local(imap) => imap.next(),
            IMapInner::Cluster(imap) => imap.next(),
        }
    }
}

impl<A: TaskValue, R: TaskValue, I: Iterator<Item = A>> ClusterIMap<'_, A, R, I> {
    fn next(&mut self) -> Option<Result<R, TaskError>> {
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
            // Chunks were submitted, so the entry is good.
            let name = self
                .entry
                .as_ref()
                .map_or(TaskName::described("?"), |entry| entry.name);
            self.current = decode_chunk::<R>(name, n, &result).into_iter();
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
            let items: Vec<A> = self.input.by_ref().take(self.chunksize).collect();
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

impl<A, R, I> Drop for ClusterIMap<'_, A, R, I> {
    fn drop(&mut self) {
        if let (Some(job), Some(engine)) = (self.job, self.pool.engine()) {
            engine.borrow_mut().abandon(job);
        }
    }
}
