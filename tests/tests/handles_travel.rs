//! Handles travel to processes that are already running (issues 4 and 6): a `Lock` and a
//! `Value` created after a child started reach it through a pipe and are the same objects
//! there; an `Event` sent through a pipe wakes a running child; a `Lock` and a `Value` created
//! after a pool started are task arguments. Python needs a Manager for all of these. Each test
//! runs under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets and tasks take their arguments by value: they arrive deserialized"
)]

use std::sync::mpsc;

use integration_tests::sync_support::wait_parked;
use integration_tests::{METHODS, TIMEOUT, pools, procs};
use mproc::prelude::*;
use serde::{Deserialize, Serialize};

/// What the parent sends to the running child.
#[derive(Debug, Serialize, Deserialize)]
enum ToChild {
    /// The handles, created after the child started.
    Handles { lock: Lock, value: Value<u64> },
    /// A thread of the parent is now blocked on the lock the child holds.
    ParentWaiting,
    /// Start counting (the parent counts at the same time).
    Count,
}

/// What the child reports.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
enum FromChild {
    /// `try_acquire` found the lock held (by the parent).
    SawHeld,
    /// The child now holds the lock.
    Holding,
}

/// The value the child writes while the parent waits for the lock.
const WRITTEN_WHILE_HELD: u64 = 1_000;
/// Locked read-then-write increments made by each side at the same time.
const INCREMENTS: u64 = 2_000;

