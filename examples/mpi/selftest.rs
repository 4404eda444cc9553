//! The pool across hosts, checked under `mpirun` by `.ci/mpi-tests`: `mpi_selftest <case>`.
//!
//! - `all <world size>`: the world's size, map and imap in order, starmap, apply, 1 MiB arguments and results both ways, a
//!   panicking task, a task that SIGKILLs its own process (fails alone; the job goes on), and
//!   arguments holding a handle refused. Prints `ok <check>` for each; exits 0 only if all pass.
//! - `endless <fifo>`: writes rank 0's pid to `fifo`, then maps forever (the script kills a
//!   worker rank from outside and expects the job to end, non-zero).

use std::io::Write;

use mproc::TaskError;
use mproc::mpi::MpiPool;

fn square(x: u64) -> u64 {
    x * x
}

fn add((a, b): (u64, u64)) -> u64 {
    a + b
}

/// Takes 1 MiB, returns 1 MiB: every byte plus one.
fn bump(bytes: Vec<u8>) -> Vec<u8> {
    bytes.into_iter().map(|b| b.wrapping_add(1)).collect()
}

fn panics_on_3(x: u32) -> u32 {
    assert!(x != 3, "three is not allowed");
    x
}

/// Kills its own (local worker) process for 5.
fn dies_on_5(x: u32) -> u32 {
    if x == 5 {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
    x
}

fn takes_fd(fd: mproc::codec::Fd) -> u32 {
    drop(fd);
    0
}

fn slow(x: u64) -> u64 {
    (0..200_000u64).fold(x, |a, b| a.wrapping_mul(31).wrapping_add(b))
}

fn check(name: &str, ok: bool, failures: &mut u32) {
    if ok {
        println!("ok {name}");
    } else {
        println!("FAILED {name}");
        *failures += 1;
    }
}

fn all(pool: &MpiPool, world: usize) -> u32 {
    let mut failures = 0;
    check(
        &format!("a world of {world} rank(s), {} serving", world - 1),
        pool.world_size() == world && pool.worker_ranks() == world - 1,
        &mut failures,
    );
    calls(pool, &mut failures);
    large_and_failing(pool, &mut failures);
    failures
}

/// Every call of the family, in order.
fn calls(pool: &MpiPool, failures: &mut u32) {
    let expected: Vec<u64> = (0..1000).map(square).collect();
    check(
        "map in order (default chunks)",
        pool.map(square, 0..1000).run().ok() == Some(expected.clone()),
        failures,
    );
    check(
        "map in order (chunksize 1)",
        pool.map(square, 0..200).chunksize(1).run().ok().as_deref() == Some(&expected[..200]),
        failures,
    );
    let imapped: Result<Vec<u64>, TaskError> = pool.imap(square, 0..1000).chunksize(7).collect();
    check(
        "imap in order",
        imapped.ok() == Some(expected.clone()),
        failures,
    );
    let lazy: Result<Vec<u64>, TaskError> = pool.imap(square, 0..).take(50).collect();
    check(
        "imap over an endless input",
        lazy.ok().as_deref() == Some(&expected[..50]),
        failures,
    );
    let mut unordered: Vec<u64> = pool
        .imap_unordered(square, 0..1000)
        .map(Result::unwrap_or_default)
        .collect();
    unordered.sort_unstable();
    check(
        "imap_unordered, every result",
        unordered == expected,
        failures,
    );
    check(
        "starmap",
        pool.starmap(add, [(1, 2), (3, 4)]).run().ok() == Some(vec![3, 7]),
        failures,
    );
    check("apply", pool.apply(square, 12).ok() == Some(144), failures);
    let pending: Vec<_> = (0..10u64)
        .filter_map(|x| pool.apply_async(square, x).ok())
        .collect();
    check(
        "apply_async",
        pending
            .iter()
            .map(|p| p.get().ok())
            .eq((0..10u64).map(|x| Some(x * x))),
        failures,
    );
    drop(pending);
}

/// 1 MiB both ways, a panic, a killed process, a refused handle.
fn large_and_failing(pool: &MpiPool, failures: &mut u32) {
    let expected: Vec<u64> = (0..100).map(square).collect();
    let mib: Vec<Vec<u8>> = (0..8u8).map(|i| vec![i; 1 << 20]).collect();
    let back = pool.map(bump, mib.clone()).chunksize(1).run();
    let big_ok = back.is_ok_and(|back| {
        back.iter()
            .zip(&mib)
            .all(|(b, m)| b.len() == 1 << 20 && b[0] == m[0] + 1 && b[(1 << 20) - 1] == m[0] + 1)
    });
    check("1 MiB arguments and results both ways", big_ok, failures);

    let got: Vec<Result<u32, TaskError>> = pool.imap(panics_on_3, 0..6).collect();
    let panicked = got.iter().enumerate().all(|(i, r)| match r {
        Err(TaskError::Panicked { message, .. }) => i == 3 && message == "three is not allowed",
        Ok(v) => *v as usize == i && i != 3,
        Err(_) => false,
    });
    check(
        "a panicking task fails alone",
        panicked && got.len() == 6,
        failures,
    );

    let got: Vec<Result<u32, TaskError>> = pool.imap(dies_on_5, 0..10).collect();
    let lost = got.iter().enumerate().all(|(i, r)| match r {
        Err(TaskError::WorkerLost {
            signal: Some(9), ..
        }) => i == 5,
        Ok(v) => *v as usize == i && i != 5,
        Err(e) => {
            println!("  unexpected: {e}");
            false
        }
    });
    check(
        "a task that SIGKILLs its process fails alone",
        lost && got.len() == 10,
        failures,
    );
    check(
        "the job goes on after it",
        pool.map(square, 0..100).run().ok().as_deref() == Some(&expected[..]),
        failures,
    );

    let file = std::fs::File::open("/proc/self/exe")
        .map(|f| mproc::codec::Fd::from(std::os::fd::OwnedFd::from(f)));
    let outcome = file.map(|fd| pool.apply(takes_fd, fd));
    if pool.worker_ranks() > 0 {
        check(
            "a handle argument is refused",
            matches!(outcome, Ok(Err(TaskError::EncodeArgs { .. }))),
            failures,
        );
    } else {
        // A single-rank run is the local pool, where handles travel as descriptors.
        check(
            "a handle argument works on the local fallback",
            matches!(outcome, Ok(Ok(0))),
            failures,
        );
    }
}

fn endless(pool: &MpiPool, fifo: &str) {
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .open(fifo)
        .expect("the fifo opens");
    writeln!(out, "{}", std::process::id()).expect("the pid is written");
    drop(out);
    for (i, r) in pool.imap(slow, 0..).enumerate() {
        if r.is_err() {
            eprintln!("task {i} failed");
        }
    }
}

fn main() -> Result<(), mproc::mpi::MpiError> {
    let processes = std::env::var("MPI_SELFTEST_PROCESSES")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(2);
    let pool = mproc::mpi::builder().processes(processes).init()?;
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("all") => {
            let world = args.get(2).and_then(|w| w.parse().ok()).unwrap_or(3);
            let failures = all(&pool, world);
            drop(pool);
            if failures > 0 {
                std::process::exit(1);
            }
        }
        Some("endless") => endless(&pool, args.get(2).map_or("/dev/null", String::as_str)),
        _ => println!(
            "ranks: {}, processes: {}",
            pool.world_size(),
            pool.processes()
        ),
    }
    Ok(())
}
