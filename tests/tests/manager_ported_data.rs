//! The Manager tests of `CPython`, ported in our own words (continued from
//! `manager_ported.rs`): the `ManagerMixin` run of `_TestQueue`, the container tests
//! (`_TestContainers`: list, dict, namespace, value, proxies nested in proxies),
//! `_TestRemoteManager`, `_TestManagerRestart`/`test_rapid_restart`, and errors raised by
//! proxied calls (`TestManagerExceptions`). Source: `Lib/test/_test_multiprocessing.py`.
//!
//! Where Python sleeps to let a wrong wake-up happen, these tests look right away (a correct
//! manager never wakes it, so the check cannot fail spuriously); every wait is bounded.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::thread;
use std::time::Duration;

use integration_tests::TIMEOUT;
use integration_tests::threads;
use mproc::manager::{
    DictProxy, ListProxy, Manager, ManagerError, QueueProxy, RemoteError, Server,
};
use mproc::prelude::*;

const SHORT: Duration = Duration::from_millis(100);

fn is_remote(result: Result<impl std::fmt::Debug, ManagerError>, expected: &RemoteError) -> bool {
    matches!(result, Err(ManagerError::Remote(ref e)) if e == expected)
}

// ---- _TestQueue ------------------------------------------------------------------------

fn take_all((queue, n): (QueueProxy<u32>, u32)) -> Result<Vec<u32>, String> {
    (0..n)
        .map(|_| queue.get_timeout(TIMEOUT).map_err(|e| e.to_string()))
        .collect()
}

#[test]
fn queue_put_until_full_then_a_child_drains_it() {
    let manager = Manager::start().unwrap();
    let queue = manager.bounded_queue::<u32>(6).unwrap();
    assert!(queue.is_empty().unwrap());
    for i in 1..=6 {
        queue.put(&i).unwrap();
        assert_eq!(queue.qsize().unwrap(), i as usize);
    }
    assert!(queue.is_full().unwrap());
    assert!(matches!(queue.try_put(&7), Err(ManagerError::Full)));
    assert!(matches!(
        queue.put_timeout(&7, SHORT),
        Err(ManagerError::Full)
    ));
    let child = Process::new(take_all, (queue.clone(), 6)).start().unwrap();
    assert_eq!(
        child.join_timeout(TIMEOUT).unwrap(),
        Ok(vec![1, 2, 3, 4, 5, 6])
    );
    assert!(queue.is_empty().unwrap());
    manager.shutdown().unwrap();
}

fn give((queue, items): (QueueProxy<u32>, Vec<u32>)) -> Result<(), String> {
    items
        .iter()
        .try_for_each(|i| queue.put(i).map_err(|e| e.to_string()))
}

#[test]
fn queue_get_from_a_child_in_order_then_empty() {
    let manager = Manager::start().unwrap();
    let queue = manager.queue::<u32>().unwrap();
    assert!(matches!(queue.try_get(), Err(ManagerError::Empty)));
    let child = Process::new(give, (queue.clone(), vec![1, 2, 3, 4]))
        .start()
        .unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(()));
    assert_eq!(queue.qsize().unwrap(), 4);
    assert_eq!(queue.get_timeout(TIMEOUT).unwrap(), 1);
    assert_eq!(queue.try_get().unwrap(), 2);
    assert_eq!(queue.get_timeout(TIMEOUT).unwrap(), 3);
    assert_eq!(queue.get_timeout(SHORT).unwrap(), 4);
    assert!(matches!(queue.get_timeout(SHORT), Err(ManagerError::Empty)));
    manager.shutdown().unwrap();
}

fn joinable_worker(
    (queue, done): (
        mproc::manager::JoinableQueueProxy<Option<u32>>,
        ListProxy<u32>,
    ),
) -> Result<(), String> {
    let fail = |e: ManagerError| e.to_string();
    loop {
        let item = queue.get_timeout(TIMEOUT).map_err(fail)?;
        if let Some(i) = item {
            done.push(&i).map_err(fail)?;
        }
        queue.task_done().map_err(fail)?;
        if item.is_none() {
            return Ok(());
        }
    }
}

#[test]
fn joinable_queue_join_waits_for_every_task_done() {
    let manager = Manager::start().unwrap();
    let queue = manager.joinable_queue().unwrap();
    let done = manager.list().unwrap();
    let workers: Vec<_> = (0..4)
        .map(|_| {
            Process::new(joinable_worker, (queue.clone(), done.clone()))
                .start()
                .unwrap()
        })
        .collect();
    for i in 0..10 {
        queue.put(&Some(i)).unwrap();
    }
    queue.join_timeout(TIMEOUT).unwrap();
    assert_eq!(
        done.len().unwrap(),
        10,
        "join returned before every task was done"
    );
    for _ in &workers {
        queue.put(&None).unwrap();
    }
    for worker in workers {
        assert_eq!(worker.join_timeout(TIMEOUT).unwrap(), Ok(()));
    }
    queue.join_timeout(TIMEOUT).unwrap();
    manager.shutdown().unwrap();
}

// ---- _TestContainers -------------------------------------------------------------------

#[test]
fn list_grows_indexes_and_holds_other_lists() {
    let manager = Manager::start().unwrap();
    let list = manager.list::<u32>().unwrap();
    list.extend(&(0..10).collect::<Vec<_>>()).unwrap();
    assert_eq!(list.snapshot().unwrap(), (0..10).collect::<Vec<_>>());
    assert_eq!(list.get(7).unwrap(), 7);
    list.extend(&[0, 1]).unwrap();
    assert_eq!(list.len().unwrap(), 12);
    // A list of list proxies: the inner lists change through the outer one's copies.
    let outer = manager.list::<ListProxy<String>>().unwrap();
    let inner = manager.list::<String>().unwrap();
    outer.push(&inner).unwrap();
    outer.get(0).unwrap().push(&"seen".to_owned()).unwrap();
    assert_eq!(inner.snapshot().unwrap(), ["seen"]);
    outer.push(&manager.list().unwrap()).unwrap();
    assert!(outer.get(1).unwrap().is_empty().unwrap());
    manager.shutdown().unwrap();
}

