//! A worker rank: greets rank 0, then runs the chunks it is sent on a local [`Pool`] until rank
//! 0 says stop, and leaves the process.
//!
//! The main thread does all the MPI calls (`MPI_THREAD_FUNNELED`): it receives chunks, checks
//! their code (`super::trampoline`), hands them to runner threads, and sends their results
//! back without blocking. The runners (two per local worker process) submit the chunks waiting
//! to the local pool in batches, one job each, and hand back each chunk's result as it comes:
//! every chunk the rank holds can be in the local pool at once, and the local workers do not
//! idle between them. When idle, the main thread waits on the runners' results, so a result leaves
//! as soon as it is ready.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, PoisonError};

use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination};

use super::identity::{self, Verdict};
use super::trampoline;
use super::transport::{self, Backoff, Received, Sends};
use super::wire::{self, Failure, TaskHeader};
use crate::auth::Tag;
use crate::pool::{self, EncodedTask, Pool, TaskCode};

/// A chunk for a runner: where its result goes, its code and its message.
struct Work {
    job: u64,
    chunk: u32,
    task: EncodedTask,
    message: Vec<u8>,
}

/// Serves rank 0 until it says stop; returns the exit code for this process.
pub(super) fn serve(world: &SimpleCommunicator, processes: usize) -> i32 {
    let host = mpi::environment::processor_name().unwrap_or_else(|_| "?".to_owned());
    let Ok(hello) = identity::hello(processes, host) else {
        return 3;
    };
    let Ok(hello) = postcard::to_allocvec(&hello) else {
        return 3;
    };
    world
        .process_at_rank(0)
        .send_with_tag(&hello[..], wire::TAG_HELLO);
    let Received::Message { bytes, .. } = transport::receive_from(world, 0, wire::TAG_VERDICT)
    else {
        return 3;
    };
    match postcard::from_bytes::<Verdict>(&bytes) {
        Ok(Verdict::Accept { job_key }) => {
            let pool = Pool::new(processes);
            run(world, pool.as_ref().ok(), processes, &job_key);
            if let Ok(pool) = pool {
                pool.close();
                let _ = pool.join();
            }
            0
        }
        Ok(Verdict::Refuse { reason }) => {
            // This rank ends here and its caller never sees an error, and the launcher may
            // end rank 0 (which holds the error) as soon as this rank exits non-zero: the
            // reason is printed here so that the job's output always says why.
            eprintln!(
                "mproc::mpi: rank 0 refused rank {}: {}",
                world.rank(),
                printable(&reason)
            );
            1
        }
        Err(e) => {
            eprintln!(
                "mproc::mpi: rank {} could not read rank 0's verdict: {e}",
                world.rank()
            );
            1
        }
    }
}

/// `text` with its control characters (a terminal's escape sequences among them) replaced.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// The serving loop, with its runner threads.
fn run(world: &SimpleCommunicator, pool: Option<&Pool>, processes: usize, key: &[u8; 32]) {
    let (work_tx, work_rx) = mpsc::channel::<Work>();
    let (done_tx, done_rx) = mpsc::channel::<Vec<u8>>();
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|scope| {
        for _ in 0..RUNNERS_PER_PROCESS * processes.max(1) {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            scope.spawn(move || runner(pool, work_rx, &done_tx));
        }
        drop(done_tx);
        let mut sends = Sends::default();
        let mut loop_state = Loop {
            world,
            key,
            verified: HashMap::new(),
            sends: &mut sends,
        };
        loop_state.until_stop(&work_tx, &done_rx);
        drop(work_tx);
        // The runners finish what they hold; their results still go out.
        for result in done_rx {
            sends.start(world, 0, wire::TAG_RESULT, result);
        }
        sends.finish();
    });
}

/// The main thread's state while serving.
struct Loop<'a> {
    world: &'a SimpleCommunicator,
    key: &'a [u8; 32],
    /// Offset and code pairs that checked out already (a code is checked once per task type).
    verified: HashMap<(TaskCode, Tag), EncodedTask>,
    sends: &'a mut Sends,
}

impl Loop<'_> {
    fn until_stop(&mut self, work: &Sender<Work>, done: &Receiver<Vec<u8>>) {
        let mut backoff = Backoff::default();
        loop {
            let mut busy = self.sends.poll();
            if let Some(Received::Message { source: 0, .. }) =
                transport::try_receive(self.world, wire::TAG_STOP)
            {
                return;
            }
            while let Some(received) = transport::try_receive(self.world, wire::TAG_TASK) {
                busy = true;
                if let Received::Message { bytes, source: 0 } = received {
                    self.accept(bytes, work);
                }
                // Anything else (another rank, too large) is not from rank 0: dropped.
            }
            while let Ok(result) = done.try_recv() {
                busy = true;
                self.sends.start(self.world, 0, wire::TAG_RESULT, result);
            }
            if busy {
                backoff.reset();
            } else if let Some(pause) = backoff.pause()
                && let Ok(result) = done.recv_timeout(pause)
            {
                backoff.reset();
                self.sends.start(self.world, 0, wire::TAG_RESULT, result);
            }
        }
    }

    /// Hands a task message to a runner once its code checked out; fails it otherwise.
    fn accept(&mut self, message: Vec<u8>, work: &Sender<Work>) {
        let Some((header, _)) = TaskHeader::parse(&message) else {
            return;
        };
        if let Some(task) = self.resolve(&header) {
            let _ = work.send(Work {
                job: header.job,
                chunk: header.chunk,
                task,
                message,
            });
        } else {
            let refused = failed(
                header.job,
                header.chunk,
                &Failure::Refused {
                    message: "the chunk's code did not authenticate under the job key".into(),
                },
            );
            self.sends.start(self.world, 0, wire::TAG_RESULT, refused);
        }
    }

    fn resolve(&mut self, header: &TaskHeader) -> Option<EncodedTask> {
        if let Some(task) = self.verified.get(&(header.code, header.tag)) {
            return Some(*task);
        }
        let task = trampoline::resolve(self.key, header.code, &header.tag)?;
        self.verified.insert((header.code, header.tag), task);
        Some(task)
    }
}

