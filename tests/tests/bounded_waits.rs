//! The `try_` and `_timeout` forms give up: each is called in a child that the test joins
//! within [`TIMEOUT`](integration_tests::TIMEOUT), so a wait that never ends fails this test
//! (the child is killed) instead of hanging the binary.
//!
//! The other test files call these forms in the test's own thread, where such a bug hangs the
//! whole run; this file's name sorts first, so `cargo test` reports the failure here and stops
//! before reaching them (issue 23: a mutant must be caught by a failing test, not by a hang).

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use integration_tests::TIMEOUT;
use integration_tests::procs::join;
use integration_tests::sync_support::wait_parked;
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;
use mproc::{
    BarrierError, ExitStatus, LockError, PipeError, QueueError, SemaphoreError, TryLockError,
};

const SHORT: Duration = Duration::from_millis(30);

type Tries = [Result<Acquired, LockError>; 3];

/// Every give-up form on a lock another process holds (the guard forms as booleans: a guard
/// does not travel).
#[process]
fn give_up_on_a_held_lock(lock: Lock) -> (Tries, bool, bool) {
    let tries = [
        lock.try_acquire(),
        lock.acquire_timeout(Duration::ZERO),
        lock.acquire_timeout(SHORT),
    ];
    let try_lock = matches!(lock.try_lock(), Err(TryLockError::WouldBlock));
    let lock_timeout = matches!(lock.lock_timeout(SHORT), Err(TryLockError::Timeout));
    (tries, try_lock, lock_timeout)
}

#[test]
fn a_held_lock_is_given_up_on_by_the_try_and_timeout_forms() {
    let lock = Lock::new().unwrap();
    lock.try_acquire().unwrap();
    let child = give_up_on_a_held_lock::builder()
        .daemon(true)
        .spawn(lock.clone())
        .unwrap();
    let timeout = Err(LockError::Timeout);
    assert_eq!(
        join(&child).unwrap(),
        (
            [Err(LockError::WouldBlock), timeout.clone(), timeout],
            true,
            true
        )
    );
    lock.release().unwrap();
}

/// Takes `lock`, says so, and waits to be killed.
#[process]
fn hold_and_hang(lock: Lock, held: Event) {
    lock.acquire_timeout(TIMEOUT).unwrap();
    held.set();
    let _ = Event::new().unwrap().wait_timeout(TIMEOUT);
}

#[process]
fn acquire_without_a_deadline(lock: Lock) -> Result<Acquired, LockError> {
    let acquired = lock.acquire();
    let _ = lock.release();
    acquired
}

/// A wait without a deadline checks for a dead holder too (not only a timed one when it
/// gives up): the blocking `acquire` takes the lock over.
#[test]
fn a_blocking_acquire_takes_over_from_a_killed_holder() {
    let (lock, held) = (Lock::new().unwrap(), Event::new().unwrap());
    let holder = hold_and_hang::builder()
        .daemon(true)
        .spawn(lock.clone(), held.clone())
        .unwrap();
    held.wait_timeout(TIMEOUT).unwrap();
    let pid = holder.pid();
    holder.kill().unwrap();
    holder.handle().wait_timeout(TIMEOUT).unwrap();
    let waiter = acquire_without_a_deadline::builder()
        .daemon(true)
        .spawn(lock.clone())
        .unwrap();
    assert_eq!(join(&waiter).unwrap(), Ok(Acquired::OwnerDied { pid }));
    assert!(!lock.is_locked());
}

type SemTries = [Result<(), SemaphoreError>; 3];

/// Every give-up form on a semaphore without permits.
#[process]
fn give_up_on_an_empty_semaphore(sem: Semaphore) -> SemTries {
    [
        sem.try_acquire(),
        sem.acquire_timeout(Duration::ZERO),
        sem.acquire_timeout(SHORT),
    ]
}

#[process]
fn acquire_a_permit(sem: Semaphore) -> Result<(), SemaphoreError> {
    sem.acquire()
}

