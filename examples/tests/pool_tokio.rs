//! Pool results awaited under tokio (issue #17): each wait is bounded by tokio's own timer.

use std::time::Duration;

use mproc::pool::as_completed;
use mproc::{Pool, TaskError};

const TIMEOUT: Duration = Duration::from_secs(30);

fn square(x: u64) -> u64 {
    x * x
}

fn panics(_: u64) -> u64 {
    panic!("no")
}

#[tokio::test(flavor = "current_thread")]
async fn results_are_awaited_under_tokio() {
    let pool = Pool::new(2).unwrap();
    let value = tokio::time::timeout(TIMEOUT, pool.apply_async(square, 9).unwrap())
        .await
        .expect("in time");
    assert_eq!(value.unwrap(), 81);
    let all = tokio::time::timeout(TIMEOUT, pool.map_async(square, 0..50).run().unwrap())
        .await
        .expect("in time")
        .unwrap();
    assert_eq!(all, (0..50).map(square).collect::<Vec<_>>());
    let failed = tokio::time::timeout(TIMEOUT, pool.apply_async(panics, 1).unwrap())
        .await
        .expect("in time");
    assert!(matches!(failed, Err(TaskError::Panicked { .. })));
    pool.terminate();
}

/// Many futures at once on one thread: they all complete (each woken by the pool's thread).
#[tokio::test(flavor = "current_thread")]
async fn many_results_are_awaited_concurrently() {
    let pool = Pool::new(2).unwrap();
    let results: Vec<_> = (0..20)
        .map(|x| pool.apply_async(square, x).unwrap())
        .collect();
    let mut handles = Vec::new();
    for result in results {
        handles.push(tokio::spawn(tokio::time::timeout(TIMEOUT, result)));
    }
    for (x, handle) in (0..).zip(handles) {
        let value = handle.await.unwrap().expect("in time").unwrap();
        assert_eq!(value, square(x));
    }
    // And without a runtime: `as_completed`.
    let results = (0..5).map(|x| pool.apply_async(square, x).unwrap());
    let mut done = as_completed(results);
    let mut seen = Vec::new();
    while let Some((index, value)) = done.next_timeout(TIMEOUT).unwrap() {
        assert_eq!(value.unwrap(), square(index as u64));
        seen.push(index);
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 1, 2, 3, 4]);
    pool.terminate();
}
