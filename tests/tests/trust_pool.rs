//! The pool's bookkeeping when workers die early (issue #15, finding 9; issue #23): workers
//! killed before they are ready are replaced, and only a configured initializer that keeps
//! failing breaks the pool; a chunk that never reached a worker runs elsewhere instead of failing
//! with `WorkerLost`; the pre-ready deaths that break a pool are counted in a row, not in total;
//! and a worker holds only the chunk it runs.
//!
//! Every kill here hits a worker at a point the test has proven it is at (blocked in its
//! initializer, stopped with `SIGSTOP`, or killed at birth by a fork handler), so the tests are
//! deterministic; every wait is bounded by `TIMEOUT`.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicU32, Ordering};

use integration_tests::gate::{self, Gate};
use integration_tests::pools::TestPool;
use integration_tests::reports::{Reports, report};
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::prelude::*;
use serde::{Deserialize, Serialize};

fn square(x: u64) -> u64 {
    x * x
}

fn squares(n: u64) -> Vec<u64> {
    (0..n).map(square).collect()
}

// ---------------------------------------------------------------------------------------------
// A pipe of pids: workers write their pid, the test reads them one by one (with a timeout).

/// The pids workers report (see [`Reports`]).
struct Pids(Reports);

impl Pids {
    fn new() -> Self {
        Self(Reports::new())
    }

    /// A copy of the write end, to give to a worker.
    fn writer(&self) -> Fd {
        self.0.writer()
    }

    /// The next pid written, or `None` after `TIMEOUT`.
    fn next(&self) -> Option<i32> {
        self.0.next().map(i32::from_le_bytes)
    }
}

/// Writes this process's pid to `pids` (4 bytes: one atomic pipe write).
fn say_pid(pids: &Fd) {
    let pid = i32::try_from(std::process::id()).expect("pid");
    report(pids, pid.to_le_bytes());
}

/// A pipe that releases every worker waiting on it at once, for good, when the test writes a
/// byte (nothing reads it). Unlike closing a pipe, this works even if a worker forked by
/// another test's pool holds a copy of the write end.
struct Release {
    read: OwnedFd,
    write: OwnedFd,
}

impl Release {
    fn new() -> Self {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        Self { read, write }
    }

    /// A copy of the read end, to give to a worker.
    fn waiter(&self) -> Fd {
        Fd::from(self.read.try_clone().expect("dup"))
    }

    fn release(&self) {
        let mut file = std::fs::File::from(self.write.try_clone().expect("dup"));
        file.write_all(b"r").expect("release write");
    }
}

/// Waits until the test releases `waiter` (or `TIMEOUT` passes).
fn wait_released(waiter: &Fd) {
    let mut fds = [nix::poll::PollFd::new(
        waiter.as_fd(),
        nix::poll::PollFlags::POLLIN,
    )];
    let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
    let _ = nix::poll::poll(&mut fds, ms);
}

/// Waits until process `pid` is stopped (state `T` in `/proc/<pid>/stat`): from then on it
/// runs no instruction and reads nothing. `false` after `TIMEOUT`.
fn wait_stopped(pid: i32) -> bool {
    let deadline = std::time::Instant::now() + TIMEOUT;
    while std::time::Instant::now() < deadline {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        if stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('T'))
        {
            return true;
        }
        std::thread::yield_now();
    }
    false
}

