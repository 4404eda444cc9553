//! The pool's bookkeeping when workers die early (issue #15, finding 9): a chunk that never
//! reached a worker runs elsewhere instead of failing with `WorkerLost`, while the chunk a
//! killed worker held still fails with it.
//!
//! Every kill here hits a worker at a point the test has proven it is at (stopped with
//! `SIGSTOP`, or blocked in a task), so the tests are deterministic; every wait is bounded by
//! `TIMEOUT`.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use integration_tests::gate::{self, Gate};
use integration_tests::pools::TestPool;
use integration_tests::{METHODS, TIMEOUT, procs};
use mproc::codec::Fd;
use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

fn squares(n: u64) -> Vec<u64> {
    (0..n).map(square).collect()
}

// ---------------------------------------------------------------------------------------------
// A pipe of pids: workers write their pid, the test reads them one by one (with a timeout).

/// A pipe whose write end travels to workers (one copy each) and whose read end stays here.
struct Pids {
    read: OwnedFd,
    write: OwnedFd,
}

impl Pids {
    fn new() -> Self {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).expect("pipe2");
        Self { read, write }
    }

    /// A copy of the write end, to give to a worker.
    fn writer(&self) -> Fd {
        Fd::from(self.write.try_clone().expect("dup"))
    }

    /// The next pid written, or `None` after `TIMEOUT`.
    fn next(&self) -> Option<i32> {
        let mut fds = [nix::poll::PollFd::new(
            self.read.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let ms = u16::try_from(TIMEOUT.as_millis()).unwrap_or(u16::MAX);
        if nix::poll::poll(&mut fds, ms).expect("poll") == 0 {
            return None;
        }
        let mut buf = [0u8; 4];
        let mut file = std::fs::File::from(self.read.try_clone().expect("dup"));
        file.read_exact(&mut buf).ok()?;
        Some(i32::from_le_bytes(buf))
    }
}

/// Writes this process's pid to `pids` (4 bytes: one atomic pipe write).
fn say_pid(pids: &Fd) {
    let mut file = std::fs::File::from(pids.as_fd().try_clone_to_owned().expect("dup"));
    let pid = i32::try_from(std::process::id()).expect("pid");
    file.write_all(&pid.to_le_bytes()).expect("pid write");
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

/// A chunk handed to a worker that dies before reading it (here: stopped, then killed, so the
/// chunk provably sits unread in its socket) runs on another worker and succeeds; it does not
/// fail with `WorkerLost`, since it never reached a worker.
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
        // Two chunks for two idle workers: the pool's thread gives one to each, in one pass.
        let pids = Pids::new();
        let job = pool
            .map_async_chunked(
                say_pid_and_square,
                [(3, pids.writer()), (4, pids.writer())],
                1,
            )
            .unwrap();
        // The running worker ran its chunk: the pass is over, the other chunk is in the
        // stopped worker's socket, unread.
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
            .map_async_chunked(
                say_pid_and_square,
                [(5, pids.writer()), (6, pids.writer())],
                1,
            )
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
