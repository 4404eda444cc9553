//! The pool's own thread: it starts and replaces the workers, hands them chunks, routes their
//! results to the jobs, and accounts for every chunk when a worker dies.
//!
//! It waits in one `epoll` on the waker of [`Shared`] and every worker's exit descriptor.
//! Chunks go to a worker on its socket; reports come back on the worker's own shared-memory
//! queue, and a worker rings the waker only when this thread sleeps (see `bell`). So a worker
//! that dies, even in the middle of a report, or garbles its queue, affects its chunks only.
//! Each worker holds a small window of chunks (more when many are pending, to save messages;
//! fewer near the end, to balance the load). Chunks on a worker run in the order they were
//! sent and each is reported separately, so when a worker dies the pool knows exactly which
//! chunk it was running: that one fails with `WorkerLost`, the chunks
//! queued behind it go back to the head of the queue for another worker, and a replacement is
//! started. Nothing is lost and nothing hangs (Python's `Pool` hangs here).
//!
//! A chunk that never reached the worker fails nothing either: this thread keeps a second
//! descriptor of the worker's end of its socket, so when the worker has ended, the batches it
//! never read are still there to be read back. Their chunks go back to the queue, and only a
//! chunk the worker took is counted as the one it was running. (Without that, a chunk handed
//! to a worker in the instant it was being killed, or to one stopped and then killed, failed
//! with `WorkerLost` although no worker ever saw it.)
//!
//! Workers that end before they are ready are counted and paused by `unready::Unready`.

use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::bell::Bell;
use super::callbacks::Callbacks;
use super::job::{Failure, Slot};
use super::protocol::{self, FromWorker, ToWorker};
use super::shared::{Chunk, Mode, Shared};
use super::unready::{Unready, UnreadyEnd};
use crate::codec::Fd;
use crate::pipe::inherited;
use crate::pool::{PoolError, WorkerStartError};
use crate::process::{Child, ExitStatus, StartMethod};
use crate::queue::{Queue, QueueError};
use crate::sys::OsContext;
use crate::sys::poller::Poller;

mod start;

/// What a pool is asked to be.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) processes: usize,
    pub(crate) max_chunks: Option<u64>,
    pub(crate) init: Option<Init>,
    pub(crate) method: Option<StartMethod>,
}

