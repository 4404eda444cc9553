//! The pool's own thread: it starts and replaces the workers, publishes chunks in the task
//! ring, routes the workers' results to the jobs, and accounts for every chunk when a worker
//! dies.
//!
//! It waits in one `epoll` on the waker of [`Shared`] and every worker's exit descriptor.
//! Chunks wait in the shared task ring (see `ring`) in submission order; a free worker claims
//! the next one there, so no worker idles while a chunk waits and a slow task delays only
//! itself. Reports come back on each worker's own shared-memory queue, and a worker rings the
//! waker only when this thread sleeps (see `bell`); a worker asleep is woken the same way, by
//! a message on its socket, only when it sleeps and chunks were published.
//!
//! Which chunk a worker holds is written in the ring's claim word when it takes the chunk, and
//! moved into this thread's memory once the worker copied the chunk out. So when a worker dies
//! the pool knows exactly the chunk it held: that one fails with `WorkerLost`, a replacement is
//! started, and every chunk no worker claimed stays in the ring for the others. Nothing is lost
//! and nothing hangs (Python's `Pool` hangs here).
//!
//! Workers that end before they are ready are counted and paused by `unready::Unready`.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::bell::Bell;
use super::callbacks::Callbacks;
use super::job::{Failure, Slot};
use super::protocol::{self, FromWorker, ToWorker};
use super::ring::{DataSpace, ENTRIES, Holder, Ring};
use super::shared::{Chunk, Mode, Payload, Shared};
use super::task::TaskCode;
use super::unready::{Unready, UnreadyEnd};
use crate::codec::Fd;
use crate::pipe::inherited;
use crate::pool::{PoolError, WorkerStartError};
use crate::process::{Child, ExitStatus, StartMethod};
use crate::queue::{Queue, QueueError};
use crate::sys::OsContext;
use crate::sys::poller::Poller;

mod start;
mod tasks;

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
    pub(crate) code: TaskCode,
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<OwnedFd>,
}

const WAKE: u64 = u64::MAX;
/// The ring of each worker's report queue. Reports of larger results (over half of it)
/// travel beside it, on its side socket.
const REPORT_RING_BYTES: usize = 256 << 10;

#[derive(Debug)]
struct Worker {
    /// Its id in the ring's claim words.
    id: u32,
    child: Child<()>,
    sock: OwnedFd,
    /// Armed while it sleeps.
    sleep: Bell,
    /// Its reports.
    reports: Queue<FromWorker>,
    /// It said it is ready: its initializer ran. Before that it has claimed no chunk.
    ready: bool,
    /// What its initializer reported when it failed (the worker then ends).
    init_failure: Option<String>,
}

/// A published ring entry not yet copied out by a worker.
#[derive(Debug)]
struct Published {
    /// `None` once finished (its worker died, or its claim was garbled).
    chunk: Option<Chunk>,
    /// The end of its arguments in the data area (`None`: a side chunk).
    data_end: Option<u64>,
}

/// A chunk a worker copied out of the ring: it runs it now.
#[derive(Debug)]
struct Held {
    chunk: Chunk,
    worker: u32,
}

/// The thread's state.
struct Dispatcher {
    shared: Arc<Shared>,
    config: Config,
    callbacks: Arc<Callbacks>,
    poller: Poller,
    bell: Bell,
    ring: Ring,
    space: DataSpace,
    tasks: tasks::TaskTable,
    /// Workers by slot; a slot's generation changes when a new worker takes it, so a late event
    /// for a former occupant is recognized and dropped.
    workers: Vec<Option<Worker>>,
    generations: Vec<u32>,
    /// Submitted, not yet published.
    pending: VecDeque<Chunk>,
    /// Entries `tail..tail + published.len()` of the ring.
    published: VecDeque<Published>,
    tail: u64,
    /// By ring entry.
    held: HashMap<u64, Held, BuildHasherDefault<EntryHasher>>,
    spawned: u64,
    unready: Unready,
}

