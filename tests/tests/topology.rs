//! `process!` topologies at run time: queues close when their last writer ends (also when it
//! crashes or is killed from outside), daemons are stopped, results are typed per process,
//! and a topology never leaves a process behind.
//!
//! The start method is the default, or `MPROC_START_METHOD` (CI runs this file under each).

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use integration_tests::{TIMEOUT, procs};
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::topology::{TopologyError, process};
use mproc::{QueueReader, QueueWriter};

#[process]
fn produce(items: QueueWriter<u64>, first: u64, count: u64) -> u64 {
    for n in first..first + count {
        items.put(&n).unwrap();
    }
    count
}

/// Takes items until the queue is closed and drained: how many, and their sum.
#[process]
fn consume(items: QueueReader<u64>) -> (u64, u64) {
    let mut seen = (0, 0);
    loop {
        match items.get_timeout(TIMEOUT) {
            Ok(n) => seen = (seen.0 + 1, seen.1 + n),
            Err(QueueError::Closed) => return seen,
            Err(e) => panic!("get: {e}"),
        }
    }
}

#[test]
fn a_queue_closes_once_its_last_writer_has_ended() {
    let done = process! {
        queue items: Queue<u64>, bounded(100);
        producer[i]: produce(items.writer(), i as u64 * 1000, 1000) * 3;
        consumer: consume(items.reader()) * 2;
    }
    .start()
    .unwrap()
    .join_timeout(TIMEOUT)
    .unwrap();
    assert!(done.failures().is_empty(), "{:?}", done.failures());
    let produced: u64 = done.producer.into_iter().map(Result::unwrap).sum();
    let (count, sum) = done
        .consumer
        .into_iter()
        .map(Result::unwrap)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert_eq!((produced, count), (3000, 3000));
    assert_eq!(sum, (0..3000).sum::<u64>(), "every item exactly once");
}

/// Puts one item; replica 1 then kills itself with SIGKILL.
#[process]
fn put_then_maybe_die(items: QueueWriter<u64>, die: bool) -> u64 {
    items.put(&1).unwrap();
    if die {
        nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL).unwrap();
    }
    1
}

#[test]
fn a_writer_that_crashes_still_closes_its_queue() {
    let done = process! {
        queue items: Queue<u64>;
        producer[i]: put_then_maybe_die(items.writer(), i == 1) * 3;
        consumer: consume(items.reader());
    }
    .start()
    .unwrap()
    .join_timeout(TIMEOUT)
    .unwrap();
    let failures = done.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].process, failures[0].replica),
        ("producer", Some(1))
    );
    assert!(
        matches!(failures[0].error, ProcessError::Killed { signal: 9 }),
        "{:?}",
        failures[0].error
    );
    assert_eq!(
        done.consumer.unwrap(),
        (3, 3),
        "the dying one's item was put"
    );
}

/// Puts an item, says so, and never ends on its own.
#[process]
fn hang(items: QueueWriter<u64>, put: Event, go: Event) {
    items.put(&7).unwrap();
    put.set();
    let _ = go.wait_timeout(TIMEOUT);
}

#[test]
fn a_writer_killed_from_outside_closes_its_queue() {
    let (put, never) = (Event::new().unwrap(), Event::new().unwrap());
    let mut running = process! {
        queue items: Queue<u64>;
        stuck: hang(items.writer(), put.clone(), never.clone());
        consumer: consume(items.reader());
    }
    .start()
    .unwrap();
    assert!(put.wait_timeout(TIMEOUT).is_ok());
    let (name, stuck) = running.processes().remove(0);
    assert_eq!(name, "stuck");
    stuck.kill().unwrap();
    let done = running.join_timeout(TIMEOUT).unwrap();
    assert_eq!(done.consumer.unwrap(), (1, 7));
    assert!(matches!(
        done.stuck,
        Err(ProcessError::Killed { signal: 9 })
    ));
}

/// Sends its pid, then ends.
#[process]
fn end_early(pid: Sender<i32>) -> String {
    pid.send(&std::process::id().cast_signed()).unwrap();
    "ended on its own".to_owned()
}

/// Waits until the process whose pid arrives has exited, then ends.
#[process]
fn outlive(pid: Receiver<i32>) -> bool {
    let pid = pid.recv_timeout(TIMEOUT).unwrap();
    procs::wait_for_exit(pid, TIMEOUT)
}

