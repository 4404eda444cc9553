//! Rank 0's side: chunks queued for the worker ranks, sent as ranks have room (each holds at
//! most [`CHUNKS_PER_PROCESS`](wire::CHUNKS_PER_PROCESS) chunks per local worker process), and
//! their results kept until they are taken.
//!
//! Work is pulled: a rank gets its next chunk when one of its chunks comes back, so a slow
//! chunk delays only itself. All of it runs on the caller's thread, whenever it submits or
//! waits (MPI is used from one thread; nothing runs in the background on rank 0).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Instant;

use mpi::topology::SimpleCommunicator;
use mpi::traits::Communicator;

use super::transport::{self, Backoff, Received, Sends};
use super::wire::{self, Failure};

/// A chunk's result as it came back: the encoded outcomes of its tasks, or one failure for
/// all of them. `rank` ran it.
#[derive(Debug)]
pub(super) enum ChunkResult {
    Outcomes { bytes: Vec<u8>, rank: i32 },
    Failed { failure: Failure, rank: i32 },
    Garbled { detail: String, rank: i32 },
}

/// A worker rank as rank 0 sees it.
#[derive(Debug)]
struct Rank {
    id: i32,
    capacity: usize,
    in_flight: usize,
}

/// A chunk waiting for a rank.
#[derive(Debug)]
struct Queued {
    job: u64,
    message: Vec<u8>,
}

/// The state of the pool's worker ranks.
pub(super) struct Engine {
    world: SimpleCommunicator,
    ranks: Vec<Rank>,
    queue: VecDeque<Queued>,
    sends: Sends,
    /// Results of live jobs, by job then chunk index.
    results: HashMap<u64, BTreeMap<u32, ChunkResult>>,
    next_job: u64,
    pub(super) key: [u8; 32],
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("ranks", &self.ranks)
            .field("queued", &self.queue.len())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine for the worker ranks `(rank, local processes)`.
    pub(super) fn new(world: SimpleCommunicator, ranks: &[(i32, usize)], key: [u8; 32]) -> Self {
        Self {
            world,
            ranks: ranks
                .iter()
                .map(|&(id, processes)| Rank {
                    id,
                    capacity: wire::CHUNKS_PER_PROCESS * processes.max(1),
                    in_flight: 0,
                })
                .collect(),
            queue: VecDeque::new(),
            sends: Sends::default(),
            results: HashMap::new(),
            next_job: 0,
            key,
        }
    }

    /// A new job's id.
    pub(super) fn new_job(&mut self) -> u64 {
        self.next_job += 1;
        self.results.insert(self.next_job, BTreeMap::new());
        self.next_job
    }

    /// Queues a task message of `job` and sends what the ranks have room for.
    pub(super) fn submit(&mut self, job: u64, message: Vec<u8>) {
        self.queue.push_back(Queued { job, message });
        self.dispatch();
    }

    /// Forgets `job`: its queued chunks are dropped and its results discarded as they come.
    pub(super) fn abandon(&mut self, job: u64) {
        self.queue.retain(|q| q.job != job);
        self.results.remove(&job);
    }