/// The initializer, encoded once and given to every worker.
#[derive(Debug)]
pub(crate) struct Init {
    pub(crate) entry: i64,
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

const WAKE: u64 = u64::MAX;
/// The most chunks one worker holds at once.
const MAX_WINDOW: usize = 64;
/// The ring of each worker's report queue. Reports of larger results (over half of it)
/// travel beside it, on its side socket.
const REPORT_RING_BYTES: usize = 256 << 10;

#[derive(Debug)]
struct Worker {
    child: Child<()>,
    sock: OwnedFd,
    /// The worker's own end of `sock`, kept to read back, once it has ended, the batches it
    /// never read.
    peer: OwnedFd,
    /// Its reports, in the order of its chunks.
    reports: Queue<FromWorker>,
    in_flight: VecDeque<Chunk>,
    /// Chunks sent so far (a worker with `max_chunks` leaves after that many).
    sent: u64,
    /// It said it is ready: its initializer ran. Before that it has started none of its chunks.
    ready: bool,
    /// What its initializer reported when it failed (the worker then ends).
    init_failure: Option<String>,
}

/// The thread's state.
struct Dispatcher {
    shared: Arc<Shared>,
    config: Config,
    callbacks: Arc<Callbacks>,
    poller: Poller,
    bell: Bell,
    /// Workers by slot; a slot's generation changes when a new worker takes it, so a late event
    /// for a former occupant is recognized and dropped.
    workers: Vec<Option<Worker>>,
    generations: Vec<u32>,
    pending: VecDeque<Chunk>,
    spawned: u64,
    unready: Unready,
}

/// The thread's entry: starts the workers, reports how that went on `started`, then serves.
pub(crate) fn run(
    shared: Arc<Shared>,
    config: Config,
    callbacks: Arc<Callbacks>,
    started: &Sender<Result<(), PoolError>>,
) {
    let made = Poller::new()
        .map_err(WorkerStartError::os("epoll_create"))
        .and_then(|poller| {
            let bell = Bell::new().map_err(WorkerStartError::ReportBell)?;
            Ok((poller, bell))
        });
    let (poller, bell) = match made {
        Ok(made) => made,
        Err(e) => {
            let _ = started.send(Err(e.into()));
            return;
        }
    };
    let slots = config.processes;
    let mut d = Dispatcher {
        shared,
        config,
        callbacks,
        poller,
        bell,
        workers: (0..slots).map(|_| None).collect(),
        generations: vec![0; slots],
        pending: VecDeque::new(),
        spawned: 0,
        unready: Unready::default(),
    };
    let first = d
        .poller
        .add(d.shared.waker.as_fd(), WAKE)
        .map_err(WorkerStartError::os("epoll_ctl"));
    let first = first.and_then(|()| d.fill_slots());
    let ok = first.is_ok();
    let _ = started.send(first.map_err(PoolError::from));
    if ok {
        d.serve();
    }
    d.stop_all();
    d.shared.mark_stopped();
}

impl Dispatcher {
    fn serve(&mut self) {
        let mut ready = Vec::new();
        loop {
            let mode = self.take_inbox();
            // Before the mode is judged: a report may leave the workers idle.
            self.read_reports();
            match mode {
                Mode::Terminating => return,
                Mode::Broken(e) => {
                    self.fail_everything(&Failure::Pool(e));
                    return;
                }
                Mode::Closing if self.pending.is_empty() && self.all_idle() => return,
                Mode::Running | Mode::Closing => {}
            }
            if let Err(e) = self.fill_slots() {
                // Not a single worker could be started: nothing submitted can run.
                let error = PoolError::from(e);
                self.fail_everything(&Failure::Pool(error.clone()));
                self.shared.set_mode(Mode::Broken(error));
                continue;
            }
            self.dispatch();
            ready.clear();
            if let Err(e) = self.sleep(&mut ready) {
                let error = PoolError::from(WorkerStartError::os("epoll_wait")(e));
                self.shared.set_mode(Mode::Broken(error));
                continue;
            }
            for &token in &ready {
                self.handle(token);
            }
        }
    }

    /// Waits for something to do: a report, a submission, a mode change, a worker's end.
    fn sleep(&mut self, ready: &mut Vec<u64>) -> std::io::Result<()> {
        self.bell.state().arm();
        let quiet = self.workers.iter().flatten().all(|w| w.reports.is_empty());
        let result = if quiet {
            self.poller.wait(ready, self.until_respawn())
        } else {
            Ok(()) // a report came in meanwhile: no need to sleep
        };
        self.bell.state().disarm();
        result
    }

    /// Moves submitted chunks into the queue; returns the current mode.
    fn take_inbox(&mut self) -> Mode {
        self.shared.waker.reset();
        let mut inbox = self.shared.inbox();
        self.pending.extend(inbox.chunks.drain(..));
        inbox.mode.clone()
    }

    /// How long until a worker may be started in an empty slot, if one waits for that.
    fn until_respawn(&self) -> Option<Duration> {
        let at = self.unready.respawn_at?;
        self.workers
            .iter()
            .any(Option::is_none)
            .then(|| at.saturating_duration_since(Instant::now()))
    }

    fn all_idle(&self) -> bool {
        self.workers
            .iter()
            .flatten()
            .all(|w| w.in_flight.is_empty())
    }