/// `INCREMENTS` increments of `value` as a separate read and write: exact only if `lock`
/// excludes the other side.
fn count_under(lock: &Lock, value: &Value<u64>) -> Result<(), String> {
    for _ in 0..INCREMENTS {
        lock.acquire_timeout(TIMEOUT).map_err(|e| e.to_string())?;
        let seen = value.get();
        value.set(seen + 1);
        lock.release().map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The child: started with only a pipe; the lock and the value arrive later.
#[process]
fn receive_and_share(conn: Connection<FromChild, ToChild>) -> Result<(), String> {
    let fail = |e: PipeError| e.to_string();
    let ToChild::Handles { lock, value } = conn.recv_timeout(TIMEOUT).map_err(fail)? else {
        return Err("expected the handles first".into());
    };
    // The parent holds the lock: the received handle sees it held.
    if lock.try_acquire() != Err(LockError::WouldBlock) {
        return Err("the received lock was not held by the parent".into());
    }
    conn.send(&FromChild::SawHeld).map_err(fail)?;
    lock.acquire_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    conn.send(&FromChild::Holding).map_err(fail)?;
    expect(&conn, &ToChild::ParentWaiting)?;
    // The parent is blocked on the lock: this write happens while it waits.
    value.set(WRITTEN_WHILE_HELD);
    lock.release().map_err(|e| e.to_string())?;
    expect(&conn, &ToChild::Count)?;
    count_under(&lock, &value)
}

/// Receives the next message, which must be `what`.
fn expect(conn: &Connection<FromChild, ToChild>, what: &ToChild) -> Result<(), String> {
    let got = conn.recv_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    if std::mem::discriminant(&got) == std::mem::discriminant(what) {
        Ok(())
    } else {
        Err(format!("expected {what:?}, got {got:?}"))
    }
}

/// This thread's kernel id (a `/proc/<tid>` entry of this process).
fn thread_id() -> i32 {
    nix::unistd::gettid().as_raw()
}

#[test]
fn a_lock_and_a_value_sent_to_a_running_child_are_shared() {
    for method in METHODS {
        let (parent, child_end) = Pipe::<ToChild, FromChild>::new().unwrap();
        let child = receive_and_share::builder()
            .start_method(method)
            .spawn(child_end)
            .unwrap();
        // Created after the child started: they can only reach it through the pipe.
        let (lock, value) = (Lock::new().unwrap(), Value::new(0u64).unwrap());
        lock.acquire_timeout(TIMEOUT).unwrap();
        parent
            .send(&ToChild::Handles {
                lock: lock.clone(),
                value: value.clone(),
            })
            .unwrap();
        assert_eq!(parent.recv_timeout(TIMEOUT).unwrap(), FromChild::SawHeld);
        lock.release().unwrap();
        assert_eq!(parent.recv_timeout(TIMEOUT).unwrap(), FromChild::Holding);
        assert_eq!(lock.try_acquire(), Err(LockError::WouldBlock), "{method:?}");

        // A thread of ours waits for the lock while the child holds it; once it is parked, the
        // child writes the value and releases. The waiter must get the lock only then, and see
        // the write.
        let (tid_tx, tid_rx) = mpsc::channel();
        let waiter = {
            let (lock, value) = (lock.clone(), value.clone());
            std::thread::spawn(move || {
                tid_tx.send(thread_id()).unwrap();
                let taken = lock.acquire_timeout(TIMEOUT);
                let seen = value.get();
                if taken.is_ok() {
                    lock.release().unwrap();
                }
                (taken, seen)
            })
        };
        wait_parked(tid_rx.recv_timeout(TIMEOUT).unwrap());
        parent.send(&ToChild::ParentWaiting).unwrap();
        let (taken, seen) = integration_tests::threads::join(waiter).unwrap();
        assert_eq!(taken, Ok(mproc::Acquired::Clean), "{method:?}");
        assert_eq!(
            seen, WRITTEN_WHILE_HELD,
            "{method:?}: the waiter got in early"
        );

        // Both sides now increment at once, each as a read and a separate write.
        parent.send(&ToChild::Count).unwrap();
        count_under(&lock, &value).unwrap();
        procs::join(&child).unwrap().unwrap();
        assert_eq!(
            value.get(),
            WRITTEN_WHILE_HELD + 2 * INCREMENTS,
            "{method:?}"
        );
        assert!(!lock.is_locked());
    }
}

/// Receives an event, says so, and waits for it; returns whether it was set (rather than
/// timed out).
#[process]
fn wait_for_sent_event(conn: Connection<(), Event>) -> Result<bool, String> {
    let event = conn.recv_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    conn.send(&()).map_err(|e| e.to_string())?;
    Ok(event.wait_timeout(TIMEOUT).is_ok())
}

#[test]
fn an_event_sent_through_a_pipe_wakes_a_running_child() {
    for method in METHODS {
        let (parent, child_end) = Pipe::<Event, ()>::new().unwrap();
        let child = wait_for_sent_event::builder()
            .start_method(method)
            .spawn(child_end)
            .unwrap();
        let event = Event::new().unwrap();
        parent.send(&event).unwrap();
        parent.recv_timeout(TIMEOUT).unwrap();
        // Set it only once the child sleeps on it, so the set is what wakes it.
        wait_parked(child.pid());
        assert!(!event.is_set() && child.is_alive());
        event.set();
        assert_eq!(procs::join(&child).unwrap(), Ok(true), "{method:?}");
    }
}

/// `times` locked read-then-write increments; returns the worker's pid.
#[pool_task]
fn add_under_lock(lock: Lock, value: Value<u64>, times: u64) -> Result<u32, String> {
    for _ in 0..times {
        let held = lock.lock_timeout(TIMEOUT).map_err(|e| e.to_string())?;
        value.set(value.get() + 1);
        drop(held);
    }
    Ok(std::process::id())
}

#[test]
fn a_lock_and_a_value_created_after_the_pool_started_are_task_arguments() {
    const TASKS: u64 = 40;
    const TIMES: u64 = 250;
    for method in METHODS {
        let pool = pools::pool(2, method);
        let workers = procs::children_of_self();
        let (lock, value) = (Lock::new().unwrap(), Value::new(0u64).unwrap());
        let tasks = (0..TASKS).map(|_| (lock.clone(), value.clone(), TIMES));
        let pids = pool.map_chunked(add_under_lock, tasks, 1).unwrap();
        for pid in pids {
            let pid = pid.unwrap();
            assert!(
                workers.contains(&pid.cast_signed()),
                "{method:?}: task ran in {pid}, not a worker started before the handles"
            );
        }
        assert_eq!(value.get(), TASKS * TIMES, "{method:?}");
        assert!(!lock.is_locked());
        // One more, as a single `apply`: the handles still travel.
        let pid = pool.apply(add_under_lock, (lock.clone(), value.clone(), 1));
        assert!(pid.unwrap().is_ok());
        assert_eq!(value.get(), TASKS * TIMES + 1, "{method:?}");
        drop(pool);
    }
}