#[test]
fn dict_holds_values_and_other_dicts() {
    let manager = Manager::start().unwrap();
    let d = manager.dict::<u32, String>().unwrap();
    for i in 0..5 {
        d.insert(&i, &i.to_string()).unwrap();
    }
    assert_eq!(d.keys().unwrap(), [0, 1, 2, 3, 4]);
    assert_eq!(d.values().unwrap(), ["0", "1", "2", "3", "4"]);
    assert_eq!(d.items().unwrap()[2], (2, "2".to_owned()));
    let nested = manager.dict::<String, DictProxy<String, u32>>().unwrap();
    nested
        .insert(&"pets".to_owned(), &manager.dict().unwrap())
        .unwrap();
    let pets = nested.get(&"pets".to_owned()).unwrap().unwrap();
    pets.insert(&"ferrets".to_owned(), &2).unwrap();
    let again = nested.get(&"pets".to_owned()).unwrap().unwrap();
    assert_eq!(again.get(&"ferrets".to_owned()).unwrap(), Some(2));
    manager.shutdown().unwrap();
}

#[test]
fn namespace_fields_and_values() {
    let manager = Manager::start().unwrap();
    let ns = manager.namespace().unwrap();
    ns.set("name", "Bob").unwrap();
    ns.set("job", "Builder").unwrap();
    assert_eq!(ns.get::<String>("name").unwrap().as_deref(), Some("Bob"));
    assert_eq!(ns.names().unwrap().len(), 2);
    let value = manager.value(&5i32).unwrap();
    assert_eq!(value.get().unwrap(), 5);
    value.set(&6).unwrap();
    assert_eq!(value.get().unwrap(), 6);
    manager.shutdown().unwrap();
}

// ---- _TestRemoteManager / _TestManagerRestart ------------------------------------------

fn remote_producer((address, queue): (String, QueueProxy<String>)) -> Result<(), String> {
    let _manager = Manager::connect(address.as_str(), b"remote key").map_err(|e| e.to_string())?;
    queue
        .put(&"hello world".to_owned())
        .map_err(|e| e.to_string())
}

#[test]
fn remote_manager_on_loopback_carries_an_item_between_clients() {
    let server = Server::bind("127.0.0.1:0", b"remote key").unwrap();
    let address = server.address().to_string();
    let serving = thread::spawn(move || server.serve_forever());
    let owner = Manager::connect(address.as_str(), b"remote key").unwrap();
    let queue = owner.queue::<String>().unwrap();
    let child = Process::new(remote_producer, (address.clone(), queue.clone()))
        .start()
        .unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(()));
    assert_eq!(queue.get_timeout(TIMEOUT).unwrap(), "hello world");
    owner.shutdown().unwrap();
    threads::join(serving).unwrap().unwrap();
}

#[test]
fn a_manager_restarts_at_once_on_the_same_address() {
    let first = Server::bind("127.0.0.1:0", b"restart key").unwrap();
    let address = first.address().to_string();
    let mut next = Some(first);
    for round in 0..3u32 {
        // Python's `test_rapid_restart`: the port is bound again right after the shutdown.
        let server = next.take().unwrap_or_else(|| {
            Server::bind(address.as_str(), b"restart key")
                .unwrap_or_else(|e| panic!("round {round}: {e}"))
        });
        let serving = thread::spawn(move || server.serve_forever());
        let manager = Manager::connect(address.as_str(), b"restart key").unwrap();
        let queue = manager.queue::<u32>().unwrap();
        queue.put(&round).unwrap();
        assert_eq!(queue.get_timeout(TIMEOUT).unwrap(), round);
        manager.shutdown().unwrap();
        threads::join(serving).unwrap().unwrap();
    }
}

// ---- TestManagerExceptions -------------------------------------------------------------

#[test]
fn errors_in_proxied_calls_reach_the_caller_typed_and_the_proxy_stays_usable() {
    let manager = Manager::start().unwrap();
    let list = manager.list::<u32>().unwrap();
    assert!(is_remote(
        list.get(3),
        &RemoteError::IndexOutOfRange { index: 3, len: 0 }
    ));
    assert!(is_remote(
        list.pop_at(0),
        &RemoteError::IndexOutOfRange { index: 0, len: 0 }
    ));
    list.push(&300).unwrap();
    // A proxy of another type over the same object: a decode error, not a crash.
    let flags: ListProxy<bool> = same_object_as(&list);
    assert!(matches!(flags.get(0), Err(ManagerError::Decode(_))));
    assert_eq!(list.get(0).unwrap(), 300);
    let queue = manager.queue::<u32>().unwrap();
    manager.shutdown().unwrap();
    // After shutdown, calls fail with a typed error at once (Python's `test_queue_get`).
    assert!(matches!(queue.try_get(), Err(ManagerError::Connection(_))));
    assert!(matches!(list.len(), Err(ManagerError::Connection(_))));
}

/// The same object seen as another item type (through its serialized form, as a process
/// that declared another type would see it).
fn same_object_as<T, U>(list: &ListProxy<T>) -> ListProxy<U> {
    let encoded = mproc::codec::encode(list).unwrap();
    mproc::codec::decode(encoded.bytes(), Vec::new()).unwrap()
}