    /// Hands pending chunks to workers with room.
    fn dispatch(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        let live = self.workers.iter().flatten().count().max(1);
        // Many pending chunks: bigger batches (fewer messages). Few: small ones, so the last
        // chunks spread over the workers. Never more than a fair share of what is pending, so
        // two chunks go to two idle workers, not both to the first.
        let window = (2 + self.pending.len() / (2 * live)).min(MAX_WINDOW);
        let fair = self.pending.len().div_ceil(live);
        for slot in 0..self.workers.len() {
            let Some(worker) = self.workers[slot].as_mut() else {
                continue;
            };
            let mut room = window.saturating_sub(worker.in_flight.len()).min(fair);
            if let Some(max) = self.config.max_chunks {
                let left = max.saturating_sub(worker.sent);
                room = room.min(usize::try_from(left).unwrap_or(usize::MAX));
            }
            let take = room.min(self.pending.len());
            if take == 0 {
                continue;
            }
            let batch: Vec<Chunk> = self.pending.drain(..take).collect();
            match protocol::send_batch(worker.sock.as_fd(), &batch) {
                Ok(()) => {
                    worker.sent += batch.len() as u64;
                    worker.in_flight.extend(batch);
                }
                // The worker's socket is full, or it is going away: keep the chunks queued.
                Err(_) => {
                    for chunk in batch.into_iter().rev() {
                        self.pending.push_front(chunk);
                    }
                }
            }
            if self.pending.is_empty() {
                return;
            }
        }
    }

    fn handle(&mut self, token: u64) {
        if token == WAKE {
            return; // the inbox is read at the top of the loop
        }
        let (slot, generation) = untoken(token);
        if slot >= self.workers.len() || self.generations[slot] != generation {
            return; // an event for a worker that is gone
        }
        // It ended: everything it reported is in its queue now.
        self.read_worker_reports(slot);
        self.worker_ended(slot);
    }

    /// Takes every worker's reports.
    fn read_reports(&mut self) {
        for slot in 0..self.workers.len() {
            self.read_worker_reports(slot);
        }
    }

    /// Takes every report in `slot`'s worker's queue.
    fn read_worker_reports(&mut self, slot: usize) {
        loop {
            let Some(worker) = self.workers[slot].as_mut() else {
                return;
            };
            // Two shared loads; `try_get` would also read the clock and take the queue's lock.
            if worker.reports.is_empty() {
                return;
            }
            let report = match worker.reports.try_get() {
                Ok(report) => report,
                Err(QueueError::Empty) => return,
                Err(_) => {
                    // A report lost or garbled (its queue was written by something else than
                    // the worker's code): the worker cannot be trusted. Its end fails the chunk
                    // it was on, which is the one the report was about.
                    let _ = worker.child.kill();
                    return;
                }
            };
            self.take_report(slot, report);
        }
    }

    /// Applies one report of `slot`'s worker.
    fn take_report(&mut self, slot: usize, report: FromWorker) {
        let Some(worker) = self.workers[slot].as_mut() else {
            return;
        };
        let finished = match report {
            FromWorker::Ready => {
                worker.ready = true;
                self.unready = Unready::default();
                return;
            }
            FromWorker::InitFailed(message) => {
                // The worker ends next; its end is counted then (see `worker_ended`).
                worker.init_failure = Some(message);
                return;
            }
            FromWorker::Done {
                job,
                chunk,
                results,
                fds,
            } => {
                let slot = Slot::Done {
                    bytes: results.0,
                    fds: fds.into_iter().map(Fd::into_inner).collect(),
                };
                complete_front(worker, job, chunk, slot)
            }
            FromWorker::BadChunk {
                job,
                chunk,
                message,
            } => complete_front(worker, job, chunk, Slot::Failed(Failure::Protocol(message))),
        };
        self.callbacks.run(finished);
    }

