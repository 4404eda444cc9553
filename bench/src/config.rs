//! Workload sizes for the quick and full modes.
//!
//! One `Sizes` value is handed, as JSON, to every measuring process: our own floor and mproc
//! sides and the Python scripts (which read the same field names), so all three sides do the
//! same amount of work.

use serde::{Deserialize, Serialize};

/// Quick (CI: proves the harness works) or full (run by hand, committed to BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Every workload at a small size; well under two minutes in total.
    Quick,
    /// The sizes behind BENCHMARKS.md.
    Full,
}

impl Mode {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mode::Quick => "quick",
            Mode::Full => "full",
        }
    }
}

/// How much work each figure does. Field names are shared with `bench/python/mp_common.py`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Sizes {
    /// Measured runs per figure; the median of these is reported.
    pub(crate) runs: u32,
    /// Runs done first and thrown away (caches, page faults, Python's forkserver start).
    pub(crate) warmup: u32,
    /// Processes started and joined per run, fork start method.
    pub(crate) spawn_fork: u32,
    /// Processes started and joined per run, spawn and forkserver start methods.
    pub(crate) spawn_exec: u32,
    /// Uncontended acquire+release pairs per run.
    pub(crate) lock_ops: u64,
    /// Acquire+release pairs per process per run, two processes contending.
    pub(crate) lock_contended_ops: u64,
    /// Uncontended semaphore acquire+release pairs per run.
    pub(crate) semaphore_ops: u64,
    /// Increments of a shared `Value` per process per run, two processes contending.
    pub(crate) value_contended_ops: u64,
    /// Round trips per run (Event and Pipe ping-pong, `apply_async().get()`).
    pub(crate) pingpong: u64,
    /// Bytes sent per run in the pipe throughput figures.
    pub(crate) pipe_bytes: u64,
    /// Small items per run through a queue (total over all producers).
    pub(crate) queue_items: u64,
    /// 1 MiB items per run through a queue.
    pub(crate) queue_big_items: u64,
    /// Items per run through a joinable queue.
    pub(crate) joinable_items: u64,
    /// Tasks per run, `Pool.map(chunksize=1)`.
    pub(crate) pool_tasks_chunk1: u64,
    /// Tasks per run, `Pool.map` with default chunking.
    pub(crate) pool_tasks_default: u64,
    /// Total CPU work of the speedup figure, in hash iterations, for compiled code.
    pub(crate) cpu_iters_native: u64,
    /// The same for Python, which runs each iteration ~100x slower.
    pub(crate) cpu_iters_python: u64,
    /// Tasks the CPU work is split into for a pool.
    pub(crate) cpu_chunks: u32,
    /// Set per figure: run the measuring process and its children on CPU 0 only.
    #[serde(default)]
    pub(crate) pinned: bool,
}

impl Sizes {
    pub(crate) fn for_mode(mode: Mode) -> Self {
        match mode {
            Mode::Quick => Self {
                runs: 3,
                warmup: 1,
                spawn_fork: 10,
                spawn_exec: 3,
                lock_ops: 200_000,
                lock_contended_ops: 20_000,
                semaphore_ops: 200_000,
                value_contended_ops: 100_000,
                pingpong: 500,
                pipe_bytes: 16 << 20,
                queue_items: 10_000,
                queue_big_items: 20,
                joinable_items: 5_000,
                pool_tasks_chunk1: 1_000,
                pool_tasks_default: 50_000,
                cpu_iters_native: 20_000_000,
                cpu_iters_python: 200_000,
                cpu_chunks: 8,
                pinned: false,
            },
            Mode::Full => Self {
                runs: 9,
                warmup: 2,
                spawn_fork: 50,
                spawn_exec: 10,
                lock_ops: 2_000_000,
                lock_contended_ops: 100_000,
                semaphore_ops: 2_000_000,
                value_contended_ops: 1_000_000,
                pingpong: 5_000,
                pipe_bytes: 256 << 20,
                queue_items: 200_000,
                queue_big_items: 500,
                joinable_items: 200_000,
                pool_tasks_chunk1: 10_000,
                pool_tasks_default: 500_000,
                cpu_iters_native: 400_000_000,
                cpu_iters_python: 4_000_000,
                cpu_chunks: 8,
                pinned: false,
            },
        }
    }

    /// Warm-up plus measured runs: what a child that lives through every run must serve.
    pub(crate) fn total_runs(&self) -> u32 {
        self.warmup + self.runs
    }
}
