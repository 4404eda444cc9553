//! What the pool's handle and the pool's thread share: the queue of submitted chunks, the run
//! state, and the waker of the pool's thread.

use std::collections::VecDeque;
use std::ops::Range;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use super::job::Job;
use super::task::TaskRef;
use crate::pool::PoolError;
use crate::sys::poller::Waker;

/// One chunk of one job, encoded, waiting for a worker (or running on one).
#[derive(Debug)]
pub(crate) struct Chunk {
    pub(crate) job: Arc<Job>,
    pub(crate) index: u32,
    pub(crate) task: TaskRef,
    /// Its encoded arguments (one sequence, however many calls the chunk holds).
    pub(crate) payload: Payload,
    pub(crate) fds: Vec<OwnedFd>,
}

/// A chunk's encoded arguments: a buffer of its own, or its part of one that the chunks of a
/// `map` share (one allocation for the whole call, freed when its last chunk is published).
#[derive(Debug)]
pub(crate) enum Payload {
    Own(Vec<u8>),
    Part {
        all: Arc<Vec<u8>>,
        range: Range<usize>,
    },
}

impl Payload {
    pub(crate) fn bytes(&self) -> &[u8] {
        match self {
            Payload::Own(bytes) => bytes,
            // An out-of-range part cannot be made (see `encode_chunks`); an empty one if it were.
            Payload::Part { all, range } => all.get(range.clone()).unwrap_or_default(),
        }
    }
}

impl Default for Payload {
    fn default() -> Self {
        Payload::Own(Vec::new())
    }
}

/// The pool's life cycle.
#[derive(Debug, Clone)]
pub(crate) enum Mode {
    Running,
    /// No new tasks; finish what was submitted, then let the workers go.
    Closing,
    /// Stop now: fail everything unfinished and end the workers.
    Terminating,
    /// It cannot go on (an initializer failed): everything submitted fails with this.
    Broken(PoolError),
}

#[derive(Debug)]
pub(crate) struct Inbox {
    pub(crate) chunks: VecDeque<Chunk>,
    pub(crate) mode: Mode,
    /// Set by the pool's thread when it has ended.
    pub(crate) stopped: bool,
}

/// State shared between `Pool` and its thread.
#[derive(Debug)]
pub(crate) struct Shared {
    inbox: Mutex<Inbox>,
    /// Signalled when the pool's thread has ended (`Inbox::stopped`).
    stopped: Condvar,
    pub(crate) waker: Waker,
}

impl Shared {
    pub(crate) fn new(waker: Waker) -> Self {
        Self {
            inbox: Mutex::new(Inbox {
                chunks: VecDeque::new(),
                mode: Mode::Running,
                stopped: false,
            }),
            stopped: Condvar::new(),
            waker,
        }
    }

    pub(crate) fn inbox(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues chunks, if the pool takes tasks.
    pub(crate) fn submit(&self, chunks: impl IntoIterator<Item = Chunk>) -> Result<(), PoolError> {
        self.submit_with(|queued| queued.extend(chunks))
    }

    /// Queues a job's chunks, if the pool takes tasks: when nothing waits before them, the
    /// vector becomes the queue as it is (a `map` of 10,000 chunks is not copied one by one).
    pub(crate) fn submit_all(&self, chunks: Vec<Chunk>) -> Result<(), PoolError> {
        self.submit_with(|queued| {
            if queued.is_empty() {
                *queued = VecDeque::from(chunks);
            } else {
                queued.extend(chunks);
            }
        })
    }

    fn submit_with(&self, put: impl FnOnce(&mut VecDeque<Chunk>)) -> Result<(), PoolError> {
        let mut inbox = self.inbox();
        match &inbox.mode {
            Mode::Running => {}
            Mode::Broken(e) => return Err(e.clone()),
            Mode::Closing | Mode::Terminating => return Err(PoolError::NotRunning),
        }
        put(&mut inbox.chunks);
        drop(inbox);
        self.waker.wake();
        Ok(())
    }

    /// Marks the pool's thread as ended (from that thread, last).
    pub(crate) fn mark_stopped(&self) {
        self.inbox().stopped = true;
        self.stopped.notify_all();
    }

    /// Waits until the pool's thread has ended; `false` if `deadline` passed first.
    pub(crate) fn wait_stopped(&self, deadline: Option<Instant>) -> bool {
        let mut inbox = self.inbox();
        while !inbox.stopped {
            inbox = match deadline {
                None => self
                    .stopped
                    .wait(inbox)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let Some(left) = d.checked_duration_since(Instant::now()) else {
                        return false;
                    };
                    self.stopped
                        .wait_timeout(inbox, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
        true
    }

    /// Moves the pool to `mode` (never back to running, never out of terminating).
    pub(crate) fn set_mode(&self, mode: Mode) {
        let mut inbox = self.inbox();
        let allowed = match (&inbox.mode, &mode) {
            (Mode::Terminating, _) => false,
            (_, Mode::Terminating) | (Mode::Running, _) => true,
            _ => false,
        };
        if allowed {
            inbox.mode = mode;
        }
        drop(inbox);
        self.waker.wake();
    }
}