    /// A worker ended: fail the chunk it was running, requeue the rest, free the slot.
    fn worker_ended(&mut self, slot: usize) {
        let Some(mut worker) = self.workers[slot].take() else {
            return;
        };
        self.poller.remove(worker.child.handle().exit_fd());
        inherited::unregister(worker.sock.as_raw_fd());
        inherited::unregister(worker.peer.as_raw_fd());
        let status = worker.child.exit_status().ok().flatten();
        // The last chunks sent, which it never read: they go back to the queue.
        let unread = protocol::unread_chunks(worker.peer.as_fd(), worker.in_flight.len());
        let reached = worker.in_flight.len() - unread;
        if !worker.ready {
            // It ran none of its chunks: they go back to the queue.
            let end = match worker.init_failure.take() {
                Some(message) => UnreadyEnd::InitFailed(message),
                None => UnreadyEnd::Died(status),
            };
            self.ended_unready(end);
        } else if reached > 0
            && let Some(running) = worker.in_flight.pop_front()
        {
            let (signal, code) = match status {
                Some(ExitStatus::Signaled(s)) => (Some(s), None),
                Some(ExitStatus::Code(c)) => (None, Some(c)),
                None => (None, None),
            };
            let lost = Failure::WorkerLost {
                pid: worker.child.pid(),
                signal,
                code,
            };
            let finished = running.job.complete(running.index, Slot::Failed(lost));
            self.callbacks.run(finished);
        }
        for chunk in worker.in_flight.drain(..).rev() {
            self.pending.push_front(chunk);
        }
    }

    /// Counts a worker that ended before it was ready: the pool pauses before replacing it, and
    /// gives up after too many in a row (see [`Unready`]).
    fn ended_unready(&mut self, end: UnreadyEnd) {
        if let Some(error) = self
            .unready
            .ended(end, self.workers.len(), self.config.init.is_some())
        {
            self.shared.set_mode(Mode::Broken(error));
        }
    }

    /// Fails every chunk not finished (queued, submitted, or on a worker).
    fn fail_everything(&mut self, failure: &Failure) {
        let mut all: Vec<Chunk> = self.pending.drain(..).collect();
        all.extend(self.shared.inbox().chunks.drain(..));
        for worker in self.workers.iter_mut().flatten() {
            all.extend(worker.in_flight.drain(..));
        }
        for chunk in all {
            let finished = chunk
                .job
                .complete(chunk.index, Slot::Failed(failure.clone()));
            self.callbacks.run(finished);
        }
    }

    /// Ends every worker: politely when they are idle (closing), by force otherwise.
    fn stop_all(&mut self) {
        let polite = matches!(self.shared.inbox().mode, Mode::Closing) && self.pending.is_empty();
        if !polite {
            self.fail_everything(&Failure::Terminated);
        }
        for worker in self.workers.iter_mut().flatten() {
            if polite {
                let _ = protocol::send(worker.sock.as_fd(), &ToWorker::Exit, &[], &[]);
            } else {
                let _ = worker.child.kill();
            }
        }
        for worker in self.workers.iter_mut().filter_map(Option::take) {
            let _ = worker.child.handle().wait();
            inherited::unregister(worker.sock.as_raw_fd());
            inherited::unregister(worker.peer.as_raw_fd());
        }
    }
}

/// Completes the chunk at the front of `worker`'s queue, which must be `(job, chunk)`.
fn complete_front(
    worker: &mut Worker,
    job: u64,
    chunk: u32,
    slot: Slot,
) -> Vec<Box<dyn FnOnce() + Send>> {
    match worker.in_flight.front() {
        Some(front) if front.job.id == job && front.index == chunk => {}
        _ => {
            // Out of order: the worker broke the protocol. Its end will fail what it held.
            let _ = worker.child.kill();
            return Vec::new();
        }
    }
    let front = worker
        .in_flight
        .pop_front()
        .expect("invariant: checked above");
    front.job.complete(front.index, slot)
}

/// The epoll token of a worker's exit descriptor.
fn token(slot: usize, generation: u32) -> u64 {
    (u64::from(generation) << 32) | (slot as u64 & 0xFFFF_FFFF)
}

fn untoken(token: u64) -> (usize, u32) {
    let generation = u32::try_from(token >> 32).unwrap_or(0);
    let slot = usize::try_from(token & 0xFFFF_FFFF).unwrap_or(usize::MAX);
    (slot, generation)
}
