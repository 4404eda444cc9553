//! The pool across ranks against the local `Pool` on the same machine, measured by
//! `.ci/mpi-bench` (which writes its table to `bench/mpi.md`):
//!
//! ```text
//! cargo build --release -p examples --features mpi --example mpi_bench
//! mpirun -n 3 --oversubscribe ./target/release/examples/mpi_bench
//! ```
//!
//! Prints two Markdown tables on rank 0:
//! - the cost per task of a trivial task (`x -> x`), default chunking and chunk size 1, on the
//!   MPI pool and on a local `Pool` with as many worker processes in all;
//! - the time of a CPU-bound map (the primes of `mpi_primes`) in one process, on the MPI pool
//!   and on the local pool, and the speedups.
//!
//! Each cell is the median of `RUNS` runs after one warm-up, with the spread `[min..max]`.
//! Options: `MPI_BENCH_PROCESSES` (local worker processes of each worker rank, default 1) and
//! `MPI_BENCH_RUNS` (default 7). Without `mpirun`, the "MPI pool" is the local fallback.

use std::time::Instant;

/// Tasks of a default-chunked map of the trivial task.
const TRIVIAL: u32 = 200_000;
/// Tasks of a chunksize-1 map of the trivial task.
const TRIVIAL_ONE: u32 = 20_000;
/// The primes below this are counted, 10,000 numbers per task.
const PRIMES_BELOW: u64 = 2_000_000;

fn trivial(x: u32) -> u32 {
    x
}

/// The primes in `[start, start + 10_000)`, by trial division (`mpi_primes`'s function).
fn primes_in(start: u64) -> u64 {
    let is_prime = |n: u64| n >= 2 && (2..=n.isqrt()).all(|d| !n.is_multiple_of(d));
    (start..start + 10_000)
        .filter(|&n| is_prime(n))
        .map(|_| 1)
        .sum()
}

/// Median, min and max of some samples.
#[derive(Debug, Clone, Copy)]
struct Summary {
    median: f64,
    min: f64,
    max: f64,
}

impl Summary {
    fn of(mut samples: Vec<f64>) -> Self {
        samples.sort_by(f64::total_cmp);
        let mid = samples.len() / 2;
        let median = if samples.len().is_multiple_of(2) {
            f64::midpoint(samples[mid - 1], samples[mid])
        } else {
            samples[mid]
        };
        Self {
            median,
            min: samples[0],
            max: samples[samples.len() - 1],
        }
    }

    /// `median [min..max]` with `digits` decimals.
    fn cell(self, digits: usize) -> String {
        format!(
            "{:.digits$} [{:.digits$}..{:.digits$}]",
            self.median, self.min, self.max
        )
    }
}

/// Runs `f` once to warm up, then `runs` times; each run's seconds divided by `per`.
fn measure(runs: usize, per: f64, mut f: impl FnMut()) -> Summary {
    f();
    let samples = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64() / per
        })
        .collect();
    Summary::of(samples)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&v| v > 0)
        .unwrap_or(default)
}

/// One row of the per-task table: MPI, local, and their ratio (of medians).
fn overhead_row(what: &str, mpi: Summary, local: Summary) -> String {
    format!(
        "| {what} | {} | {} | {:.2} |",
        mpi.cell(3),
        local.cell(3),
        mpi.median / local.median
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let processes = env_or("MPI_BENCH_PROCESSES", 1);
    let runs = env_or("MPI_BENCH_RUNS", 7);
    // First in main: on every rank but 0 this serves tasks and ends the process.
    let pool = mproc::mpi::builder().processes(processes).init()?;
    let workers = pool.processes();
    let local = mproc::Pool::new(workers)?;

    let us = |n: u32| f64::from(n) / 1e6;
    let mpi_default = measure(runs, us(TRIVIAL), || {
        let out = pool.map(trivial, 0..TRIVIAL).run();
        assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL as usize));
    });
    let local_default = measure(runs, us(TRIVIAL), || {
        let out = local.map(trivial, 0..TRIVIAL).run();
        assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL as usize));
    });
    let mpi_one = measure(runs, us(TRIVIAL_ONE), || {
        let out = pool.map(trivial, 0..TRIVIAL_ONE).chunksize(1).run();
        assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL_ONE as usize));
    });
    let local_one = measure(runs, us(TRIVIAL_ONE), || {
        let out = local.map(trivial, 0..TRIVIAL_ONE).chunksize(1).run();
        assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL_ONE as usize));
    });

    let starts = || (0..PRIMES_BELOW).step_by(10_000);
    let count = |counts: Result<Vec<u64>, mproc::TaskError>| counts.map(|c| c.iter().sum());
    let expected = 148_933;
    let serial = measure(runs, 1.0, || {
        assert_eq!(starts().map(primes_in).sum::<u64>(), expected);
    });
    let mpi_cpu = measure(runs, 1.0, || {
        let total = count(pool.map(primes_in, starts()).chunksize(1).run());
        assert_eq!(total.ok(), Some(expected));
    });
    let local_cpu = measure(runs, 1.0, || {
        let total = count(local.map(primes_in, starts()).chunksize(1).run());
        assert_eq!(total.ok(), Some(expected));
    });

    println!(
        "Per-task cost of a trivial task (`x -> x`, µs per task): the MPI pool ({} worker \
         rank(s) × {processes} local process(es)) against a local `Pool` of {workers} \
         process(es); {TRIVIAL} tasks with default chunking (`len / (4 × processes)`, as \
         Python), {TRIVIAL_ONE} with chunk size 1.\n",
        pool.worker_ranks(),
    );
    println!("| map of `x -> x` | MPI pool (µs/task) | local `Pool` (µs/task) | MPI / local |");
    println!("|---|---|---|---|");
    println!(
        "{}",
        overhead_row("default chunking", mpi_default, local_default)
    );
    println!("{}", overhead_row("chunk size 1", mpi_one, local_one));
    println!(
        "\nCPU-bound: the primes below {PRIMES_BELOW} by trial division (`mpi_primes`'s \
         function), {} tasks of 10,000 numbers, chunk size 1; seconds, and the speedup over \
         one process (medians).\n",
        starts().count()
    );
    println!("| one process (s) | MPI pool (s) | local `Pool` (s) | MPI speedup | local speedup |");
    println!("|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {:.2}× | {:.2}× |",
        serial.cell(3),
        mpi_cpu.cell(3),
        local_cpu.cell(3),
        serial.median / mpi_cpu.median,
        serial.median / local_cpu.median
    );
    println!("\nMedian [min..max] of {runs} runs after one warm-up run.");
    local.close();
    local.join()?;
    Ok(())
}
