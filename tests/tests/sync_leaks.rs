//! No descriptor or mapping is left behind by the shared-memory objects. One test in its own
//! binary, so nothing else opens or maps concurrently while it counts.

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use integration_tests::TIMEOUT;
use integration_tests::sync_support::{LIMIT, mproc_mappings};
use mproc::prelude::*;

/// One of every kind of object.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct All {
    lock: Lock,
    rlock: RLock,
    sem: Semaphore,
    event: Event,
    cond: Condition,
    barrier: Barrier,
    value: Value<u64>,
    array: Array<u32>,
}

#[process]
fn use_all(all: All) -> u64 {
    let All {
        lock,
        rlock,
        sem,
        event,
        cond,
        barrier,
        value,
        array,
    } = all;
    drop(lock.lock_timeout(TIMEOUT).unwrap());
    drop(rlock.lock_timeout(TIMEOUT).unwrap());
    drop(sem.guard_timeout(TIMEOUT).unwrap());
    event.set();
    drop(cond.lock_timeout(TIMEOUT).unwrap());
    barrier.wait_timeout(LIMIT).unwrap();
    value.fetch_add(1) + u64::from(array.get(0).unwrap())
}

fn round(method: StartMethod) {
    let all = All {
        lock: Lock::new().unwrap(),
        rlock: RLock::new().unwrap(),
        sem: Semaphore::new(1).unwrap(),
        event: Event::new().unwrap(),
        cond: Condition::new().unwrap(),
        barrier: Barrier::new(2).unwrap(),
        value: Value::new(1u64).unwrap(),
        array: Array::from_slice(&[2u32, 3]).unwrap(),
    };
    let child = use_all::builder()
        .start_method(method)
        .spawn(all.clone())
        .unwrap();
    all.barrier.wait_timeout(LIMIT).unwrap();
    assert_eq!(child.join_timeout(LIMIT).unwrap(), 3);
    assert!(all.event.is_set());
    assert_eq!(all.value.get(), 2);
    // A failed creation leaves nothing either.
    assert!(Barrier::new(0).is_err());
}

#[test]
fn nothing_leaks() {
    // Warm up lazily created process-wide state (the child registry, cached identities).
    round(StartMethod::Fork);
    round(StartMethod::Spawn);
    let fds = mproc::diag::open_fd_count().unwrap();
    let maps = mproc_mappings();
    assert_eq!(maps, 0, "every object of the warm-up rounds is gone");
    for _ in 0..5 {
        round(StartMethod::Fork);
        round(StartMethod::Spawn);
    }
    assert_eq!(
        mproc::diag::open_fd_count().unwrap(),
        fds,
        "descriptors leaked"
    );
    assert_eq!(mproc_mappings(), 0, "mappings leaked");
}
