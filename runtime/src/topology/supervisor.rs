//! The thread that watches a running topology: it closes each queue once its last writer has
//! ended (however it ended), and tells [`Running`](super::Running) when processes end.
//!
//! It waits on the pidfds of all the processes at once (epoll), so an exit is seen as it
//! happens, without polling.

use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use super::TopologyError;
use super::launcher::{QueueEntry, Started};
use crate::process::ProcessHandle;
use crate::sys::poller::{Poller, Waker};
use crate::sys::{OsContext, OsError};

/// The waker's token (processes are numbered from 0).
const WAKE: u64 = u64::MAX;

/// What the watching thread reports.
#[derive(Debug, Default)]
struct State {
    /// Processes still running, daemons included.
    running: usize,
    /// Non-daemon processes still running.
    workers: usize,
    /// Watching failed: the processes are no longer watched.
    failed: Option<io::Error>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs the watching thread; stops it when dropped.
#[derive(Debug)]
pub(super) struct Supervisor {
    shared: Arc<Shared>,
    waker: Arc<Waker>,
    thread: Option<JoinHandle<()>>,
}

/// One watched process.
struct Watched {
    handle: ProcessHandle,
    daemon: bool,
    writes: Vec<usize>,
    ended: bool,
}

impl Supervisor {
    /// Starts watching `started`, closing `queues` as their writers end.
    pub(super) fn start(
        started: &[Started],
        queues: Vec<QueueEntry>,
    ) -> Result<Self, TopologyError> {
        let os = TopologyError::os;
        let poller = Poller::new().map_err(os("epoll_create"))?;
        let waker = Arc::new(Waker::new().map_err(os("eventfd"))?);
        poller.add(waker.as_fd(), WAKE).map_err(os("epoll_ctl"))?;
        let watched: Vec<Watched> = started
            .iter()
            .map(|s| Watched {
                handle: s.handle.clone(),
                daemon: s.daemon,
                writes: s.writes.clone(),
                ended: false,
            })
            .collect();
        for (token, w) in (0u64..).zip(&watched) {
            poller
                .add(w.handle.exit_fd(), token)
                .map_err(os("epoll_ctl"))?;
        }
        let shared = Arc::new(Shared::default());
        {
            let mut state = shared.lock();
            state.running = watched.len();
            state.workers = watched.iter().filter(|w| !w.daemon).count();
        }
        let thread = {
            let (shared, waker) = (Arc::clone(&shared), Arc::clone(&waker));
            std::thread::Builder::new()
                .name("mproc-topology".into())
                .spawn(move || watch(&shared, &waker, poller, watched, &queues))
                .map_err(os("starting the topology's watcher thread"))?
        };
        Ok(Self {
            shared,
            waker,
            thread: Some(thread),
        })
    }

    /// Waits until `done(running, workers)` holds (given the processes still running, and the
    /// non-daemon ones among them), or `deadline`.
    pub(super) fn wait_until(
        &self,
        deadline: Option<Instant>,
        done: impl Fn(usize, usize) -> bool,
    ) -> Result<(), TopologyError> {
        let mut state = self.shared.lock();
        loop {
            if let Some(e) = &state.failed {
                let source = io::Error::new(e.kind(), e.to_string());
                return Err(OsError::new("watching the topology's processes", source).into());
            }
            if done(state.running, state.workers) {
                return Ok(());
            }
            state = match deadline {
                None => self
                    .shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(TopologyError::Timeout);
                    }
                    self.shared
                        .changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shared.stop.store(true, SeqCst);
        self.waker.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The watching thread.
fn watch(
    shared: &Shared,
    waker: &Waker,
    mut poller: Poller,
    mut watched: Vec<Watched>,
    queues: &[QueueEntry],
) {
    let mut writers = vec![0usize; queues.len()];
    for w in &watched {
        for &q in &w.writes {
            writers[q] += 1;
        }
    }
    let mut ready = Vec::new();
    while !shared.stop.load(SeqCst) && shared.lock().running > 0 {
        ready.clear();
        if let Err(e) = poller.wait(&mut ready, None) {
            shared.lock().failed = Some(e);
            shared.changed.notify_all();
            return;
        }
        for &token in &ready {
            if token == WAKE {
                waker.reset();
                continue;
            }
            let Some(w) = usize::try_from(token).ok().and_then(|i| watched.get_mut(i)) else {
                continue;
            };
            // Readable pidfd: the process has ended (reaping makes sure of it).
            if w.ended || !matches!(w.handle.exit_status(), Ok(Some(_)) | Err(_)) {
                continue;
            }
            w.ended = true;
            poller.remove(w.handle.exit_fd());
            for &q in &w.writes {
                writers[q] -= 1;
                if writers[q] == 0 {
                    queues[q].closer.close();
                }
            }
            let mut state = shared.lock();
            state.running -= 1;
            if !w.daemon {
                state.workers -= 1;
            }
            drop(state);
            shared.changed.notify_all();
        }
    }
}