#[process]
fn forever() {
    loop {
        std::thread::park();
    }
}

#[test]
fn daemons_still_running_at_the_end_are_stopped() {
    let done = process! {
        pipe(rx, tx): Pipe<i32>, simplex;
        early: end_early(tx), daemon;
        watcher: forever(), daemon;
        worker: outlive(rx);
    }
    .start()
    .unwrap()
    .join_timeout(TIMEOUT)
    .unwrap();
    assert!(
        done.failures().is_empty(),
        "a stopped daemon is not a failure"
    );
    assert!(done.worker.unwrap(), "the early daemon had exited");
    assert_eq!(
        done.early.map(Result::unwrap),
        Some("ended on its own".to_owned()),
        "a daemon that ended on its own has its result"
    );
    assert!(done.watcher.is_none(), "the other was stopped");
}

#[process]
fn wait_for(go: Event) -> bool {
    go.wait_timeout(TIMEOUT).is_ok()
}

#[test]
fn join_timeout_can_be_retried_and_join_happens_once() {
    let go = Event::new().unwrap();
    let mut running = process! {
        waiter: wait_for(go.clone());
    }
    .start()
    .unwrap();
    assert!(matches!(
        running.join_timeout(Duration::from_millis(20)),
        Err(TopologyError::Timeout)
    ));
    go.set();
    let done = running.join_timeout(TIMEOUT).unwrap();
    assert!(done.waiter.unwrap());
    assert!(matches!(
        running.join_timeout(TIMEOUT),
        Err(TopologyError::AlreadyJoined)
    ));
}

#[test]
fn dropping_a_running_topology_stops_its_processes() {
    let never = Event::new().unwrap();
    let running = process! {
        waiter: wait_for(never.clone()) * 2;
    }
    .start()
    .unwrap();
    let handles: Vec<_> = running.processes().into_iter().map(|(_, h)| h).collect();
    assert_eq!(handles.len(), 2);
    assert!(handles.iter().all(ProcessHandle::is_alive));
    drop(running);
    for h in &handles {
        assert!(!h.is_alive(), "stopped and reaped");
        assert!(h.exit_status().unwrap().is_some());
    }
}

/// Sends its pid, then waits for `go`.
#[process]
fn report_and_wait(pid: Sender<i32>, go: Event) -> bool {
    pid.send(&std::process::id().cast_signed()).unwrap();
    go.wait_timeout(TIMEOUT).is_ok()
}

#[test]
fn a_replica_count_of_zero_at_run_time_is_an_error_and_leaves_nothing() {
    let never = Event::new().unwrap();
    let none = std::hint::black_box(0);
    let (pid_rx, pid_tx) = Pipe::<i32>::simplex().unwrap();
    let started = process! {
        first: report_and_wait(pid_tx, never.clone());
        nobody: wait_for(never.clone()) * none;
    }
    .start();
    assert!(matches!(
        started,
        Err(TopologyError::NoReplicas { process: "nobody" })
    ));
    // `first` was stopped and reaped: its end of the pipe is closed (maybe after its pid).
    loop {
        match pid_rx.recv_timeout(TIMEOUT) {
            Ok(pid) => assert!(!procs::is_running(pid), "`first` was stopped"),
            Err(PipeError::Eof) => break,
            Err(e) => panic!("{e}"),
        }
    }
}

/// Answers each number with its double, as text, until the client's end closes.
#[process]
fn serve(conn: Connection<String, u64>) -> u32 {
    let mut served = 0;
    while let Ok(request) = conn.recv_timeout(TIMEOUT) {
        conn.send(&(request * 2).to_string()).unwrap();
        served += 1;
    }
    served
}

#[process]
fn ask(conn: Connection<u64, String>) -> Vec<u64> {
    (1..=3)
        .map(|n| {
            conn.send(&n).unwrap();
            conn.recv_timeout(TIMEOUT).unwrap().parse().unwrap()
        })
        .collect()
}

#[test]
fn request_and_response_over_a_pipe() {
    let done = process! {
        pipe(client_end, server_end): Pipe<u64, String>;
        server: serve(server_end);
        client: ask(client_end);
    }
    .start()
    .unwrap()
    .join_timeout(TIMEOUT);
    // Pipe<S, R>: the first end sends S (u64) and receives R (String).
    let done = done.unwrap();
    assert_eq!(done.client.unwrap(), [2, 4, 6]);
    assert_eq!(done.server.unwrap(), 3);
}