/// A runner thread: runs batches of chunks until the work channel closes.
fn runner(pool: Option<&Pool>, work: &Mutex<Receiver<Work>>, done: &Sender<Vec<u8>>) {
    loop {
        // Everything waiting, up to a batch: one submission to the local pool for all of it.
        let batch: Vec<Work> = {
            let work = work.lock().unwrap_or_else(PoisonError::into_inner);
            let Ok(first) = work.recv() else { return };
            std::iter::once(first)
                .chain(std::iter::from_fn(|| work.try_recv().ok()))
                .take(BATCH)
                .collect()
        };
        if run_batch(pool, batch, done).is_err() {
            return;
        }
    }
}

/// Chunks a runner submits to the local pool at once, at most. Half of what a rank holds per
/// local process, so that the two runners of each process can have all of it submitted.
const BATCH: usize = wire::CHUNKS_PER_PROCESS / RUNNERS_PER_PROCESS;

/// Runner threads per local worker process: while one waits for its batch, the other's keeps
/// the local workers busy.
const RUNNERS_PER_PROCESS: usize = 2;

/// Runs a batch of chunks as one job of the local pool and sends each chunk's result as soon
/// as it comes back; `Err` if the serving loop is gone.
fn run_batch(
    pool: Option<&Pool>,
    batch: Vec<Work>,
    done: &Sender<Vec<u8>>,
) -> Result<(), mpsc::SendError<Vec<u8>>> {
    let Some(pool) = pool else {
        let failure = Failure::Refused {
            message: "this rank's local pool could not start".into(),
        };
        for item in batch {
            done.send(failed(item.job, item.chunk, &failure))?;
        }
        return Ok(());
    };
    let mut heads = Vec::with_capacity(batch.len());
    let mut chunks = Vec::with_capacity(batch.len());
    for mut item in batch {
        // The arguments, in place: the header goes (a move of the bytes, no copy).
        item.message.drain(..wire::TASK_HEADER);
        heads.push((item.job, item.chunk));
        chunks.push((item.task, item.message));
    }
    if chunks.is_empty() {
        return Ok(());
    }
    let job = match pool::submit_encoded(pool, chunks) {
        Ok(job) => job,
        Err(e) => {
            let failure = Failure::from_task_error(e);
            for (job, chunk) in heads {
                done.send(failed(job, chunk, &failure))?;
            }
            return Ok(());
        }
    };
    for _ in 0..heads.len() {
        let (index, result) = job.take_encoded();
        let Some(&(job, chunk)) = usize::try_from(index).ok().and_then(|i| heads.get(i)) else {
            continue; // not a chunk of this batch: cannot happen (`take_encoded` waits)
        };
        done.send(outcome(job, chunk, result))?;
    }
    Ok(())
}

/// The result message of a chunk from the local pool's answer: its outcome bytes, or a
/// failure for all its tasks. Results holding handles are refused: a descriptor cannot travel
/// to another host.
fn outcome(job: u64, chunk: u32, result: pool::Encoded) -> Vec<u8> {
    match result {
        Ok((outcomes, fds)) if fds.is_empty() => {
            let mut out = wire::result_message(job, chunk, wire::STATUS_OUTCOMES);
            out.extend_from_slice(&outcomes);
            out
        }
        Ok((_, fds)) => failed(
            job,
            chunk,
            &Failure::Refused {
                message: format!(
                    "the results hold {} handle(s) (descriptors), which cannot travel to \
                     another host",
                    fds.len()
                ),
            },
        ),
        Err(e) => failed(job, chunk, &Failure::from_task_error(e)),
    }
}

/// A result message that fails a whole chunk with `failure`.
fn failed(job: u64, chunk: u32, failure: &Failure) -> Vec<u8> {
    let head = wire::result_message(job, chunk, wire::STATUS_FAILED);
    // A `Failure` always encodes (plain strings and integers); if not, rank 0 reports the
    // empty body as undecodable.
    postcard::to_extend(failure, head.clone()).unwrap_or(head)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn a_refusal_prints_without_its_control_characters() {
        let reason = "rank 1 (on \u{1b}[2Jhost\r\n) runs a different executable";
        let shown = printable(reason);
        assert_eq!(
            shown,
            "rank 1 (on \u{fffd}[2Jhost\u{fffd}\u{fffd}) runs a different executable"
        );
        assert_eq!(
            printable("the executable's SHA-256 differs"),
            "the executable's SHA-256 differs"
        );
    }
}
