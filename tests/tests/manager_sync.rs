//! Issue #19: the `SyncManager` types as proxies across processes — a lock held by a killed
//! client is released, blocked calls block nobody else, a barrier party killed breaks the
//! barrier, references are counted in every process (also killed ones), and a
//! `SharedMemoryManager` unlinks its blocks. Every wait is bounded.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use integration_tests::gate::{Gate, Opener, Passed, gate};
use integration_tests::threads;
use integration_tests::{METHODS, TIMEOUT};
use mproc::connection::Auth;
use mproc::manager::{
    BarrierProxy, DictProxy, LockProxy, Manager, ManagerError, QueueProxy, RemoteError, Server,
    SharedMemoryManager,
};
use mproc::prelude::*;

const SHORT: Duration = Duration::from_millis(50);

/// Polls `check` until it holds or `TIMEOUT` passes (for what the manager does after a client
/// is gone, which nobody can signal); whether it held.
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + TIMEOUT;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Takes the lock, says so, then waits to be killed (bounded by the gate).
fn hold_lock((lock, held, never): (LockProxy, Opener, Gate)) -> bool {
    if lock.acquire_timeout(TIMEOUT).is_err() {
        return false;
    }
    held.open();
    let _ = never.wait(TIMEOUT);
    true
}

#[test]
fn a_lock_held_by_a_killed_client_is_released_under_every_method() {
    for method in METHODS {
        let manager = Manager::start_method(method).unwrap();
        let lock = manager.lock().unwrap();
        let (held, is_held) = gate();
        let (_never, wait_forever) = gate();
        let holder = Process::new(hold_lock, (lock.clone(), held, wait_forever))
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(is_held.wait(TIMEOUT), Passed::Opened, "{method:?}");
        assert!(
            matches!(lock.try_acquire(), Err(ManagerError::WouldBlock)),
            "{method:?}"
        );
        assert!(lock.is_locked().unwrap());
        holder.kill().unwrap();
        assert!(holder.join_timeout(TIMEOUT).is_err());
        // The manager sees the holder's connections end and releases its lock.
        lock.acquire_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        lock.release().unwrap();
        manager.shutdown().unwrap();
    }
}

#[test]
fn an_rlock_held_by_a_killed_client_is_released() {
    fn hold((rlock, held, never): (mproc::manager::RLockProxy, Opener, Gate)) {
        rlock.acquire_timeout(TIMEOUT).unwrap();
        rlock.acquire_timeout(TIMEOUT).unwrap();
        held.open();
        let _ = never.wait(TIMEOUT);
    }
    let manager = Manager::start().unwrap();
    let rlock = manager.rlock().unwrap();
    let (held, is_held) = gate();
    let (_never, wait_forever) = gate();
    let holder = Process::new(hold, (rlock.clone(), held, wait_forever))
        .start()
        .unwrap();
    assert_eq!(is_held.wait(TIMEOUT), Passed::Opened);
    assert!(matches!(
        rlock.release(),
        Err(ManagerError::Remote(RemoteError::NotHeld))
    ));
    holder.kill().unwrap();
    assert!(holder.join_timeout(TIMEOUT).is_err());
    rlock.acquire_timeout(TIMEOUT).unwrap();
    rlock.release().unwrap();
    manager.shutdown().unwrap();
}

#[test]
fn a_thread_blocked_in_get_blocks_neither_other_threads_nor_other_clients() {
    let manager = Manager::start().unwrap();
    let queue = manager.queue::<u32>().unwrap();
    let event = manager.event().unwrap();
    let waiter = {
        let queue = queue.clone();
        thread::spawn(move || queue.get_timeout(TIMEOUT))
    };
    let event_waiter = {
        let event = event.clone();
        thread::spawn(move || event.wait_timeout(TIMEOUT))
    };
    // This thread, sharing the process's session, is not blocked by the two waiting ones.
    assert_eq!(queue.qsize().unwrap(), 0);
    let other = Manager::connect(manager.address(), Auth::Program).unwrap();
    other.dict::<u8, u8>().unwrap().insert(&1, &1).unwrap();
    queue.put(&7).unwrap();
    event.set().unwrap();
    assert_eq!(threads::join(waiter).unwrap().unwrap(), 7);
    threads::join(event_waiter).unwrap().unwrap();
    manager.shutdown().unwrap();
}

