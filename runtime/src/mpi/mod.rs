//! The same [`Pool`] across hosts, on MPI (feature `mpi`).
//!
//! MPI launchers (`mpirun`, `srun`) start the same executable on many hosts; mproc names a
//! task by its code offset in that executable, so a task can run on any of them. Rank 0 runs
//! your `main` and farms chunks of tasks out to the other ranks; each of those runs its chunks
//! on a local crash-isolated [`Pool`] of its own.
//!
//! ```no_run
//! fn is_prime(n: u64) -> bool {
//!     n >= 2 && (2..=n.isqrt()).all(|d| !n.is_multiple_of(d))
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // First thing in main: on every rank but 0 this serves tasks and ends the process.
//!     let pool = mproc::mpi::init()?;
//!     let primes = pool.map(is_prime, 0..100_000u64).run()?;
//!     println!("{} primes", primes.iter().filter(|p| **p).count());
//!     Ok(())
//! }
//! ```
//!
//! # The entry point
//!
//! [`init`] (or [`builder`]`().processes(n).init()`) must be called at the top of `main`,
//! before anything with side effects, in every rank: on rank 0 it returns the [`MpiPool`]; on
//! every other rank it serves rank 0's tasks and then *ends the process* without returning
//! (so the rest of `main` runs only on rank 0). A function rather than an attribute: it is
//! visible where it happens, and `main` keeps its own signature and error handling.
//!
//! Without a launcher (no `mpirun`/`srun` environment), or with a single rank, MPI is not
//! used at all: [`init`] returns an [`MpiPool`] backed by a local pool, so the same binary runs
//! on a laptop and on a cluster. That pool is exactly the local one: there, arguments may hold
//! handles, which more than one rank refuses.
//!
//! # The same calls and errors as the local pool
//!
//! `map` (with `chunksize`), `starmap`, `imap` and `imap_unordered` (lazy: at most two chunks
//! per worker process in flight, so an endless input works), `apply` and `apply_async`, with
//! the same task functions (`#[pool_task]` functions, function items, closures that capture
//! nothing) and the same [`TaskError`](crate::TaskError)s. A task that panics is `Panicked`;
//! a task that kills or crashes its local worker process is `WorkerLost` (its `pid` is a
//! process of the rank's host), and so are the other tasks of its chunk, as in the local pool
//! (chunk size 1: only that task). The job goes on.
//!
//! Arguments that hold handles (a pipe end, a queue, shared memory) are refused with
//! [`TaskError::EncodeArgs`](crate::TaskError::EncodeArgs): descriptors cannot cross hosts.
//!
//! Rank 0 uses MPI from the thread that called [`init`], and only while it submits or waits:
//! tasks of an `apply_async` run while the pool is waited on or used (any `get`, `ready`, map
//! or iteration), not in the background.
//!
//! # Same binary, checked
//!
//! Before any task is sent, every worker rank sends rank 0 the SHA-256 of its executable file
//! and its code layout; a rank that runs another file makes [`init`] fail with
//! [`MpiError::BinaryMismatch`] on rank 0, and every worker rank prints the reason to
//! standard error and leaves with exit code 1 (a launcher such as `mpirun` may end rank 0 as
//! soon as a rank exits non-zero, before rank 0 reports its error).
//! Task code offsets then travel with an HMAC under a job key that rank 0 gives only to the
//! ranks that passed: a worker rank never calls an address a message chose (see the crate's
//! trust model; the key is as secret as the job's MPI traffic).
//!
//! # Fail-stop
//!
//! MPI aborts the whole job when a rank dies (Open MPI and MPICH as Debian builds them have no
//! fault tolerance): a worker rank killed from outside, or a lost host, ends every rank,
//! rank 0 included, within seconds (`mpirun` exits non-zero); nothing hangs. What survives is
//! what the local pools survive: a task's panic, a task's crash or kill (its local worker
//! process is replaced). Run long jobs in pieces whose results you keep.

mod error;
mod identity;
mod imap;
mod master;
mod pool;
mod trampoline;
mod transport;
mod wire;
mod worker;

pub use error::MpiError;
pub use imap::MpiIMap;
pub use pool::{MpiAsyncResult, MpiMap, MpiPool, Pending};

use mpi::Threading;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator, Destination};

use self::identity::Verdict;
use self::master::Engine;
use self::transport::Received;
use crate::pool::Pool;

/// Environment variables that MPI launchers set in the processes they start (Open MPI,
/// `PMIx` as under `srun --mpi=pmix`, MPICH's Hydra and PMI-1/2).
const LAUNCHER_VARS: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"];

