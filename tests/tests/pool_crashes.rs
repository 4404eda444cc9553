//! Crash isolation: a worker killed, aborting, segfaulting or exiting fails only the task it
//! was running; everything else completes and the pool goes on. And `terminate` with many
//! pending tasks returns promptly and leaves no worker.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use std::time::Duration;

use integration_tests::gate::{self, Gate, Opener};
use integration_tests::pools::{self, TestPool};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

/// Reports its worker's pid, then waits (for an hour at most) to be killed.
fn victim((report, hold): (Opener, Gate)) -> u8 {
    report.send_u64(u64::from(std::process::id()));
    let _ = hold.wait(Duration::from_hours(1));
    0
}

/// kill -9 of a worker in the middle of a task: that task reports `WorkerLost` with the pid and
/// signal; tasks queued behind it and the other worker's tasks all succeed; the pool is usable.
#[test]
fn a_worker_killed_mid_task_fails_only_that_task() {
    for method in METHODS {
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .unwrap(),
        );
        let (report, reported) = gate::gate();
        let (_hold, hold) = gate::gate();
        let doomed = pool.apply_async(victim, (report, hold)).unwrap();
        let others = pool.map_async(square, 0..300).chunksize(1).run().unwrap();
        let pid = i32::try_from(reported.recv_u64(TIMEOUT).expect("victim's pid")).unwrap();
        // SAFETY: sending a signal to a pid has no memory-safety preconditions.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
        match doomed.get_timeout(TIMEOUT) {
            Err(TaskError::WorkerLost {
                pid: lost,
                signal,
                code,
                task,
            }) => {
                assert_eq!((lost, signal, code), (pid, Some(9), None), "{method:?}");
                assert!(task.to_string().contains("pool_crashes.rs:"), "{task}");
            }
            other => panic!("{method:?}: {other:?}"),
        }
        let values = others.get_timeout(TIMEOUT).unwrap();
        assert_eq!(values, (0..300).map(square).collect::<Vec<_>>());
        assert_eq!(pool.apply(square, 12).unwrap(), 144, "the pool goes on");
        let workers: std::collections::BTreeSet<u32> = pool
            .map_chunked(|_: u8| std::process::id(), 0..50, 1)
            .unwrap()
            .into_iter()
            .collect();
        assert!(
            !workers.contains(&u32::try_from(pid).unwrap()),
            "the dead worker was replaced"
        );
        pool.terminate();
    }
}

fn abort_now(_: ()) -> u8 {
    std::process::abort()
}

fn segfault(_: ()) -> u8 {
    // Rust's runtime handles SIGSEGV (to report stack overflows) and returns from a raised one;
    // with the default action restored, the signal ends the process as a real fault would.
    // SAFETY: setting a signal's default disposition and raising it touch no Rust memory.
    unsafe {
        libc::signal(libc::SIGSEGV, libc::SIG_DFL);
        libc::raise(libc::SIGSEGV);
    }
    0
}

fn exit_three(_: ()) -> u8 {
    std::process::exit(3)
}

#[test]
fn abort_segfault_and_exit_are_reported_with_their_cause() {
    let pool = TestPool::from(Pool::new(2).unwrap());
    let check = |r: Result<u8, TaskError>, want_signal: Option<i32>, want_code: Option<i32>| match r
    {
        Err(TaskError::WorkerLost { signal, code, .. }) => {
            assert_eq!((signal, code), (want_signal, want_code));
        }
        other => panic!("{other:?}"),
    };
    check(pool.apply(abort_now, ()), Some(libc::SIGABRT), None);
    check(pool.apply(segfault, ()), Some(libc::SIGSEGV), None);
    check(pool.apply(exit_three, ()), None, Some(3));
    assert_eq!(pool.map(square, 0..100).unwrap().len(), 100);
}

/// Tasks queued on a worker behind the one that crashes run elsewhere, once each.
#[test]
fn tasks_queued_behind_a_crash_run_once_elsewhere() {
    let pool = TestPool::from(Pool::builder().processes(1).build().unwrap());
    // One worker: everything queues behind the crash.
    let crash = pool.apply_async(abort_now, ()).unwrap();
    let after = pool.map_async(square, 0..100).chunksize(1).run().unwrap();
    assert!(matches!(
        crash.get_timeout(TIMEOUT),
        Err(TaskError::WorkerLost { .. })
    ));
    assert_eq!(
        after.get_timeout(TIMEOUT).unwrap(),
        (0..100).map(square).collect::<Vec<_>>()
    );
}

