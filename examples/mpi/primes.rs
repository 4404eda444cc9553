//! Counts the primes below 2,000,000 by trial division, in chunks mapped over an MPI job.
//!
//! ```text
//! cargo build --release -p examples --features mpi --example mpi_primes
//! mpirun -n 4 ./target/release/examples/mpi_primes
//! 148933 primes below 2000000, on 3 worker ranks (6 processes)
//! ```
//!
//! Without `mpirun` it runs on a local pool (`0 worker ranks`), with the same result.

/// The primes in `[start, start + 10_000)`, by trial division (CPU-bound on purpose).
fn primes_in(start: u64) -> u64 {
    let is_prime = |n: u64| n >= 2 && (2..=n.isqrt()).all(|d| !n.is_multiple_of(d));
    (start..start + 10_000)
        .filter(|&n| is_prime(n))
        .map(|_| 1)
        .sum()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // First in main: on every rank but 0 this serves tasks and ends the process.
    let pool = mproc::mpi::init()?;
    let counts = pool
        .map(primes_in, (0..2_000_000).step_by(10_000))
        .chunksize(1)
        .run()?;
    let total: u64 = counts.iter().sum();
    println!(
        "{total} primes below 2000000, on {} worker ranks ({} processes)",
        pool.worker_ranks(),
        pool.processes()
    );
    assert_eq!(total, 148_933);
    Ok(())
}
