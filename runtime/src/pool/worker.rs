//! The loop a pool worker process runs.

use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::bell::Bell;
use super::protocol::{self, FromWorker, Received, ToWorker};
use super::ring::{Args, Ring};
use super::task::{TaskCode, TaskRef};
use crate::codec::{ByteBuf, Fd};
use crate::queue::Queue;
use crate::wire::WireError;

/// Freed heap a worker keeps for its next chunk's buffers (see `keep_freed_heap`).
const KEPT_HEAP_BYTES: usize = 32 << 20;

/// The largest results buffer a worker keeps for its next chunk (a larger one is freed).
const KEPT_RESULTS_BYTES: usize = 4 << 20;

/// A worker's arguments (a process argument, so its descriptors travel with it).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerArgs {
    /// Its id in claim words (never 0, never reused in a pool).
    pub(crate) id: u32,
    /// Where the chunks wait.
    pub(crate) ring: Ring,
    /// Armed while it sleeps, so that publishing a chunk wakes it (see `bell`).
    pub(crate) sleep: Bell,
    /// Where wake-ups, side chunks, the task table and the order to exit come from.
    pub(crate) sock: Fd,
    /// The task table when it started (see [`ToWorker::Tasks`]).
    pub(crate) tasks: Vec<TaskCode>,
    /// Where the reports go, and how the pool's thread is woken for them.
    pub(crate) reports: Reporter,
    pub(crate) init: Option<InitCall>,
    /// Leave after this many chunks (Python's `maxtasksperchild`).
    pub(crate) max_chunks: Option<u64>,
}

/// The initializer: a task returning `()` and its encoded arguments (a chunk of one).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitCall {
    pub(crate) code: TaskCode,
    pub(crate) payload: Vec<u8>,
    pub(crate) fds: Vec<Fd>,
}

/// How a worker reports to the pool's thread (see `bell`).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Reporter {
    /// This worker's own report queue.
    pub(crate) queue: Queue<FromWorker>,
    pub(crate) bell: Bell,
    /// The pool thread's eventfd.
    pub(crate) waker: Fd,
}

impl Reporter {
    /// Publishes `what`, then rings the bell if the pool's thread sleeps. `false` if the
    /// report cannot be published (the pool is gone, or the queue is unusable): the worker
    /// ends.
    fn report(&self, what: &FromWorker) -> bool {
        if self.queue.put(what).is_err() {
            return false;
        }
        self.bell.ring_if_armed(self.waker.as_fd());
        true
    }
}

/// The worker's life: run the initializer, say ready, then claim chunks from the ring and run
/// them until told to exit, until the pool's end is gone, or until `max_chunks` chunks ran.
pub(crate) fn worker_main(args: WorkerArgs) {
    crate::sys::proc::ignore_sigint(true);
    crate::sys::proc::keep_freed_heap(KEPT_HEAP_BYTES);
    let reports = args.reports;
    if let Some(init) = args.init
        && let Err(message) = run_init(init)
    {
        reports.report(&FromWorker::InitFailed(message));
        return;
    }
    if !reports.report(&FromWorker::Ready) {
        return;
    }
    let mut me = Me {
        sock: args.sock.into_inner(),
        tasks: args.tasks,
        exit: false,
    };
    let mut ran = 0u64;
    // A chunk's arguments and its encoded results: kept from chunk to chunk, so that a chunk
    // does not allocate them afresh.
    let (mut args_buf, mut results_buf) = (Vec::new(), Vec::new());
    while !me.exit && args.max_chunks.is_none_or(|max| ran < max) {
        let Some(claimed) = args.ring.take(args.id, &mut args_buf) else {
            me.sleep(&args.ring, &args.sleep);
            continue;
        };
        let entry = claimed.entry;
        let task = me.task(claimed.task);
        let out = std::mem::take(&mut results_buf);
        let report = match (claimed.args, task) {
            (_, None) => bad(entry, "the chunk names a task this worker was not given"),
            (Args::Garbled, _) => bad(entry, "the chunk's place in the ring is garbled"),
            (Args::Copied, Some(task)) => run_chunk(entry, task, &args_buf, Vec::new(), out),
            (Args::Side, Some(task)) => {
                if !reports.report(&FromWorker::Claimed(entry)) {
                    return;
                }
                let Some((payload, fds)) = me.side_chunk(entry) else {
                    return;
                };
                run_chunk(entry, task, &payload, fds, out)
            }
        };
        if !reports.report(&report) {
            return;
        }
        if let FromWorker::Done { results, .. } = report
            && results.0.capacity() <= KEPT_RESULTS_BYTES
        {
            results_buf = results.0;
            results_buf.clear();
        }
        ran += 1;
    }
}