/// The pids of the workers that ran a burst of small tasks (all workers, in practice).
fn worker_pids(pool: &TestPool) -> Vec<i32> {
    let pids = pool
        .map_chunked(|_: u8| std::process::id(), 0..100, 1)
        .unwrap();
    let pids: std::collections::BTreeSet<u32> = pids.into_iter().collect();
    pids.into_iter()
        .map(|p| i32::try_from(p).unwrap())
        .collect()
}

fn wait_at(gate: Gate) -> u8 {
    let _ = gate.wait(Duration::from_hours(1));
    1
}

#[test]
fn terminate_with_ten_thousand_pending_tasks_returns_and_leaves_no_worker() {
    for method in METHODS {
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .unwrap(),
        );
        let workers = worker_pids(&pool);
        let (_release, gate) = gate::gate();
        let blocked = pool.apply_async(wait_at, gate).unwrap();
        let pending = pool
            .map_async(square, 0..10_000)
            .chunksize(1)
            .run()
            .unwrap();
        pool.terminate();
        assert!(matches!(
            blocked.get_timeout(TIMEOUT),
            Err(TaskError::Terminated { .. })
        ));
        assert!(matches!(
            pending.get_timeout(TIMEOUT),
            Err(TaskError::Terminated { .. }) | Ok(_)
        ));
        for pid in workers {
            assert!(
                procs::wait_for_exit(pid, Duration::ZERO),
                "worker {pid} left running"
            );
        }
        assert!(matches!(
            pool.apply(square, 1),
            Err(TaskError::Pool(PoolError::NotRunning))
        ));
    }
}

#[test]
fn no_worker_survives_close_and_join() {
    let pool = TestPool::from(Pool::new(3).unwrap());
    assert_eq!(pool.map(square, 0..30).unwrap().len(), 30);
    let workers = worker_pids(&pool);
    pool.close();
    pool.join_timeout(TIMEOUT).unwrap();
    for pid in workers {
        assert!(
            procs::wait_for_exit(pid, Duration::ZERO),
            "worker {pid} left running"
        );
    }
}

/// A result large enough that a worker spends much of its time publishing reports in its
/// shared-memory report queue, so kills land there too.
fn bulky(i: u32) -> (u32, u32, Vec<u8>) {
    (
        i,
        std::process::id(),
        vec![u8::try_from(i % 256).unwrap(); 48 << 10],
    )
}

/// Workers killed over and over, at whatever point they are (running a task, halfway through
/// publishing its report, waiting for work): every task either
/// returns its own value or fails with `WorkerLost`, never more of them than kills, nothing
/// hangs, and the pool goes on.
#[test]
fn workers_killed_at_any_point_lose_at_most_their_own_task() {
    const TASKS: u32 = 300;
    const KILL_EVERY: usize = 20;
    for method in METHODS {
        let pool = pools::pool(2, method);
        let pending: Vec<_> = (0..TASKS)
            .map(|i| pool.apply_async(bulky, i).unwrap())
            .collect();
        let (mut kills, mut lost, mut last_worker) = (0usize, 0usize, None);
        for (i, result) in pending.into_iter().enumerate() {
            match result.get_timeout(TIMEOUT) {
                Ok((n, worker, bytes)) => {
                    let i = u32::try_from(i).unwrap();
                    assert_eq!(n, i, "{method:?}");
                    assert!(
                        bytes.len() == 48 << 10 && bytes.iter().all(|&b| u32::from(b) == i % 256)
                    );
                    last_worker = Some(i32::try_from(worker).unwrap());
                }
                Err(TaskError::WorkerLost { signal, .. }) => {
                    assert_eq!(signal, Some(libc::SIGKILL), "{method:?}");
                    lost += 1;
                }
                Err(other) => panic!("{method:?}: task {i}: {other:?}"),
            }
            // Not near the end: the pool's check below must not meet a dying worker.
            if i % KILL_EVERY == KILL_EVERY - 1 && i + KILL_EVERY < TASKS as usize {
                // The worker that ran the last task, wherever it is now; only if it is still
                // this pool's (a child of this process), never a pid reused by another process.
                if let Some(worker) =
                    last_worker.filter(|pid| procs::children_of_self().contains(pid))
                {
                    // SAFETY: sending a signal to a pid has no memory-safety preconditions.
                    if unsafe { libc::kill(worker, libc::SIGKILL) } == 0 {
                        kills += 1;
                    }
                }
            }
        }
        assert!(kills > 0, "{method:?}: no worker was killed");
        assert!(
            lost <= kills,
            "{method:?}: {lost} tasks lost to {kills} kills"
        );
        assert_eq!(
            pool.apply(square, 9).unwrap(),
            81,
            "{method:?}: the pool goes on"
        );
        pool.terminate();
    }
}