    /// Takes chunk `chunk` of `job` (any chunk if `None`) once it came back, making progress
    /// until then or until `deadline`.
    pub(super) fn take(
        &mut self,
        job: u64,
        chunk: Option<u32>,
        deadline: Option<Instant>,
    ) -> Option<(u32, ChunkResult)> {
        let mut backoff = Backoff::default();
        loop {
            let found = self.results.get_mut(&job).and_then(|arrived| match chunk {
                Some(index) => arrived.remove(&index).map(|r| (index, r)),
                None => arrived.pop_first(),
            });
            if found.is_some() {
                return found;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            if self.progress() {
                backoff.reset();
            } else {
                backoff.idle();
            }
        }
    }

    /// Whether chunk `chunk` of `job` came back (after one round of progress).
    pub(super) fn arrived(&mut self, job: u64, chunk: u32) -> bool {
        self.progress();
        self.results
            .get(&job)
            .is_some_and(|arrived| arrived.contains_key(&chunk))
    }

    /// Sends, completes and receives what can be without waiting; true if anything moved.
    fn progress(&mut self) -> bool {
        let mut moved = self.sends.poll();
        while let Some(received) = transport::try_receive(&self.world, wire::TAG_RESULT) {
            moved = true;
            self.store(received);
        }
        moved | self.dispatch()
    }

    /// Sends queued chunks to ranks with room, least loaded first.
    fn dispatch(&mut self) -> bool {
        let mut sent = false;
        while !self.queue.is_empty() {
            let Some(rank) = self
                .ranks
                .iter_mut()
                .filter(|r| r.in_flight < r.capacity)
                .min_by_key(|r| r.in_flight)
            else {
                break;
            };
            let Some(queued) = self.queue.pop_front() else {
                break;
            };
            rank.in_flight += 1;
            self.sends
                .start(&self.world, rank.id, wire::TAG_TASK, queued.message);
            sent = true;
        }
        sent
    }

    fn store(&mut self, received: Received) {
        let (bytes, source) = match received {
            Received::Message { bytes, source } => (bytes, source),
            Received::TooLarge { source, len } => {
                eprintln!("mproc::mpi: rank {source} sent a result of {len} bytes; aborting");
                self.world.abort(3);
            }
        };
        if let Some(rank) = self.ranks.iter_mut().find(|r| r.id == source) {
            rank.in_flight = rank.in_flight.saturating_sub(1);
        }
        let Some((job, chunk, status, body)) = wire::parse_result(&bytes) else {
            return;
        };
        let Some(arrived) = self.results.get_mut(&job) else {
            return; // an abandoned job
        };
        let result = match status {
            wire::STATUS_OUTCOMES => ChunkResult::Outcomes {
                bytes: body.to_vec(),
                rank: source,
            },
            wire::STATUS_FAILED => match postcard::from_bytes::<Failure>(body) {
                Ok(failure) => ChunkResult::Failed {
                    failure,
                    rank: source,
                },
                Err(e) => ChunkResult::Garbled {
                    detail: e.to_string(),
                    rank: source,
                },
            },
            other => ChunkResult::Garbled {
                detail: format!("unknown status {other}"),
                rank: source,
            },
        };
        arrived.insert(chunk, result);
    }

    /// Finishes the job: waits for the chunks in flight, tells every rank to stop, and waits
    /// for the messages to leave.
    pub(super) fn stop(&mut self) {
        self.queue.clear();
        let mut backoff = Backoff::default();
        while self.ranks.iter().any(|r| r.in_flight > 0) {
            let before = self.sends.len();
            let mut moved = self.sends.poll() || before != self.sends.len();
            while let Some(received) = transport::try_receive(&self.world, wire::TAG_RESULT) {
                moved = true;
                if let Received::Message { source, .. } = received
                    && let Some(rank) = self.ranks.iter_mut().find(|r| r.id == source)
                {
                    rank.in_flight = rank.in_flight.saturating_sub(1);
                }
            }
            if moved {
                backoff.reset();
            } else {
                backoff.idle();
            }
        }
        for rank in &self.ranks {
            self.sends
                .start(&self.world, rank.id, wire::TAG_STOP, Vec::new());
        }
        self.sends.finish();
        self.ranks.clear();
    }

    /// How many tasks each worker rank runs at once, summed.
    pub(super) fn processes(&self) -> usize {
        self.ranks
            .iter()
            .map(|r| r.capacity / wire::CHUNKS_PER_PROCESS)
            .sum::<usize>()
            .max(1)
    }

    /// How many worker ranks there are.
    pub(super) fn worker_ranks(&self) -> usize {
        self.ranks.len()
    }

    /// This process's rank (always 0) and the communicator's size.
    pub(super) fn size(&self) -> i32 {
        self.world.size()
    }
}
