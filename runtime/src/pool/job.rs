//! One submission to the pool (an `apply`, a `map`, an `imap`): its chunks' results as they
//! arrive, and the means to wait for them.
//!
//! Results are kept encoded (bytes and the descriptors of any handles in them) and decoded by
//! whoever asks for them, in that caller's thread: the pool's own thread only moves bytes.

use std::os::fd::OwnedFd;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::time::Instant;

use std::marker::PhantomData;

use serde::de::{DeserializeOwned, DeserializeSeed};

use super::outcomes::{AppendValues, Garbled, Outcomes};
use super::slots::Slots;
use super::task::{ItemFailure, TaskName};
use crate::codec::{self, CodecError};
use crate::pool::{PoolError, TaskError};
use crate::sys;

/// Why a chunk produced no results. Unlike [`TaskError`] it can be cloned, so a result can be
/// asked for more than once.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    WorkerLost {
        pid: i32,
        signal: Option<i32>,
        code: Option<i32>,
    },
    Terminated,
    Protocol(String),
    Pool(PoolError),
}

impl Failure {
    fn to_error(&self, task: TaskName) -> TaskError {
        match self.clone() {
            Failure::WorkerLost { pid, signal, code } => TaskError::WorkerLost {
                task,
                pid,
                signal,
                code,
            },
            Failure::Terminated => TaskError::Terminated { task },
            Failure::Protocol(message) => TaskError::Panicked {
                task,
                message: format!("the worker could not read the task: {message}"),
                location: None,
                backtrace: None,
            },
            Failure::Pool(e) => TaskError::Pool(e),
        }
    }
}

/// What came back for one chunk.
#[derive(Debug)]
pub(crate) enum Slot {
    /// The chunk ran: a sequence of `Result<Output, ItemFailure>`, with handle descriptors.
    Done {
        bytes: Vec<u8>,
        fds: Vec<OwnedFd>,
    },
    Failed(Failure),
}

#[derive(Default)]
struct State {
    slots: Slots,
    /// Chunks that have a result (taken ones included).
    completed: u32,
    /// How many chunks the job has, once known (an `imap` learns it at the end of its input).
    total: Option<u32>,
    /// Callbacks waiting for the job to finish.
    on_finish: Vec<Box<dyn FnOnce() + Send>>,
    /// Callbacks registered and not yet run (or panicked): `get` and `wait` return only once
    /// none is left, as `CPython` guarantees.
    callbacks_left: u32,
    /// Futures waiting for the job (see `AsyncResult`'s `Future`).
    wakers: Vec<Waker>,
    /// Threads asleep until the job finishes, and until a chunk arrives: a new result wakes
    /// only those it may concern (a `map` of 100,000 chunks wakes its caller once, not 100,000
    /// times).
    finish_waiters: u32,
    chunk_waiters: u32,
}

/// What a thread waits for.
#[derive(Clone, Copy)]
enum Want {
    Finish,
    Chunk,
}

impl State {
    fn is_finished(&self) -> bool {
        self.total == Some(self.completed)
    }

    /// Finished, and its callbacks have run (the callback thread does not wait for them: a
    /// callback may look at its own result).
    fn is_settled(&self) -> bool {
        self.is_finished() && (self.callbacks_left == 0 || super::callbacks::on_callback_thread())
    }

    /// The futures to wake now that the job settled, if it did.
    fn settled_wakers(&mut self) -> Vec<Waker> {
        if self.is_finished() && self.callbacks_left == 0 {
            std::mem::take(&mut self.wakers)
        } else {
            Vec::new()
        }
    }

    /// Whether a change that finished the job (or not) concerns a sleeping thread.
    fn must_wake(&self, finished: bool) -> bool {
        self.chunk_waiters > 0 || (finished && self.finish_waiters > 0)
    }

    fn waiters(&mut self, want: Want) -> &mut u32 {
        match want {
            Want::Finish => &mut self.finish_waiters,
            Want::Chunk => &mut self.chunk_waiters,
        }
    }
}

/// A submission's results.
#[derive(Debug)]
pub(crate) struct Job {
    pub(crate) task: TaskName,
    state: Mutex<State>,
    changed: Condvar,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("waiting_chunks", &self.slots.len())
            .field("completed", &self.completed)
            .field("total", &self.total)
            .field("callbacks", &self.on_finish.len())
            .field("callbacks_left", &self.callbacks_left)
            .field("wakers", &self.wakers.len())
            .field("finish_waiters", &self.finish_waiters)
            .field("chunk_waiters", &self.chunk_waiters)
            .finish()
    }
}