#[test]
fn an_empty_semaphore_is_given_up_on_and_a_parked_taker_gets_a_release() {
    let sem = Semaphore::new(0).unwrap();
    sem.release().unwrap();
    assert_eq!(sem.value(), 1, "a release adds a permit");
    assert_eq!(sem.try_acquire(), Ok(()), "a permit is there to take");
    let child = give_up_on_an_empty_semaphore::builder()
        .daemon(true)
        .spawn(sem.clone())
        .unwrap();
    let timeout = Err(SemaphoreError::Timeout);
    assert_eq!(
        join(&child).unwrap(),
        [Err(SemaphoreError::WouldBlock), timeout.clone(), timeout]
    );
    let taker = acquire_a_permit::builder()
        .daemon(true)
        .spawn(sem.clone())
        .unwrap();
    wait_parked(taker.pid());
    sem.release().unwrap();
    assert_eq!(join(&taker).unwrap(), Ok(()));
    assert_eq!(sem.value(), 0, "the parked taker took the permit");
}

/// Two rounds at `b` without a deadline.
#[process]
fn two_rounds(b: Barrier) -> [Result<u32, BarrierError>; 2] {
    [b.wait(), b.wait()]
}

#[process]
fn wait_alone(b: Barrier) -> Result<u32, BarrierError> {
    b.wait_timeout(SHORT)
}

/// Finds `b` broken, resets it, and says whether it is still broken.
#[process]
fn find_broken_and_reset(b: Barrier) -> (Result<u32, BarrierError>, bool) {
    let found = b.wait_timeout(SHORT);
    b.reset();
    (found, b.is_broken())
}

/// Everything that takes the barrier's internal lock runs in children: a lock never released
/// would otherwise hang this process.
#[test]
fn barrier_parties_pass_two_rounds_and_a_lone_party_gives_up() {
    let b = Barrier::new(3).unwrap();
    let parties: Vec<_> = (0..3)
        .map(|_| two_rounds::builder().daemon(true).spawn(b.clone()).unwrap())
        .collect();
    let mut rounds = [vec![], vec![]];
    for party in &parties {
        for (round, index) in rounds.iter_mut().zip(join(party).unwrap()) {
            round.push(index.unwrap());
        }
    }
    for mut round in rounds {
        round.sort_unstable();
        assert_eq!(round, [0, 1, 2], "one distinct index per party and round");
    }
    assert_eq!(b.n_waiting(), 0);

    let b = Barrier::new(2).unwrap();
    let lone = wait_alone::builder().daemon(true).spawn(b.clone()).unwrap();
    assert_eq!(join(&lone).unwrap(), Err(BarrierError::Timeout));
    assert!(b.is_broken(), "a timeout breaks the barrier");
    let next = find_broken_and_reset::builder()
        .daemon(true)
        .spawn(b.clone())
        .unwrap();
    assert_eq!(join(&next).unwrap(), (Err(BarrierError::Broken), false));
    assert!(!b.is_broken());
}

/// Waits (bounded) for an event nobody sets: ends early only by a signal.
#[process]
fn park_until_signalled(never: Event) -> bool {
    never.wait_timeout(TIMEOUT).is_ok()
}

/// `kill` and `terminate` end a child by their signals; its handle then reports it ended.
/// (A signal that is not sent would leave the child waiting out its bound: this test fails.)
#[test]
fn kill_and_terminate_end_a_child_by_their_signals() {
    let never = Event::new().unwrap();
    for (name, signal) in [("kill", libc::SIGKILL), ("terminate", libc::SIGTERM)] {
        let child = park_until_signalled::builder()
            .daemon(true)
            .spawn(never.clone())
            .unwrap();
        let handle = child.handle();
        assert!(handle.daemon());
        if signal == libc::SIGKILL {
            handle.kill().unwrap();
        } else {
            handle.terminate().unwrap();
        }
        let status = handle.wait_timeout(TIMEOUT).unwrap();
        assert_eq!(status, ExitStatus::Signaled(signal), "{name}");
        assert!(!handle.is_alive(), "{name}");
        assert_eq!(handle.exit_status().unwrap(), Some(status), "{name}");
    }
}

/// The timed receives on an empty pipe and an empty queue, and a bounded poll.
#[process]
fn give_up_on_an_empty_pipe_and_queue((rx, q): (Receiver<u32>, Queue<u32>)) -> [bool; 4] {
    [
        matches!(rx.recv_timeout(SHORT), Err(PipeError::Timeout)),
        matches!(rx.poll(Some(SHORT)), Ok(false)),
        matches!(q.get_timeout(SHORT), Err(QueueError::Empty)),
        matches!(q.try_get(), Err(QueueError::Empty)),
    ]
}

#[test]
fn an_empty_pipe_and_an_empty_queue_are_given_up_on() {
    let (rx, tx): (Receiver<u32>, Sender<u32>) = Pipe::simplex().unwrap();
    let q = Queue::new().unwrap();
    let child = give_up_on_an_empty_pipe_and_queue::builder()
        .daemon(true)
        .spawn((rx, q.clone()))
        .unwrap();
    assert_eq!(join(&child).unwrap(), [true; 4]);
    drop(tx);
}