/// Hashes ring entry numbers for `held`: one multiplication, where `SipHash` cost 2 % of a
/// chunksize-1 map's CPU time. The numbers are this thread's own (consecutive, from `tail`);
/// a worker's report only looks one up, so no peer chooses the keys that go in.
#[derive(Default)]
struct EntryHasher(u64);

impl Hasher for EntryHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the high bits (which the table's tags use) depend on every bit.
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
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
            let ring = Ring::new().map_err(WorkerStartError::TaskRing)?;
            Ok((poller, bell, ring))
        });
    let (poller, bell, ring) = match made {
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
        ring,
        space: DataSpace::default(),
        tasks: tasks::TaskTable::default(),
        workers: (0..slots).map(|_| None).collect(),
        generations: vec![0; slots],
        pending: VecDeque::new(),
        published: VecDeque::new(),
        tail: 0,
        held: HashMap::default(),
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
        // Whether the waker may be readable: it is read (reset) only then, not on every turn
        // (a read that finds nothing is a system call for nothing). If it stays readable
        // meanwhile, the next `epoll_wait` returns at once and this turns true.
        let mut woken = true;
        loop {
            let mode = self.take_inbox(std::mem::take(&mut woken));
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
            self.publish();
            ready.clear();
            if let Err(e) = self.sleep(&mut ready) {
                let error = PoolError::from(WorkerStartError::os("epoll_wait")(e));
                self.shared.set_mode(Mode::Broken(error));
                continue;
            }
            woken = ready.contains(&WAKE);
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

    /// Moves submitted chunks into the queue (first resetting the waker if it was `woken`);
    /// returns the current mode.
    fn take_inbox(&mut self, woken: bool) -> Mode {
        if woken {
            self.shared.waker.reset();
        }
        let mut inbox = self.shared.inbox();
        if self.pending.is_empty() {
            // The submitted queue becomes ours as it is, and ours (empty) the inbox.
            std::mem::swap(&mut self.pending, &mut inbox.chunks);
        } else {
            self.pending.extend(inbox.chunks.drain(..));
        }
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

    /// No chunk is published or held.
    fn all_idle(&self) -> bool {
        self.held.is_empty() && self.published.iter().all(|p| p.chunk.is_none())
    }

    /// Publishes pending chunks in the ring while it has room, then wakes as many sleeping
    /// workers as chunks were published.
    fn publish(&mut self) {
        self.reclaim();
        let mut published = 0usize;
        while self.published.len() < ENTRIES
            && let Some(chunk) = self.pending.pop_front()
        {
            match self.publish_one(chunk) {
                Ok(()) => published += 1,
                Err(chunk) => {
                    self.pending.push_front(chunk);
                    break;
                }
            }
        }
        for worker in self.workers.iter().flatten() {
            if published == 0 {
                break;
            }
            if worker.sleep.state().must_ring() {
                // A full socket already holds a wake-up; a dead worker's end is counted soon.
                let _ = protocol::send_now(worker.sock.as_fd(), &ToWorker::Wake, &[], &[]);
                published -= 1;
            }
        }
    }

    /// Publishes one chunk; gives it back when the data area has no room now.
    fn publish_one(&mut self, mut chunk: Chunk) -> Result<(), Chunk> {
        let task = self.task_index(chunk.task.code);
        let entry = self.tail + self.published.len() as u64;
        let len = chunk.payload.bytes().len();
        let (data, data_end) = if chunk.fds.is_empty() && Ring::fits_inline(len) {
            let Some((at, end)) = self.space.reserve(len) else {
                return Err(chunk);
            };
            self.ring.write_data(at, chunk.payload.bytes());
            // The arguments are in the ring now.
            chunk.payload = Payload::default();
            let len = u32::try_from(len).expect("invariant: inline chunks are small");
            (Some((at, len)), Some(end))
        } else {
            (None, None)
        };
        self.ring.publish(entry, task, data);
        self.published.push_back(Published {
            chunk: Some(chunk),
            data_end,
        });
        Ok(())
    }

    /// Moves the entries copied out of the ring, from the oldest on, into `held`, freeing their
    /// slots and data.
    fn reclaim(&mut self) {
        while let Some(front) = self.published.front() {
            if front.chunk.is_some() {
                match self.ring.holder(self.tail) {
                    Holder::Free | Holder::Worker { copied: false, .. } => return,
                    Holder::Worker { id, copied: true } if self.knows(id) => {
                        let chunk = self.published.front_mut().and_then(|p| p.chunk.take());
                        if let Some(chunk) = chunk {
                            self.held.insert(self.tail, Held { chunk, worker: id });
                        }
                    }
                    // Written by something else than a worker's code: that chunk fails.
                    Holder::Worker { .. } | Holder::Garbled => {
                        let failure = Failure::Protocol("the task ring was garbled".to_owned());
                        if let Some(chunk) = self.published.front_mut().and_then(|p| p.chunk.take())
                        {
                            self.callbacks
                                .run(chunk.job.complete(chunk.index, Slot::Failed(failure)));
                        }
                    }
                }
            }
            if let Some(done) = self.published.pop_front() {
                if let Some(end) = done.data_end {
                    self.space.free_to(end);
                }
                self.tail += 1;
            }
        }
    }

    /// Whether `id` is a live worker's.
    fn knows(&self, id: u32) -> bool {
        self.workers.iter().flatten().any(|w| w.id == id)
    }

    /// Takes the chunk of ring entry `entry` that worker `id` holds, if it does.
    fn take_held(&mut self, entry: u64, id: u32) -> Option<Chunk> {
        if self.held.get(&entry).is_some_and(|h| h.worker == id) {
            return self.held.remove(&entry).map(|h| h.chunk);
        }
        let at = usize::try_from(entry.checked_sub(self.tail)?).ok()?;
        let claimed =
            matches!(self.ring.holder(entry), Holder::Worker { id: holder, .. } if holder == id);
        let published = self.published.get_mut(at)?;
        if claimed {
            published.chunk.take()
        } else {
            None
        }
    }

    /// The chunk of ring entry `entry` that worker `id` holds, if it does.
    fn held_by(&self, entry: u64, id: u32) -> Option<&Chunk> {
        if let Some(held) = self.held.get(&entry) {
            return (held.worker == id).then_some(&held.chunk);
        }
        let at = usize::try_from(entry.checked_sub(self.tail)?).ok()?;
        let claimed =
            matches!(self.ring.holder(entry), Holder::Worker { id: holder, .. } if holder == id);
        self.published.get(at)?.chunk.as_ref().filter(|_| claimed)
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
            // Two shared loads; `try_get` would also take the queue's lock.
            if worker.reports.is_empty() {
                return;
            }
            let report = match worker.reports.try_get() {
                Ok(report) => report,
                Err(QueueError::Empty) => return,
                Err(_) => {
                    // A report lost or garbled (its queue was written by something else than
                    // the worker's code): the worker cannot be trusted. Its end fails the chunk
                    // it holds, which is the one the report was about.
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
        let id = worker.id;
        let (entry, result) = match report {
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
            FromWorker::Claimed(entry) => {
                self.send_side(slot, entry);
                return;
            }
            FromWorker::Done {
                entry,
                results,
                fds,
            } => {
                let result = Slot::Done {
                    bytes: results.0,
                    fds: fds.into_iter().map(Fd::into_inner).collect(),
                };
                (entry, result)
            }
            FromWorker::BadChunk { entry, message } => {
                (entry, Slot::Failed(Failure::Protocol(message)))
            }
        };
        let Some(chunk) = self.take_held(entry, id) else {
            // A report of a chunk it does not hold: it broke the protocol. Its end fails what
            // it holds.
            self.kill(slot);
            return;
        };
        self.callbacks.run(chunk.job.complete(chunk.index, result));
    }

    /// Sends side chunk `entry` to `slot`'s worker, which claimed it.
    fn send_side(&mut self, slot: usize, entry: u64) {
        let Some(worker) = self.workers[slot].as_ref() else {
            return;
        };
        let sent = match self.held_by(entry, worker.id) {
            Some(chunk) => {
                let fds: Vec<_> = chunk.fds.iter().map(AsFd::as_fd).collect();
                protocol::send_now(
                    worker.sock.as_fd(),
                    &ToWorker::Side(entry),
                    chunk.payload.bytes(),
                    &fds,
                )
                .is_ok()
            }
            None => false,
        };
        if !sent {
            // It claimed something else, or cannot be reached: its end fails what it holds.
            self.kill(slot);
        }
    }

    fn kill(&self, slot: usize) {
        if let Some(worker) = &self.workers[slot] {
            let _ = worker.child.kill();
        }
    }

    /// A worker ended: fail the chunk it held, free the slot.
    fn worker_ended(&mut self, slot: usize) {
        let Some(mut worker) = self.workers[slot].take() else {
            return;
        };
        self.poller.remove(worker.child.handle().exit_fd());
        inherited::unregister(worker.sock.as_raw_fd());
        let status = worker.child.exit_status().ok().flatten();
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
        let held = self.chunks_of(worker.id);
        crate::pool::trace::worker_ended(worker.child.pid(), status, held.len());
        for chunk in held {
            self.callbacks
                .run(chunk.job.complete(chunk.index, Slot::Failed(lost.clone())));
        }
        if !worker.ready {
            let end = match worker.init_failure.take() {
                Some(message) => UnreadyEnd::InitFailed(message),
                None => UnreadyEnd::Died(status),
            };
            self.ended_unready(end);
        }
    }

    /// Takes every chunk worker `id` holds (one at most, unless it broke the protocol).
    fn chunks_of(&mut self, id: u32) -> Vec<Chunk> {
        let entries: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.worker == id)
            .map(|(&e, _)| e)
            .collect();
        let mut chunks: Vec<Chunk> = entries
            .into_iter()
            .filter_map(|e| self.held.remove(&e).map(|h| h.chunk))
            .collect();
        for (i, published) in self.published.iter_mut().enumerate() {
            let entry = self.tail + i as u64;
            if published.chunk.is_some()
                && matches!(self.ring.holder(entry), Holder::Worker { id: holder, .. } if holder == id)
            {
                chunks.extend(published.chunk.take());
            }
        }
        chunks
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

    /// Fails every chunk not finished (queued, submitted, published or held).
    fn fail_everything(&mut self, failure: &Failure) {
        let mut all: Vec<Chunk> = self.pending.drain(..).collect();
        all.extend(self.shared.inbox().chunks.drain(..));
        all.extend(self.published.iter_mut().filter_map(|p| p.chunk.take()));
        all.extend(self.held.drain().map(|(_, h)| h.chunk));
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
            let status = worker.child.handle().wait().ok();
            crate::pool::trace::worker_ended(worker.child.pid(), status, 0);
            inherited::unregister(worker.sock.as_raw_fd());
        }
    }
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

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::EntryHasher;

    #[test]
    fn consecutive_entries_get_distinct_hashes_whose_tags_vary() {
        let build = BuildHasherDefault::<EntryHasher>::default();
        let hashes: Vec<u64> = (1_000u64..1_256).map(|e| build.hash_one(e)).collect();
        let distinct: std::collections::HashSet<_> = hashes.iter().collect();
        assert_eq!(distinct.len(), hashes.len());
        // The table's tags are the top 7 bits: consecutive numbers must not share one.
        let tags: std::collections::HashSet<_> = hashes.iter().map(|h| h >> 57).collect();
        assert!(tags.len() > 64, "{} distinct tags", tags.len());
    }
}