fn signal(pid: i32, signal: i32) {
    // SAFETY: sending a signal to a pid has no memory-safety preconditions.
    let sent = unsafe { libc::kill(pid, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

// ---------------------------------------------------------------------------------------------
// Workers killed before they are ready.

/// An initializer that says its worker's pid, then waits until the test lets it go: until then
/// its worker is provably not ready.
fn hold_in_init((pids, release): (Fd, Fd)) {
    say_pid(&pids);
    wait_released(&release);
}

/// Three workers killed with SIGKILL while they are provably not ready (held in an initializer that does
/// not fail) do not break the pool: they are replaced, and the pool runs tasks afterwards.
/// (It used to break for good with `InitializerFailed` after `max(3, processes)` of them.)
#[test]
fn workers_killed_before_ready_are_replaced_and_the_pool_works() {
    for method in METHODS {
        let pids = Pids::new();
        let release = Release::new();
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .initializer(hold_in_init, (pids.writer(), release.waiter()))
                .build()
                .unwrap(),
        );
        let mut killed = Vec::new();
        for _ in 0..3 {
            let pid = pids.next().expect("a worker in its initializer");
            signal(pid, libc::SIGKILL);
            killed.push(pid);
        }
        release.release(); // every worker held now, or started later, goes on
        assert_eq!(
            pool.map_chunked(square, 0..40, 1).unwrap(),
            squares(40),
            "{method:?}"
        );
        let ran_on: Vec<i32> = pool
            .map_chunked(|_: u8| i32::try_from(std::process::id()).unwrap(), 0..20, 1)
            .unwrap();
        assert!(
            ran_on.iter().all(|pid| !killed.contains(pid)),
            "{method:?}: a killed worker ran a task"
        );
    }
}

/// How many of the next forks of this process are killed at birth.
static KILL_AT_BIRTH: AtomicU32 = AtomicU32::new(0);

extern "C" fn after_fork_in_child() {
    // Reads the parent's count as it was at the fork (the parent decrements after).
    if KILL_AT_BIRTH.load(Ordering::SeqCst) > 0 {
        // SAFETY: raising a signal in this process touches no memory; async-signal-safe.
        unsafe { libc::raise(libc::SIGKILL) };
    }
}

extern "C" fn after_fork_in_parent() {
    let _ = KILL_AT_BIRTH.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
}

/// What a pool without an initializer did, in a process of its own, after its first `kills`
/// workers were killed at birth.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
enum BirthKills {
    /// The map's values; how many workers were killed.
    Values(Vec<u64>, u32),
    /// `PoolError::InitializerFailed` (although no initializer is set).
    InitializerFailed(String),
    /// `PoolError::WorkersDiedBeforeReady`; how many workers were started in all.
    DiedBeforeReady {
        in_a_row: u32,
        /// The signal that ended the last one, if a signal did.
        last_signal: Option<i32>,
        started: u32,
    },
    Other(String),
}

/// Runs in a process of its own (the fork handlers stay there): a pool of one worker, started
/// by `Fork`, whose first `kills` workers are killed with SIGKILL by a fork handler before they run any
/// code (so before they are ready), then a map.
fn pool_after_kills_at_birth(kills: u32) -> BirthKills {
    KILL_AT_BIRTH.store(kills, Ordering::SeqCst);
    // SAFETY: both handlers are `extern "C"` functions that only touch an atomic and raise a
    // signal (async-signal-safe); this process forks no other way while they are installed.
    let installed = unsafe {
        libc::pthread_atfork(None, Some(after_fork_in_parent), Some(after_fork_in_child))
    };
    assert_eq!(installed, 0);
    let pool = match Pool::builder()
        .processes(1)
        .start_method(StartMethod::Fork)
        .build()
    {
        Ok(pool) => TestPool::from(pool),
        Err(e) => return BirthKills::Other(format!("build: {e:?}")),
    };
    let result = pool.map_chunked(square, 0..20, 1);
    pool.terminate();
    let killed = kills - KILL_AT_BIRTH.load(Ordering::SeqCst);
    match result {
        Ok(values) => BirthKills::Values(values, killed),
        Err(TaskError::Pool(PoolError::InitializerFailed { message })) => {
            BirthKills::InitializerFailed(message)
        }
        Err(TaskError::Pool(PoolError::WorkersDiedBeforeReady { in_a_row, last })) => {
            BirthKills::DiedBeforeReady {
                in_a_row,
                last_signal: match last {
                    Some(ExitStatus::Signaled(s)) => Some(s),
                    _ => None,
                },
                started: killed,
            }
        }
        Err(other) => BirthKills::Other(format!("{other:?}")),
    }
}

fn run_isolated(kills: u32) -> BirthKills {
    let child = Process::new(pool_after_kills_at_birth, kills)
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap();
    procs::join(&child).unwrap()
}

/// A pool with no initializer whose first three workers are killed with SIGKILL before they are ready
/// replaces them and works. (It used to break with `InitializerFailed`, although it has no
/// initializer.)
#[test]
fn without_an_initializer_three_workers_killed_at_birth_leave_a_working_pool() {
    assert_eq!(
        run_isolated(3),
        BirthKills::Values(squares(20), 3),
        "the pool must survive three workers killed before they were ready"
    );
}

/// A pool with no initializer whose workers all die before they are ready stops replacing them
/// after a bounded number of restarts, with an error that says so (and not `InitializerFailed`).
#[test]
fn without_an_initializer_workers_that_always_die_early_give_a_typed_error() {
    match run_isolated(1000) {
        BirthKills::DiedBeforeReady {
            in_a_row,
            last_signal,
            started,
        } => {
            assert_eq!(last_signal, Some(libc::SIGKILL));
            assert!(in_a_row >= 3, "restarted before giving up: {in_a_row}");
            assert!(started <= 16, "bounded restarts: {started} workers started");
            assert!(started >= in_a_row);
        }
        other => panic!("{other:?}"),
    }
}

fn always_fails(attempts: Value<u32>) {
    attempts.fetch_add(1);
    panic!("no database");
}

/// A configured initializer that always fails breaks the pool with `InitializerFailed`
/// carrying its message, after a bounded number of restarts (not at its first failure, so an
/// initializer failing once does not end the pool; not never, as Python's pool does).
#[test]
fn an_initializer_that_always_fails_breaks_the_pool_after_bounded_restarts() {
    for method in METHODS {
        let attempts = Value::new(0u32).unwrap();
        let pool = TestPool::from(
            Pool::builder()
                .processes(1)
                .start_method(method)
                .initializer(always_fails, attempts.clone())
                .build()
                .unwrap(),
        );
        match pool.apply(square, 3) {
            Err(TaskError::Pool(PoolError::InitializerFailed { message })) => {
                assert!(message.contains("no database"), "{method:?}: {message}");
            }
            other => panic!("{method:?}: {other:?}"),
        }
        let attempts = attempts.get();
        assert!(
            (3..=16).contains(&attempts),
            "{method:?}: the initializer ran {attempts} times"
        );
        assert!(matches!(
            pool.apply(square, 3),
            Err(TaskError::Pool(PoolError::InitializerFailed { .. }))
        ));
    }
}

/// Fails on every other spawn: by crashing (abort), or by panicking, in turn.
fn fails_every_other_time(spawns: Value<u32>) {
    match spawns.fetch_add(1) % 4 {
        1 => std::process::abort(),
        3 => panic!("every other time"),
        _ => {}
    }
}

/// Issue #23: the pool breaks after a number of pre-ready failures *in a row*, not in total.
/// With one worker replaced after every task, every other new worker's initializer fails: many
/// failures in total, never two in a row, and the pool keeps working.
#[test]
fn initializer_failures_break_the_pool_only_in_a_row() {
    let spawns = Value::new(0u32).unwrap();
    let pool = TestPool::from(
        Pool::builder()
            .processes(1)
            .maxtasksperchild(1)
            .initializer(fails_every_other_time, spawns.clone())
            .build()
            .unwrap(),
    );
    assert_eq!(pool.map_chunked(square, 0..12, 1).unwrap(), squares(12));
    let spawns = spawns.get();
    assert!(
        spawns >= 23,
        "12 ready workers and a failed one between each two: {spawns} spawns"
    );
}

// ---------------------------------------------------------------------------------------------
// Chunks that never reached a worker.

/// The pids of both workers of a two-worker pool: two chunks that meet at a barrier cannot run
/// on the same worker. Both workers are then ready and idle.
fn both_workers(pool: &TestPool) -> [i32; 2] {
    let barrier = Barrier::new(2).unwrap();
    let meet = |b: Barrier| {
        b.wait_timeout(TIMEOUT)
            .expect("both workers at the barrier");
        i32::try_from(std::process::id()).unwrap()
    };
    let pids = pool
        .map_chunked(meet, [barrier.clone(), barrier], 1)
        .unwrap();
    assert_ne!(pids[0], pids[1]);
    [pids[0], pids[1]]
}

fn say_pid_and_square((x, pids): (u64, Fd)) -> u64 {
    say_pid(&pids);
    x * x
}

/// A chunk that a worker which dies never took (here: stopped, then killed, so it provably
/// takes nothing) runs on another worker and succeeds; it does not fail with `WorkerLost`,
/// since it never reached a worker.
#[test]
fn a_chunk_sent_to_a_worker_that_died_before_reading_it_runs_elsewhere() {
    for method in METHODS {
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .unwrap(),
        );
        let [stopped, running] = both_workers(&pool);
        signal(stopped, libc::SIGSTOP);
        assert!(wait_stopped(stopped), "{method:?}: the worker did not stop");
        // Two chunks for two idle workers: both are woken, only one can take a chunk.
        let pids = Pids::new();
        let job = pool
            .map_async(say_pid_and_square, [(3, pids.writer()), (4, pids.writer())])
            .chunksize(1)
            .run()
            .unwrap();
        // The running worker ran a chunk; the stopped one took none.
        assert_eq!(pids.next(), Some(running), "{method:?}");
        signal(stopped, libc::SIGKILL);
        assert_eq!(job.get_timeout(TIMEOUT).unwrap(), [9, 16], "{method:?}");
        assert!(procs::wait_for_exit(stopped, TIMEOUT));
        assert_eq!(pool.map(square, 0..30).unwrap(), squares(30), "{method:?}");
    }
}

/// Says its pid, then waits (at most `TIMEOUT`) to be killed.
fn held((pids, hold): (Fd, Gate)) -> u64 {
    say_pid(&pids);
    let _ = hold.wait(TIMEOUT);
    0
}

/// The other side of the previous test: a worker killed while it runs a task fails that task
/// with `WorkerLost` (its pid, SIGKILL), while a chunk queued unread behind it runs elsewhere.
#[test]
fn the_task_a_killed_worker_held_still_fails_with_worker_lost() {
    for method in METHODS {
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .unwrap(),
        );
        let [_, _] = both_workers(&pool);
        let pids = Pids::new();
        let (_hold, hold) = gate::gate();
        let doomed = pool.apply_async(held, (pids.writer(), hold)).unwrap();
        let victim = pids.next().expect("the held task's worker");
        // One chunk each: one queues behind the held task, unread; the other runs at once.
        let job = pool
            .map_async(say_pid_and_square, [(5, pids.writer()), (6, pids.writer())])
            .chunksize(1)
            .run()
            .unwrap();
        let other = pids.next().expect("the other worker ran its chunk");
        assert_ne!(other, victim);
        signal(victim, libc::SIGKILL);
        match doomed.get_timeout(TIMEOUT) {
            Err(TaskError::WorkerLost {
                pid, signal, code, ..
            }) => assert_eq!((pid, signal, code), (victim, Some(libc::SIGKILL), None)),
            other => panic!("{method:?}: {other:?}"),
        }
        assert_eq!(job.get_timeout(TIMEOUT).unwrap(), [25, 36], "{method:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Pulled, not pushed.

/// Chunk 0 waits until the last chunk has run; every chunk returns its worker's pid.
fn first_waits_for_last((i, event): (u32, Option<Event>)) -> u32 {
    match (i, event) {
        (0, Some(event)) => {
            let _ = event.wait_timeout(TIMEOUT);
        }
        (_, Some(event)) => event.set(),
        (_, None) => {}
    }
    std::process::id()
}

/// Issue #17: a worker holds only the chunk it runs; the others wait in the shared ring for
/// whichever worker is free. The worker holding chunk 0 is stuck on it until chunk 99 has run,
/// which only the other worker can do: so it runs chunk 0 alone, and the other worker all 99
/// others. (Pushed to workers in windows, chunks 1..27 used to wait behind chunk 0.)
#[test]
fn a_worker_stuck_on_a_chunk_holds_no_other() {
    const CHUNKS: u32 = 100;
    for method in METHODS {
        let pool = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .build()
                .unwrap(),
        );
        let event = Event::new().unwrap();
        let items = (0..CHUNKS).map(|i| {
            let event = (i == 0 || i == CHUNKS - 1).then(|| event.clone());
            (i, event)
        });
        let pids = pool.map_chunked(first_waits_for_last, items, 1).unwrap();
        let mut per_worker: BTreeMap<u32, u32> = BTreeMap::new();
        for &pid in &pids {
            *per_worker.entry(pid).or_default() += 1;
        }
        assert_eq!(
            per_worker[&pids[0]], 1,
            "{method:?}: the worker of chunk 0 ran other chunks: {per_worker:?}"
        );
        assert!(
            pids[1..].iter().all(|&p| p == pids[1]) && pids[1] != pids[0],
            "{method:?}: the other worker ran chunks 1..100"
        );
    }
}