/// Starts the pool across hosts with a local pool of [`cpu_count`](crate::cpu_count)
/// processes per worker rank: see [`Builder::init`].
///
/// # Errors
/// As [`Builder::init`].
pub fn init() -> Result<MpiPool, MpiError> {
    builder().init()
}

/// Options for [`init`].
pub fn builder() -> Builder {
    Builder::default()
}

/// Options of the pool across hosts (see [`builder`]).
#[derive(Debug, Default, Clone)]
#[must_use]
pub struct Builder {
    processes: Option<usize>,
}

impl Builder {
    /// The local worker processes of each worker rank (of the local pool, in a single-rank
    /// run); default: the rank's [`cpu_count`](crate::cpu_count).
    pub fn processes(mut self, processes: usize) -> Self {
        self.processes = Some(processes);
        self
    }

    /// Starts the pool: call it first thing in `main`, on every rank. On rank 0 (or without
    /// a launcher) it returns the pool; on every other rank it serves tasks until rank 0's
    /// pool is dropped, then **ends the process** (exit code 0, or 1 if rank 0 refused it).
    ///
    /// # Errors
    /// [`MpiError::BinaryMismatch`] if a rank runs another executable (no task is sent; every
    /// rank leaves); [`MpiError::AlreadyInitialized`] if MPI was initialized before;
    /// [`MpiError::Io`] if this executable cannot be read; [`MpiError::Pool`] if a
    /// single-rank run's local pool cannot start.
    pub fn init(self) -> Result<MpiPool, MpiError> {
        let processes = self.processes.unwrap_or_else(crate::cpu_count).max(1);
        if !LAUNCHER_VARS.iter().any(|v| std::env::var_os(v).is_some()) {
            return Ok(MpiPool::local(Pool::new(processes)?));
        }
        let (universe, _) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or(MpiError::AlreadyInitialized)?;
        let world = universe.world();
        if world.rank() != 0 {
            let code = worker::serve(&world, processes);
            drop(universe);
            std::process::exit(code);
        }
        if world.size() == 1 {
            drop(universe);
            return Ok(MpiPool::local(Pool::new(processes)?));
        }
        let engine = start(world, processes);
        match engine {
            Ok(engine) => Ok(MpiPool::cluster(engine, universe)),
            Err(e) => {
                drop(universe);
                Err(e)
            }
        }
    }
}

/// Rank 0's start-up: every worker rank's greeting checked against ours, then a verdict to
/// each (the job key, or a refusal).
fn start(world: SimpleCommunicator, processes: usize) -> Result<Engine, MpiError> {
    let host = mpi::environment::processor_name().unwrap_or_else(|_| "?".to_owned());
    let ours = identity::hello(processes, host).map_err(MpiError::Io)?;
    let mut ranks = Vec::new();
    let mut refusal = None;
    for rank in 1..world.size() {
        let greeting = match transport::receive_from(&world, rank, wire::TAG_HELLO) {
            Received::Message { bytes, .. } => postcard::from_bytes::<identity::Hello>(&bytes)
                .map_err(|e| MpiError::BadGreeting {
                    rank,
                    detail: e.to_string(),
                }),
            Received::TooLarge { len, .. } => Err(MpiError::BadGreeting {
                rank,
                detail: format!("{len} bytes"),
            }),
        };
        match greeting {
            Ok(theirs) => match identity::mismatch(&ours, &theirs) {
                None => ranks.push((rank, theirs.processes as usize)),
                Some(what) => {
                    refusal.get_or_insert(MpiError::BinaryMismatch {
                        rank,
                        host: theirs.host,
                        what,
                    });
                }
            },
            Err(e) => {
                refusal.get_or_insert(e);
            }
        }
    }
    let key = crate::sys::random::bytes::<32>().map_err(MpiError::Io)?;
    let verdict = match &refusal {
        None => Verdict::Accept { job_key: key },
        Some(e) => Verdict::Refuse {
            reason: e.to_string(),
        },
    };
    let verdict =
        postcard::to_allocvec(&verdict).map_err(|e| MpiError::Io(std::io::Error::other(e)))?;
    for rank in 1..world.size() {
        world
            .process_at_rank(rank)
            .send_with_tag(&verdict[..], wire::TAG_VERDICT);
    }
    match refusal {
        Some(e) => Err(e),
        None => Ok(Engine::new(world, &ranks, key)),
    }
}