fn square(x: u64) -> u64 {
    x * x
}

/// A pool's results come back, through `map` and `apply` (each bounded by
/// `TIMEOUT`; the test pool terminates its workers when dropped).
#[test]
fn a_pools_results_come_back() {
    let p = integration_tests::pools::pool(2, StartMethod::Fork);
    let expected: Vec<u64> = (0..100).map(square).collect();
    assert_eq!(p.map(square, 0..100).unwrap(), expected);
    assert_eq!(p.apply(square, 12).unwrap(), 144);
}

/// Items through a small unbounded queue: more than its ring holds (the rest in its
/// overflow) and one larger than half the ring, all back in order; and a queue of at most two
/// items refuses a third.
#[process]
fn items_round_trip(small: Queue<Vec<u8>>) -> bool {
    let items: Vec<Vec<u8>> = (0..40u8)
        .map(|i| vec![i; 200])
        .chain([vec![7; 3000]])
        .collect();
    let put = items
        .iter()
        .all(|item| small.put_timeout(item, SHORT).is_ok());
    let back: Vec<Vec<u8>> = (0..items.len())
        .map_while(|_| small.get_timeout(SHORT).ok())
        .collect();
    let two = Queue::<u8>::builder().maxsize(2).build().unwrap();
    let bounded = two.put_timeout(&1, SHORT).is_ok()
        && two.put_timeout(&2, SHORT).is_ok()
        && matches!(two.put_timeout(&3, SHORT), Err(QueueError::Full))
        && two.get_timeout(SHORT).ok() == Some(1);
    put && back == items && bounded
}

#[process]
fn put_into_a_full_ring((q, item): (Queue<Vec<u8>>, Vec<u8>)) -> String {
    format!("{:?}", q.put_timeout(&item, TIMEOUT))
}

#[test]
fn queue_items_round_trip_and_a_producer_waiting_for_room_gets_it() {
    let small = Queue::builder().ring_bytes(4096).build().unwrap();
    let child = items_round_trip::builder()
        .daemon(true)
        .spawn(small)
        .unwrap();
    assert!(join(&child).unwrap());

    // A bounded queue whose ring (4 KiB) is full of bytes long before it holds `maxsize` items:
    // the next put waits for room, and gets it when an item is taken.
    let q = Queue::<Vec<u8>>::builder()
        .ring_bytes(4096)
        .maxsize(100)
        .build()
        .unwrap();
    let mut held = 0;
    while q.try_put(&vec![1; 1000]).is_ok() {
        held += 1;
        assert!(held < 100, "the ring never filled");
    }
    let producer = put_into_a_full_ring::builder()
        .daemon(true)
        .spawn((q.clone(), vec![2; 1000]))
        .unwrap();
    wait_parked(producer.pid());
    assert_eq!(q.get_timeout(TIMEOUT).unwrap(), vec![1; 1000]);
    assert_eq!(join(&producer).unwrap(), "Ok(())");
    assert_eq!(q.qsize(), held);
}

/// A thread waiting for a result whose callback is still running is woken when the callback
/// ends. The callback holds on until the waiter sleeps (the job is finished by then, so that
/// sleep can end only by the callback's wake-up). The waiter waits without a deadline, in a
/// thread of its own: this test's wait for it is the bounded one.
#[test]
fn a_waiter_is_woken_when_the_results_callback_ends() {
    let p = integration_tests::pools::pool(1, StartMethod::Fork);
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let result = p.apply_async(square, 7).unwrap().on_success(move |_| {
        started_tx.send(()).unwrap();
        let _ = release_rx.recv_timeout(TIMEOUT);
    });
    started_rx.recv_timeout(TIMEOUT).unwrap();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    let (got_tx, got_rx) = std::sync::mpsc::channel();
    // Not joined: should the wake-up be lost, this thread never returns (the test fails below).
    std::thread::spawn(move || {
        tid_tx.send(nix::unistd::gettid().as_raw()).unwrap();
        let _ = got_tx.send(result.get());
    });
    wait_parked(tid_rx.recv_timeout(TIMEOUT).unwrap());
    release_tx.send(()).unwrap();
    assert_eq!(got_rx.recv_timeout(TIMEOUT).unwrap().unwrap(), 49);
}