impl Job {
    pub(crate) fn new(task: TaskName, total: Option<u32>) -> Self {
        Self {
            task,
            state: Mutex::new(State {
                total,
                ..State::default()
            }),
            changed: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a chunk's result (from the pool's thread). Returns the callbacks to run if that
    /// finished the job.
    pub(crate) fn complete(&self, chunk: u32, slot: Slot) -> Vec<Box<dyn FnOnce() + Send>> {
        self.change(|st| {
            st.slots.insert(chunk, slot);
            st.completed += 1;
        })
    }

    /// Sets the number of chunks once known.
    pub(crate) fn set_total(&self, total: u32) -> Vec<Box<dyn FnOnce() + Send>> {
        self.change(|st| st.total = Some(total))
    }

    /// Applies `change`, wakes whom it concerns; the callbacks to run if it finished the job.
    fn change(&self, change: impl FnOnce(&mut State)) -> Vec<Box<dyn FnOnce() + Send>> {
        let mut st = self.lock();
        change(&mut st);
        let finished = st.is_finished();
        let wake = st.must_wake(finished);
        let callbacks = if finished {
            std::mem::take(&mut st.on_finish)
        } else {
            Vec::new()
        };
        let wakers = st.settled_wakers();
        drop(st);
        // After the unlock: a thread woken while the lock is still held wakes only to wait for
        // it (two more futex calls on each side). No wake-up is lost: a waiter counted above
        // is inside `Condvar::wait`, which notices a notification sent after it released the
        // lock.
        if wake {
            self.changed.notify_all();
        }
        wakers.into_iter().for_each(Waker::wake);
        callbacks
    }

    /// Runs `callback` when the job finishes, or returns it if it already has. Either way the
    /// job counts it as left to run until [`callback_ran`](Self::callback_ran).
    pub(crate) fn when_finished(
        &self,
        callback: Box<dyn FnOnce() + Send>,
    ) -> Option<Box<dyn FnOnce() + Send>> {
        let mut st = self.lock();
        st.callbacks_left += 1;
        if st.is_finished() {
            Some(callback)
        } else {
            st.on_finish.push(callback);
            None
        }
    }

    /// One callback registered with [`when_finished`](Self::when_finished) has run (or
    /// panicked).
    pub(crate) fn callback_ran(&self) {
        let mut st = self.lock();
        st.callbacks_left = st.callbacks_left.saturating_sub(1);
        let wake = st.callbacks_left == 0 && st.finish_waiters > 0;
        let wakers = st.settled_wakers();
        drop(st);
        // After the unlock, as in `change`.
        if wake {
            self.changed.notify_all();
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    /// Whether the job finished and its callbacks ran.
    pub(crate) fn is_finished(&self) -> bool {
        self.lock().is_settled()
    }

    /// `true` if the job settled; otherwise keeps `waker` to wake when it does.
    pub(crate) fn settled_or_register(&self, waker: &Waker) -> bool {
        let mut st = self.lock();
        if st.is_settled() {
            return true;
        }
        if !st.wakers.iter().any(|w| w.will_wake(waker)) {
            st.wakers.push(waker.clone());
        }
        false
    }

    /// Waits until the job is finished and its callbacks ran (`false` if `deadline` passed
    /// first).
    pub(crate) fn wait_finished(&self, deadline: Option<Instant>) -> bool {
        self.wait_until(deadline, Want::Finish, State::is_settled)
            .is_some()
    }

    /// Sleeps until `done` holds (`None` if `deadline` passes first), counted among the
    /// threads that want `want`, so that the changes that can satisfy `done` wake it.
    fn wait_until(
        &self,
        deadline: Option<Instant>,
        want: Want,
        done: impl Fn(&State) -> bool,
    ) -> Option<MutexGuard<'_, State>> {
        let mut st = self.lock();
        loop {
            if done(&st) {
                return Some(st);
            }
            let left = match deadline {
                None => None,
                Some(d) => Some(d.checked_duration_since(Instant::now())?),
            };
            *st.waiters(want) += 1;
            st = match left {
                None => self
                    .changed
                    .wait(st)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(left) => {
                    self.changed
                        .wait_timeout(st, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
            *st.waiters(want) -= 1;
        }
    }

    /// Decodes every chunk, in order, into one vector (the job must be finished).
    pub(crate) fn decode_all<R: DeserializeOwned>(&self) -> Result<Vec<R>, TaskError> {
        let st = self.lock();
        let mut out = Vec::new();
        for slot in st.slots.values() {
            // Each chunk's values straight after the last's: no vector per chunk, no copy.
            let failures = decode_raw_with::<R, _>(slot, self.task, AppendValues(&mut out))?;
            // The first failed item fails the whole (as Python's `map` raises).
            if let Some((_, failure)) = failures.into_iter().next() {
                return Err(item_error(failure, self.task));
            }
        }
        Ok(out)
    }

    /// Waits for chunk `chunk` (or, with `any`, for the lowest finished chunk), removes it and
    /// returns it decoded. `Ok(None)` on timeout.
    pub(crate) fn take<R: DeserializeOwned>(
        &self,
        chunk: Option<u32>,
        deadline: Option<Instant>,
    ) -> Option<(u32, ChunkResults<R>)> {
        let mut st = self.wait_until(deadline, Want::Chunk, |st| match chunk {
            Some(c) => st.slots.contains(c),
            None => !st.slots.is_empty(),
        })?;
        let (index, slot) = match chunk {
            Some(c) => (c, st.slots.remove(c)?),
            None => st.slots.pop_first()?,
        };
        drop(st);
        Some((index, decode_items::<R>(&slot, self.task)))
    }
}

/// A chunk as its worker encoded it: its bytes and descriptors, or its failure.
#[cfg(feature = "mpi")]
pub(crate) type Encoded = Result<(Vec<u8>, Vec<OwnedFd>), TaskError>;

/// The pool across hosts takes its chunks undecoded.
#[cfg(feature = "mpi")]
impl Job {
    /// Waits for the next chunk to come back (the lowest one, if several did) and removes it
    /// as the worker encoded it: its index, and its bytes and descriptors or its failure.
    pub(crate) fn take_encoded(&self) -> (u32, Encoded) {
        // Without a deadline, `wait_until` returns only once a chunk is there.
        let taken = self
            .wait_until(None, Want::Chunk, |st| !st.slots.is_empty())
            .and_then(|mut st| st.slots.pop_first());
        match taken {
            Some((index, Slot::Done { bytes, fds })) => (index, Ok((bytes, fds))),
            Some((index, Slot::Failed(f))) => (index, Err(f.to_error(self.task))),
            None => (u32::MAX, Err(TaskError::Timeout)),
        }
    }
}

/// A chunk decoded item by item (`Err` for the whole chunk when it produced no results).
pub(crate) type ChunkResults<R> = Result<Vec<Result<R, TaskError>>, TaskError>;

/// Decodes one chunk item by item.
fn decode_items<R: DeserializeOwned>(slot: &Slot, task: TaskName) -> ChunkResults<R> {
    let items = decode_raw::<R>(slot, task)?
        .into_items()
        .map_err(|Garbled| garbled::<R>(task))?;
    Ok(items
        .into_iter()
        .map(|item| item.map_err(|f| item_error(f, task)))
        .collect())
}

/// The error for outcomes whose failures do not fit their chunk.
pub(crate) fn garbled<R>(task: TaskName) -> TaskError {
    TaskError::DecodeResult {
        task,
        source: CodecError::Deserialize {
            type_name: std::any::type_name::<R>(),
            detail: "the failures' positions do not fit the chunk".to_owned(),
        },
    }
}

/// Decodes one chunk's outcomes as the worker encoded them.
fn decode_raw<R: DeserializeOwned>(slot: &Slot, task: TaskName) -> Result<Outcomes<R>, TaskError> {
    decode_raw_with::<R, _>(slot, task, PhantomData::<Outcomes<R>>)
}

/// Decodes one chunk's outcomes (of values `R`) through `seed`.
fn decode_raw_with<'s, R, S: DeserializeSeed<'s>>(
    slot: &'s Slot,
    task: TaskName,
    seed: S,
) -> Result<S::Value, TaskError> {
    let type_name = std::any::type_name::<R>();
    let (bytes, fds) = match slot {
        Slot::Done { bytes, fds } => (bytes, fds),
        Slot::Failed(f) => return Err(f.to_error(task)),
    };
    // Duplicate the descriptors, so a result holding handles can be decoded again.
    let fds: Vec<OwnedFd> = fds
        .iter()
        .map(|fd| sys::fd::dup_cloexec(std::os::fd::AsFd::as_fd(fd)))
        .collect::<Result<_, _>>()
        .map_err(|e| TaskError::DecodeResult {
            task,
            source: CodecError::Deserialize {
                type_name,
                detail: format!("cannot duplicate a handle: {e}"),
            },
        })?;
    codec::decode_seed(bytes, fds, seed, type_name)
        .map_err(|source| TaskError::DecodeResult { task, source })
}

/// The [`TaskError`] of one task's failure, as its worker reported it.
pub(crate) fn item_error(failure: ItemFailure, task: TaskName) -> TaskError {
    match failure {
        ItemFailure::Panicked(report) => TaskError::Panicked {
            task,
            message: report.message,
            location: report.location,
            backtrace: report.backtrace,
        },
        ItemFailure::EncodeResult(message) => TaskError::EncodeResult { task, message },
    }
}
