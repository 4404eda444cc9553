//! Issue #17: a result's callbacks have run when `get`/`wait` return for it (as `CPython`
//! guarantees), without holding up the other results; results are futures that any executor
//! can await, and `as_completed` yields many in the order they finish.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use std::future::Future;
use std::pin::pin;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use integration_tests::gate::{self, Gate, Passed};
use integration_tests::pools;
use integration_tests::{METHODS, TIMEOUT};
use mproc::pool::as_completed;
use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

fn fails(x: u64) -> u64 {
    panic!("no {x}")
}

/// Makes a callback take a while, so that a `get` that does not wait for it returns first
/// (this widens the window of the old race; it synchronizes nothing).
fn take_a_while() {
    std::thread::sleep(Duration::from_millis(100));
}

#[test]
fn get_and_wait_return_after_the_success_callback() {
    for method in METHODS {
        let pool = pools::pool(2, method);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let collected = Arc::clone(&seen);
        let result = pool.apply_async(square, 7).unwrap().on_success(move |v| {
            take_a_while();
            collected.lock().unwrap().push(v);
        });
        assert_eq!(result.get_timeout(TIMEOUT).unwrap(), 49);
        assert_eq!(
            *seen.lock().unwrap(),
            [49],
            "{method:?}: get returned first"
        );

        let collected = Arc::clone(&seen);
        let all = pool
            .map_async(square, 1..=3)
            .run()
            .unwrap()
            .on_success(move |v| {
                take_a_while();
                collected.lock().unwrap().extend(v);
            });
        assert!(all.wait_timeout(TIMEOUT));
        assert_eq!(
            *seen.lock().unwrap(),
            [49, 1, 4, 9],
            "{method:?}: wait returned first"
        );
    }
}

#[test]
fn get_and_wait_return_after_the_error_callback() {
    let pool = pools::pool(1, StartMethod::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&seen);
    let result = pool.apply_async(fails, 3).unwrap().on_error(move |e| {
        take_a_while();
        collected.lock().unwrap().push(e.to_string());
    });
    assert!(result.wait_timeout(TIMEOUT));
    let messages = seen.lock().unwrap().clone();
    assert!(
        matches!(&messages[..], [m] if m.contains("no 3")),
        "wait returned first: {messages:?}"
    );
    assert!(matches!(
        result.get_timeout(TIMEOUT),
        Err(TaskError::Panicked { .. })
    ));
}

/// A callback held up holds up only its own result: another result comes meanwhile.
#[test]
fn a_held_callback_holds_only_its_own_result() {
    let pool = pools::pool(2, StartMethod::default());
    let (release, held) = mpsc::channel::<()>();
    let slow = pool.apply_async(square, 2).unwrap().on_success(move |_| {
        let _ = held.recv_timeout(TIMEOUT);
    });
    let other = pool.apply_async(square, 3).unwrap();
    assert_eq!(other.get_timeout(TIMEOUT).unwrap(), 9);
    assert!(!slow.ready(), "its callback has not run");
    release.send(()).unwrap();
    assert_eq!(slow.get_timeout(TIMEOUT).unwrap(), 4);
}

/// Issue #22 item 7: firing and forgetting a callback is not an unused `must_use` value.
#[deny(unused_must_use)]
#[test]
fn a_fire_and_forget_callback_is_not_a_warning() {
    let pool = pools::pool(1, StartMethod::default());
    let (tell, told) = mpsc::channel();
    pool.apply_async(square, 5)
        .unwrap()
        .on_success(move |v| tell.send(v).unwrap());
    assert_eq!(told.recv_timeout(TIMEOUT).unwrap(), 25);
}

/// Wakes the thread that polls.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// A minimal executor: polls `future` on this thread, parking between polls, for at most
/// `TIMEOUT`. Shows that a result needs no runtime: only its waker.
fn block_on<F: Future>(future: F) -> Option<F::Output> {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return Some(value);
        }
        let left = deadline.checked_duration_since(Instant::now())?;
        std::thread::park_timeout(left);
    }
}

fn held(gate: Gate) -> bool {
    gate.wait(TIMEOUT) == Passed::Opened
}

#[test]
fn a_result_is_a_future_woken_by_the_pool() {
    let pool = pools::pool(2, StartMethod::default());
    let (release, gate) = gate::gate();
    let result = pool.apply_async(held, gate).unwrap();
    let opener = std::thread::spawn(move || release.open());
    assert!(block_on(result).expect("woken in time").unwrap());
    integration_tests::threads::join(opener).unwrap();
    let values = block_on(pool.map_async(square, 0..10).run().unwrap()).unwrap();
    assert_eq!(values.unwrap(), (0..10).map(square).collect::<Vec<_>>());
}

/// `as_completed` yields the results in the order they finish: the one held until the others
/// are in comes last.
#[test]
fn as_completed_yields_results_as_they_finish() {
    let pool = pools::pool(3, StartMethod::default());
    let (release, gate) = gate::gate();
    let mut results = vec![
        pool.apply_async(|g: Gate| u64::from(held(g)), gate)
            .unwrap(),
    ];
    results.extend((1..6).map(|x| pool.apply_async(square, x).unwrap()));
    let mut done = as_completed(results);
    let mut order = Vec::new();
    for _ in 1..6 {
        let (index, value) = done.next_timeout(TIMEOUT).unwrap().unwrap();
        assert_eq!(value.unwrap(), square(index as u64));
        order.push(index);
    }
    order.sort_unstable();
    assert_eq!(
        order,
        [1, 2, 3, 4, 5],
        "the held one is not among the first five"
    );
    assert_eq!(done.remaining(), 1);
    release.open();
    let (index, value) = done.next_timeout(TIMEOUT).unwrap().unwrap();
    assert_eq!((index, value.unwrap()), (0, 1));
    assert!(done.next_timeout(TIMEOUT).unwrap().is_none());
}