/// Takes `n` items, squares them into `results`, marks each done.
fn square_worker(
    (jobs, results, n): (
        mproc::manager::JoinableQueueProxy<u64>,
        QueueProxy<u64>,
        usize,
    ),
) -> Result<(), String> {
    for _ in 0..n {
        let job = jobs.get_timeout(TIMEOUT).map_err(|e| e.to_string())?;
        results.put(&(job * job)).map_err(|e| e.to_string())?;
        jobs.task_done().map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[test]
fn worker_processes_share_a_joinable_queue_under_every_method() {
    for method in METHODS {
        let manager = Manager::start_method(method).unwrap();
        let jobs = manager.joinable_queue::<u64>().unwrap();
        let results = manager.queue::<u64>().unwrap();
        let workers: Vec<_> = (0..2)
            .map(|_| {
                Process::new(square_worker, (jobs.clone(), results.clone(), 5))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for i in 1..=10 {
            jobs.put(&i).unwrap();
        }
        jobs.join_timeout(TIMEOUT)
            .unwrap_or_else(|e| panic!("{method:?}: {e}"));
        let mut squares: Vec<u64> = (0..10)
            .map(|_| results.get_timeout(TIMEOUT).unwrap())
            .collect();
        squares.sort_unstable();
        assert_eq!(squares, (1..=10).map(|i| i * i).collect::<Vec<_>>());
        for worker in workers {
            assert_eq!(worker.join_timeout(TIMEOUT).unwrap(), Ok(()), "{method:?}");
        }
        assert!(matches!(
            jobs.task_done(),
            Err(ManagerError::Remote(RemoteError::OverReleased))
        ));
        manager.shutdown().unwrap();
    }
}

/// Arrives at the barrier, saying so first; returns what its wait returned.
fn party((barrier, arriving): (BarrierProxy, Opener)) -> String {
    arriving.open();
    match barrier.wait_timeout(TIMEOUT) {
        Ok(index) => format!("passed {index}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_barrier_party_killed_while_waiting_breaks_the_barrier() {
    let manager = Manager::start().unwrap();
    let barrier = manager.barrier(3).unwrap();
    let mut parties = Vec::new();
    for _ in 0..2 {
        let (opener, arriving) = gate();
        let child = Process::new(party, (barrier.clone(), opener))
            .start()
            .unwrap();
        assert_eq!(arriving.wait(TIMEOUT), Passed::Opened);
        parties.push(child);
    }
    assert!(eventually(|| barrier.n_waiting().unwrap() == 2));
    let killed = parties.pop().unwrap();
    killed.kill().unwrap();
    assert!(killed.join_timeout(TIMEOUT).is_err());
    let survivor = parties.pop().unwrap().join_timeout(TIMEOUT).unwrap();
    assert!(survivor.contains("barrier is broken"), "{survivor}");
    assert!(barrier.is_broken().unwrap());
    barrier.reset().unwrap();
    assert!(!barrier.is_broken().unwrap());
    manager.shutdown().unwrap();
}

/// Holds a proxy until told to let go.
fn hold_proxy((d, holding, release): (DictProxy<u8, u8>, Opener, Gate)) -> Option<u8> {
    holding.open();
    let _ = release.wait(TIMEOUT);
    d.get(&1).ok().flatten()
}

#[test]
fn objects_live_while_any_process_refers_to_them_under_every_method() {
    for method in METHODS {
        let manager = Manager::start_method(method).unwrap();
        let start = manager.number_of_objects().unwrap();
        let d = manager.dict::<u8, u8>().unwrap();
        d.insert(&1, &2).unwrap();
        let copy = d.clone();
        assert_eq!(manager.number_of_objects().unwrap(), start + 1);
        let (holding, is_holding) = gate();
        let (release, released) = gate();
        let child = Process::new(hold_proxy, (d.clone(), holding, released))
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(is_holding.wait(TIMEOUT), Passed::Opened);
        // Every proxy of this process is dropped; the child's keeps the dict alive.
        drop((d, copy));
        assert_eq!(
            manager.number_of_objects().unwrap(),
            start + 1,
            "{method:?}"
        );
        release.open();
        assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Some(2), "{method:?}");
        assert_eq!(manager.number_of_objects().unwrap(), start, "{method:?}");
        manager.shutdown().unwrap();
    }
}

/// Creates objects in the manager at `address`, says so, then waits to be killed.
fn create_and_wait((address, created, never): (String, Opener, Gate)) {
    let manager = Manager::connect(address.as_str(), Auth::Program).unwrap();
    let _objects = (
        manager.dict::<u8, u8>().unwrap(),
        manager.lock().unwrap(),
        manager.queue::<String>().unwrap(),
    );
    created.open();
    let _ = never.wait(TIMEOUT);
}

#[test]
fn a_killed_client_drops_its_references() {
    let manager = Manager::start().unwrap();
    let start = manager.number_of_objects().unwrap();
    let (created, has_created) = gate();
    let (_never, wait_forever) = gate();
    let child = Process::new(
        create_and_wait,
        (manager.address().to_string(), created, wait_forever),
    )
    .start()
    .unwrap();
    assert_eq!(has_created.wait(TIMEOUT), Passed::Opened);
    assert_eq!(manager.number_of_objects().unwrap(), start + 3);
    child.kill().unwrap();
    assert!(child.join_timeout(TIMEOUT).is_err());
    assert!(eventually(|| manager.number_of_objects().unwrap() == start));
    manager.shutdown().unwrap();
}

#[test]
fn a_proxy_stored_in_another_object_outlives_its_creator() {
    let manager = Manager::start().unwrap();
    let outer = manager.dict::<String, QueueProxy<u8>>().unwrap();
    {
        let inner = manager.queue::<u8>().unwrap();
        inner.put(&5).unwrap();
        outer.insert(&"q".to_owned(), &inner).unwrap();
    }
    for _ in 0..2 {
        let inner = outer.get(&"q".to_owned()).unwrap().unwrap();
        let got = inner.get_timeout(TIMEOUT).unwrap();
        inner.put(&got).unwrap();
    }
    assert_eq!(manager.number_of_objects().unwrap(), 2);
    manager.shutdown().unwrap();
}

fn shm_exists(name: &str) -> bool {
    Path::new("/dev/shm").join(name).exists()
}

#[test]
fn a_shared_memory_manager_unlinks_its_blocks_at_shutdown_under_every_method() {
    for method in METHODS {
        let smm = SharedMemoryManager::start_method(method).unwrap();
        let block = smm.shared_memory(4096).unwrap();
        block.write_at(0, b"kept mapped").unwrap();
        let list = smm
            .shareable_list(&[mproc::shared_memory::Item::Int(1)])
            .unwrap();
        let names = [block.name().to_owned(), list.shm().name().to_owned()];
        assert!(names.iter().all(|n| shm_exists(n)), "{method:?}");
        smm.shutdown().unwrap();
        for name in &names {
            assert!(!shm_exists(name), "{method:?}: {name} survived");
        }
        // Unlinked, not unmapped: this process still reads its block.
        let mut back = [0u8; 11];
        block.read_at(0, &mut back).unwrap();
        assert_eq!(&back, b"kept mapped");
    }
}

#[test]
fn blocks_made_through_a_killed_shared_memory_server_are_unlinked_by_their_owner() {
    let smm = SharedMemoryManager::start().unwrap();
    let name = smm.shared_memory(128).unwrap().name().to_owned();
    assert!(shm_exists(&name));
    let pid = smm.manager().pid().unwrap();
    // SAFETY: kill(2) with the pid of the server this test started and has not reaped (the
    // manager holds its Child), so it cannot be reused meanwhile.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGKILL) }, 0);
    assert!(smm.shutdown().is_err(), "the server was killed");
    assert!(!shm_exists(&name), "{name} survived its owner's shutdown");
}

#[test]
fn a_shared_memory_manager_over_a_served_manager_unlinks_at_shutdown() {
    let server = Server::bind("127.0.0.1:0", Auth::Program).unwrap();
    let address = server.address().clone();
    let serving = thread::spawn(move || server.serve_forever());
    let smm = SharedMemoryManager::with_manager(Manager::connect(&address, Auth::Program).unwrap());
    let name = smm.shared_memory(64).unwrap().name().to_owned();
    smm.shutdown().unwrap();
    threads::join(serving).unwrap().unwrap();
    assert!(!shm_exists(&name));
}

/// Another program on another host would do this: connect to a TCP manager with its key,
/// then count under the manager's lock with a read and a write (not atomic without it).
fn locked_counter(
    (address, lock, counts, n): (String, LockProxy, DictProxy<u8, u64>, u64),
) -> Result<(), String> {
    let _manager = Manager::connect(address.as_str(), b"tcp key").map_err(|e| e.to_string())?;
    for _ in 0..n {
        let guard = lock.lock().map_err(|e| e.to_string())?;
        let v = counts.get(&0).map_err(|e| e.to_string())?.unwrap_or(0);
        counts.insert(&0, &(v + 1)).map_err(|e| e.to_string())?;
        guard.release().map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[test]
fn a_lock_proxy_excludes_processes_using_a_tcp_manager_under_every_method() {
    for method in METHODS {
        let server = Server::bind("127.0.0.1:0", b"tcp key").unwrap();
        let address = server.address().to_string();
        let serving = thread::spawn(move || server.serve_forever());
        let manager = Manager::connect(address.as_str(), b"tcp key").unwrap();
        let (lock, counts) = (manager.lock().unwrap(), manager.dict().unwrap());
        let workers: Vec<_> = (0..2)
            .map(|_| {
                let args = (address.clone(), lock.clone(), counts.clone(), 50);
                Process::new(locked_counter, args)
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join_timeout(TIMEOUT).unwrap(), Ok(()), "{method:?}");
        }
        assert_eq!(counts.get(&0).unwrap(), Some(100), "{method:?}");
        manager.shutdown().unwrap();
        threads::join(serving).unwrap().unwrap();
    }
}

#[test]
fn timed_waits_end_without_the_condition() {
    let manager = Manager::start().unwrap();
    let queue = manager.bounded_queue::<u8>(1).unwrap();
    assert!(matches!(queue.try_get(), Err(ManagerError::Empty)));
    assert!(matches!(queue.get_timeout(SHORT), Err(ManagerError::Empty)));
    queue.put(&1).unwrap();
    assert!(queue.is_full().unwrap());
    assert!(matches!(queue.try_put(&2), Err(ManagerError::Full)));
    assert!(matches!(
        queue.put_timeout(&2, SHORT),
        Err(ManagerError::Full)
    ));
    let lock = manager.lock().unwrap();
    lock.acquire_timeout(TIMEOUT).unwrap();
    assert!(matches!(
        lock.acquire_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    let event = manager.event().unwrap();
    assert!(matches!(
        event.wait_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    let sem = manager.semaphore(0).unwrap();
    assert!(matches!(
        sem.acquire_timeout(SHORT),
        Err(ManagerError::Timeout)
    ));
    manager.shutdown().unwrap();
}

/// Says it is about to wait, then waits in `get` until killed.
fn blocked_consumer((queue, waiting): (QueueProxy<u32>, Opener)) -> Option<u32> {
    waiting.open();
    queue.get().ok()
}

#[test]
fn a_consumer_killed_in_get_takes_no_item_with_it() {
    let manager = Manager::start().unwrap();
    let queue = manager.queue::<u32>().unwrap();
    for round in 0..3 {
        let (opener, waiting) = gate();
        let consumer = Process::new(blocked_consumer, (queue.clone(), opener))
            .start()
            .unwrap();
        assert_eq!(waiting.wait(TIMEOUT), Passed::Opened);
        consumer.kill().unwrap();
        assert!(consumer.join_timeout(TIMEOUT).is_err());
        queue.put(&round).unwrap();
        assert_eq!(queue.get_timeout(TIMEOUT).unwrap(), round);
    }
    manager.shutdown().unwrap();
}

#[test]
fn a_shutdown_ends_blocked_calls_with_a_connection_error() {
    let manager = Manager::start().unwrap();
    let queue = manager.queue::<u32>().unwrap();
    let lock = manager.lock().unwrap();
    lock.acquire_timeout(TIMEOUT).unwrap();
    let (get_started, get_waiting) = gate();
    let (acquire_started, acquire_waiting) = gate();
    let getter = {
        let queue = queue.clone();
        thread::spawn(move || {
            get_started.open();
            queue.get()
        })
    };
    let acquirer = {
        let lock = lock.clone();
        thread::spawn(move || {
            acquire_started.open();
            lock.acquire()
        })
    };
    assert_eq!(get_waiting.wait(TIMEOUT), Passed::Opened);
    assert_eq!(acquire_waiting.wait(TIMEOUT), Passed::Opened);
    manager.shutdown().unwrap();
    assert!(matches!(
        threads::join(getter).unwrap(),
        Err(ManagerError::Connection(_))
    ));
    assert!(matches!(
        threads::join(acquirer).unwrap(),
        Err(ManagerError::Connection(_))
    ));
}
