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
//! Each cell is the median of several runs after two warm-up runs, with the spread
//! `[min..max]`; the sides of a table take turns, run by run.
//! Options: `MPI_BENCH_PROCESSES` (local worker processes of each worker rank, default 1) and
//! `MPI_BENCH_RUNS` (default 7). Without `mpirun`, the "MPI pool" is the local fallback.

use std::time::Instant;

/// Tasks of a default-chunked map of the trivial task.
const TRIVIAL: u32 = 200_000;
/// Tasks of a chunksize-1 map of the trivial task.
const TRIVIAL_ONE: u32 = 20_000;
/// The primes below this are counted, 10,000 numbers per task.
const PRIMES_BELOW: u64 = 2_000_000;
/// Rounds run before the measured ones.
const WARMUP: usize = 2;

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

/// Measures the `sides` in turns: `WARMUP` rounds thrown away, then `runs` rounds, each side
/// once per round (so a drift in the speed of a shared machine weighs on all alike); each
/// run's seconds divided by the side's `per`.
fn interleaved(runs: usize, sides: &mut [(f64, &mut dyn FnMut())]) -> Vec<Summary> {
    let mut samples = vec![Vec::with_capacity(runs); sides.len()];
    for round in 0..WARMUP + runs {
        for ((per, f), samples) in sides.iter_mut().zip(&mut samples) {
            let start = Instant::now();
            f();
            if round >= WARMUP {
                samples.push(start.elapsed().as_secs_f64() / *per);
            }
        }
    }
    samples.into_iter().map(Summary::of).collect()
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
    // The default-chunked maps take milliseconds: more runs, against the noise.
    let default = interleaved(
        4 * runs,
        &mut [
            (us(TRIVIAL), &mut || {
                let out = pool.map(trivial, 0..TRIVIAL).run();
                assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL as usize));
            }),
            (us(TRIVIAL), &mut || {
                let out = local.map(trivial, 0..TRIVIAL).run();
                assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL as usize));
            }),
        ],
    );
    let one = interleaved(
        runs,
        &mut [
            (us(TRIVIAL_ONE), &mut || {
                let out = pool.map(trivial, 0..TRIVIAL_ONE).chunksize(1).run();
                assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL_ONE as usize));
            }),
            (us(TRIVIAL_ONE), &mut || {
                let out = local.map(trivial, 0..TRIVIAL_ONE).chunksize(1).run();
                assert_eq!(out.map(|v| v.len()).ok(), Some(TRIVIAL_ONE as usize));
            }),
        ],
    );

    let starts = || (0..PRIMES_BELOW).step_by(10_000);
    let count = |counts: Result<Vec<u64>, mproc::TaskError>| counts.map(|c| c.iter().sum());
    let expected = 148_933;
    let cpu = interleaved(
        runs,
        &mut [
            (1.0, &mut || {
                assert_eq!(starts().map(primes_in).sum::<u64>(), expected);
            }),
            (1.0, &mut || {
                let total = count(pool.map(primes_in, starts()).chunksize(1).run());
                assert_eq!(total.ok(), Some(expected));
            }),
            (1.0, &mut || {
                let total = count(local.map(primes_in, starts()).chunksize(1).run());
                assert_eq!(total.ok(), Some(expected));
            }),
        ],
    );
    let (serial, mpi_cpu, local_cpu) = (cpu[0], cpu[1], cpu[2]);

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
        overhead_row("default chunking", default[0], default[1])
    );
    println!("{}", overhead_row("chunk size 1", one[0], one[1]));
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
    println!(
        "\nMedian [min..max] of {runs} runs ({} for default chunking) after {WARMUP} warm-up \
         runs; the sides of a table take turns, run by run. The MPI job has more processes \
         than the local pool (rank 0 and a serving thread per worker rank besides the local \
         workers): on CPUs shared with other work it gets a larger share of them (a speedup \
         above the CPU count comes from that share).",
        4 * runs
    );
    local.close();
    local.join()?;
    Ok(())
}