fn bad(entry: u64, message: &str) -> FromWorker {
    FromWorker::BadChunk {
        entry,
        message: message.to_owned(),
    }
}

/// A worker's own state between chunks.
struct Me {
    sock: OwnedFd,
    /// Task index → task code, as the pool's thread sent them.
    tasks: Vec<TaskCode>,
    /// The pool said to exit, or is gone.
    exit: bool,
}

impl Me {
    /// Receives one message (waiting until `deadline`) and applies what it says; the message
    /// for the caller to look at, `None` if there was none (or none that concerns it).
    fn recv(&mut self, deadline: Option<Instant>) -> Option<Received<ToWorker>> {
        match protocol::recv::<ToWorker>(self.sock.as_fd(), deadline) {
            Ok(m) => match &m.header {
                ToWorker::Tasks { from, offsets } => {
                    let from = *from as usize;
                    if from <= self.tasks.len() {
                        let known = self.tasks.len() - from;
                        self.tasks.extend(offsets.iter().skip(known));
                    }
                    None
                }
                ToWorker::Exit => {
                    self.exit = true;
                    None
                }
                ToWorker::Wake | ToWorker::Side(_) => Some(m),
            },
            // The pool's end is closed (or unreadable): nothing more will come.
            Err(WireError::Eof | WireError::Io(_)) => {
                self.exit = true;
                None
            }
            Err(_) => None,
        }
    }

    /// The code of task `index`. Its offsets came on this worker's own socket (sent
    /// before the entry naming it was published), never from the shared ring.
    fn task(&mut self, index: u64) -> Option<TaskCode> {
        let index = usize::try_from(index).ok()?;
        // What waits on the socket now: wake-ups (dropped) and table updates.
        while index >= self.tasks.len() && !self.exit {
            let before = self.tasks.len();
            let woke = self.recv(Some(Instant::now())).is_some();
            if !woke && self.tasks.len() == before {
                break; // nothing more: an index the pool never gave
            }
        }
        self.tasks.get(index).copied()
    }

    /// Sleeps until chunks are published, or the pool says to exit or is gone.
    fn sleep(&mut self, ring: &Ring, bell: &Bell) {
        bell.state().arm();
        while !self.exit && !ring.has_work() {
            if let Some(m) = self.recv(None)
                && matches!(m.header, ToWorker::Wake)
            {
                break;
            }
        }
        bell.state().disarm();
    }

    /// Waits for the arguments of side chunk `entry`; `None` if the pool says to exit or is
    /// gone.
    fn side_chunk(&mut self, entry: u64) -> Option<(Vec<u8>, Vec<OwnedFd>)> {
        while !self.exit {
            if let Some(m) = self.recv(None)
                && matches!(m.header, ToWorker::Side(e) if e == entry)
            {
                return Some((m.payload, m.fds));
            }
        }
        None
    }
}

/// Runs one chunk, its results encoded into `out` (empty): its report.
fn run_chunk(
    entry: u64,
    task: TaskCode,
    payload: &[u8],
    fds: Vec<OwnedFd>,
    mut out: Vec<u8>,
) -> FromWorker {
    let mut out_fds = Vec::new();
    match TaskRef::run(task, payload, fds, &mut out, &mut out_fds) {
        Ok(()) => FromWorker::Done {
            entry,
            results: ByteBuf(out),
            fds: out_fds.into_iter().map(Fd::from).collect(),
        },
        Err(message) => FromWorker::BadChunk { entry, message },
    }
}

/// Runs the initializer; `Err` with its panic message (or why it could not run).
fn run_init(init: InitCall) -> Result<(), String> {
    let fds = init.fds.into_iter().map(Fd::into_inner).collect();
    let (mut out, mut out_fds) = (Vec::new(), Vec::new());
    TaskRef::run(init.code, &init.payload, fds, &mut out, &mut out_fds)?;
    let outcomes: super::outcomes::Outcomes<()> =
        crate::codec::decode(&out, out_fds).map_err(|e| e.to_string())?;
    if outcomes.len() == 0 {
        return Err("the initializer did not run".to_owned());
    }
    match outcomes.into_values() {
        Ok(_) => Ok(()),
        Err(super::task::ItemFailure::Panicked(report)) => Err(report.message),
        Err(super::task::ItemFailure::EncodeResult(message)) => Err(message),
    }
}
