//! The loop a pool worker process runs.

use std::os::fd::{AsFd, OwnedFd};

use serde::{Deserialize, Serialize};

use super::bell::Bell;
use super::protocol::{self, ChunkHead, FromWorker, ToWorker};
use super::task::{ChunkFn, TaskRef};
use crate::codec::{ByteBuf, Fd};
use crate::queue::Queue;
use crate::wire::WireError;

/// A worker's arguments (a process argument, so its descriptors travel with it).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WorkerArgs {
    /// Where the chunks come from.
    pub(crate) sock: Fd,
    /// Where the reports go, and how the pool's thread is woken for them.
    pub(crate) reports: Reporter,
    pub(crate) init: Option<InitCall>,
    /// Leave after this many chunks (Python's `maxtasksperchild`).
    pub(crate) max_chunks: Option<u64>,
}

/// The initializer: a task returning `()` and its encoded arguments (a chunk of one).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InitCall {
    pub(crate) entry: i64,
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

/// The worker's life: run the initializer, say ready, then run chunks in order until told to
/// exit, until the pool's end is gone, or until `max_chunks` chunks ran.
pub(crate) fn worker_main(args: WorkerArgs) {
    crate::sys::proc::ignore_sigint(true);
    let sock: OwnedFd = args.sock.into_inner();
    let sock = sock.as_fd();
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
    let mut ran = 0u64;
    loop {
        let message = match protocol::recv::<ToWorker>(sock, None) {
            Ok(m) => m,
            // The pool's end is closed (or unreadable): nothing more will come.
            Err(WireError::Eof | WireError::Io(_)) => return,
            Err(_) => continue,
        };
        let ToWorker::Run(heads) = message.header else {
            return;
        };
        let Some(chunks) = protocol::split_batch(&heads, &message.payload, message.fds) else {
            return; // a batch that does not add up: the pool will see this worker end
        };
        for (head, payload, fds) in chunks {
            if !reports.report(&run_chunk(head, &payload, fds)) {
                return;
            }
            ran += 1;
            if args.max_chunks.is_some_and(|max| ran >= max) {
                return;
            }
        }
    }
}

/// Runs one chunk: its report.
fn run_chunk(head: ChunkHead, payload: &[u8], fds: Vec<OwnedFd>) -> FromWorker {
    let chunk: ChunkFn = TaskRef::resolve(head.entry);
    let (mut out, mut out_fds) = (Vec::new(), Vec::new());
    match chunk(payload, fds, &mut out, &mut out_fds) {
        Ok(()) => FromWorker::Done {
            job: head.job,
            chunk: head.chunk,
            results: ByteBuf(out),
            fds: out_fds.into_iter().map(Fd::from).collect(),
        },
        Err(message) => FromWorker::BadChunk {
            job: head.job,
            chunk: head.chunk,
            message,
        },
    }
}

/// Runs the initializer; `Err` with its panic message (or why it could not run).
fn run_init(init: InitCall) -> Result<(), String> {
    let chunk: ChunkFn = TaskRef::resolve(init.entry);
    let fds = init.fds.into_iter().map(Fd::into_inner).collect();
    let (mut out, mut out_fds) = (Vec::new(), Vec::new());
    chunk(&init.payload, fds, &mut out, &mut out_fds)?;
    let results: Vec<Result<(), super::task::ItemFailure>> =
        crate::codec::decode(&out, out_fds).map_err(|e| e.to_string())?;
    match results.into_iter().next() {
        Some(Ok(())) => Ok(()),
        Some(Err(super::task::ItemFailure::Panicked(report))) => Err(report.message),
        Some(Err(super::task::ItemFailure::EncodeResult(message))) => Err(message),
        None => Err("the initializer did not run".to_owned()),
    }
}
