//! The manager in one process: a server on a thread, proxies on others.

use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use super::protocol::Response;
use super::*;
use crate::connection::{Client, ConnectionError};

const TIMEOUT: Duration = Duration::from_secs(30);

/// A server on a thread, on a fresh abstract name.
fn serve_with(server: impl FnOnce(Server) -> Server) -> (Manager, thread::JoinHandle<()>) {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "@mproc-manager-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let server = server(Server::bind(name.as_str(), Auth::Program).unwrap());
    let address = server.address().clone();
    let thread = thread::spawn(move || server.serve_forever().unwrap());
    (Manager::connect(&address, Auth::Program).unwrap(), thread)
}

fn serve() -> (Manager, thread::JoinHandle<()>) {
    serve_with(|s| s)
}

fn stop(manager: Manager, thread: thread::JoinHandle<()>) {
    manager.shutdown().unwrap();
    thread.join().unwrap();
}

#[test]
fn dict_operations() {
    let (manager, server) = serve();
    let d = manager.dict::<String, i32>().unwrap();
    let (a, b) = ("a".to_owned(), "b".to_owned());
    assert!(d.is_empty().unwrap());
    assert_eq!(d.insert(&a, &1).unwrap(), None);
    assert_eq!(d.insert(&a, &2).unwrap(), Some(1));
    assert_eq!(d.get(&a).unwrap(), Some(2));
    assert!(d.contains_key(&a).unwrap());
    assert!(!d.contains_key(&b).unwrap());
    d.update([(&b, &3), (&"c".to_owned(), &4)]).unwrap();
    assert_eq!(d.len().unwrap(), 3);
    assert_eq!(d.keys().unwrap(), ["a", "b", "c"]);
    assert_eq!(d.values().unwrap(), [2, 3, 4]);
    assert_eq!(d.remove(&b).unwrap(), Some(3));
    assert_eq!(d.remove(&b).unwrap(), None);
    assert_eq!(d.items().unwrap(), [(a.clone(), 2), ("c".to_owned(), 4)]);
    assert_eq!(d.add(&a, 40).unwrap(), 42);
    assert_eq!(d.update_with(&a, |v| v.unwrap_or(0) * 2).unwrap(), 84);
    d.clear().unwrap();
    assert_eq!(d.len().unwrap(), 0);
    let lists = manager.dict::<u8, Vec<String>>().unwrap();
    lists.append(&1, &"x".to_owned()).unwrap();
    lists.append(&1, &"y".to_owned()).unwrap();
    assert_eq!(lists.get(&1).unwrap().unwrap(), ["x", "y"]);
    stop(manager, server);
}

#[test]
fn list_operations() {
    let (manager, server) = serve();
    let l = manager.list::<u32>().unwrap();
    assert_eq!(l.pop().unwrap(), None);
    l.extend(&[1, 2, 3]).unwrap();
    l.push(&4).unwrap();
    l.insert(0, &0).unwrap();
    l.insert(99, &5).unwrap();
    assert_eq!(l.snapshot().unwrap(), [0, 1, 2, 3, 4, 5]);
    assert_eq!(l.get(2).unwrap(), 2);
    l.set(2, &20).unwrap();
    assert_eq!(l.pop().unwrap(), Some(5));
    assert_eq!(l.pop_at(0).unwrap(), 0);
    assert!(l.remove(&20).unwrap());
    assert!(!l.remove(&20).unwrap());
    assert_eq!(l.snapshot().unwrap(), [1, 3, 4]);
    assert!(matches!(
        l.get(3),
        Err(ManagerError::Remote(RemoteError::IndexOutOfRange {
            index: 3,
            len: 3
        }))
    ));
    assert!(l.set(7, &0).is_err());
    l.clear().unwrap();
    assert!(l.is_empty().unwrap());
    stop(manager, server);
}

#[test]
fn value_and_namespace() {
    let (manager, server) = serve();
    let v = manager.value(&10u64).unwrap();
    assert_eq!(v.get().unwrap(), 10);
    v.set(&11).unwrap();
    assert_eq!(v.add(1).unwrap(), 12);
    assert_eq!(v.update_with(|x| x * 10).unwrap(), 120);
    assert!(matches!(
        v.add(u64::MAX),
        Err(ManagerError::Remote(RemoteError::Overflow))
    ));
    let ns = manager.namespace().unwrap();
    ns.set("x", &1i32).unwrap();
    ns.set("name", "mproc").unwrap();
    assert_eq!(ns.get::<i32>("x").unwrap(), Some(1));
    assert_eq!(ns.get::<String>("name").unwrap().as_deref(), Some("mproc"));
    assert_eq!(ns.get::<i32>("y").unwrap(), None);
    assert_eq!(ns.names().unwrap(), ["x", "name"]);
    assert!(ns.remove("x").unwrap());
    assert!(!ns.remove("x").unwrap());
    stop(manager, server);
}

#[test]
fn atomic_updates_from_many_threads_lose_nothing() {
    let (manager, server) = serve();
    let counts = manager.dict::<String, u64>().unwrap();
    let seen = manager.dict::<String, Vec<u32>>().unwrap();
    let total = manager.value(&0u64).unwrap();
    let workers: Vec<_> = (0..4u32)
        .map(|t| {
            let (counts, seen, total) = (counts.clone(), seen.clone(), total.clone());
            thread::spawn(move || {
                for i in 0..50u32 {
                    counts.add(&"add".to_owned(), 1).unwrap();
                    counts
                        .update_with(&"cas".to_owned(), |n| n.unwrap_or(0) + 1)
                        .unwrap();
                    seen.append(&"all".to_owned(), &(t * 100 + i)).unwrap();
                    total.update_with(|n| n + 2).unwrap();
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(counts.get(&"add".to_owned()).unwrap(), Some(200));
    assert_eq!(counts.get(&"cas".to_owned()).unwrap(), Some(200));
    let mut all = seen.get(&"all".to_owned()).unwrap().unwrap();
    all.sort_unstable();
    assert_eq!(all.len(), 200);
    all.dedup();
    assert_eq!(all.len(), 200);
    assert_eq!(total.get().unwrap(), 400);
    stop(manager, server);
}

#[test]
fn proxies_travel_and_nest() {
    let (manager, server) = serve();
    let inner = manager.list::<String>().unwrap();
    let outer = manager.dict::<String, ListProxy<String>>().unwrap();
    outer.insert(&"inner".to_owned(), &inner).unwrap();
    let back = outer.get(&"inner".to_owned()).unwrap().unwrap();
    back.push(&"through the nested proxy".to_owned()).unwrap();
    assert_eq!(inner.snapshot().unwrap(), ["through the nested proxy"]);
    let bytes = postcard::to_stdvec(&outer).unwrap();
    let arrived: DictProxy<String, ListProxy<String>> = postcard::from_bytes(&bytes).unwrap();
    assert_eq!(arrived.len().unwrap(), 1);
    stop(manager, server);
}

#[test]
fn a_proxy_of_one_kind_cannot_reach_an_object_of_another() {
    let (manager, server) = serve();
    let list = manager.list::<u8>().unwrap();
    let mut handle = list.handle_for_tests().clone();
    handle.kind = Kind::Dict;
    let as_dict: DictProxy<u8, u8> = DictProxy::from_handle(handle.clone());
    assert!(matches!(
        as_dict.get(&1),
        Err(ManagerError::Remote(RemoteError::WrongKind { .. }))
    ));
    handle.id = 9999;
    let missing: DictProxy<u8, u8> = DictProxy::from_handle(handle);
    assert!(matches!(
        missing.len(),
        Err(ManagerError::Remote(RemoteError::UnknownObject {
            id: 9999
        }))
    ));
    // A value stored as one type and read as another: a decode error, not a panic.
    let d = manager.dict::<u8, String>().unwrap();
    d.insert(&1, &"not a number".to_owned()).unwrap();
    let wrong: DictProxy<u8, u64> = DictProxy::from_handle(d.handle_for_tests().clone());
    assert!(matches!(
        wrong.add(&1, 1),
        Err(ManagerError::Remote(RemoteError::NotAnInteger))
    ));
    stop(manager, server);
}

#[test]
fn garbage_and_oversized_requests_fail_only_their_client() {
    let (manager, server) = serve_with(|s| s.max_request_len(1024));
    let d = manager.dict::<u8, u8>().unwrap();
    d.insert(&1, &1).unwrap();
    let address = manager.address().clone();
    // Garbage: a typed refusal, and the connection stays usable.
    let raw = Client::connect(&address, Auth::Program).unwrap();
    for garbage in [
        &b"\xff\xff\xff\xff\xff"[..],
        b"\x01\x00",
        b"\x01\x05\x07\x09",
    ] {
        raw.send_bytes(garbage).unwrap();
        let answer: Response = raw.recv_timeout(TIMEOUT).unwrap();
        assert!(
            matches!(answer, Response::Failed(RemoteError::Malformed)),
            "{answer:?}"
        );
    }
    // Oversized: the connection is closed, nothing else happens.
    raw.send_bytes(&vec![0u8; 4096]).unwrap();
    let closed = raw.recv_timeout::<Response>(TIMEOUT).unwrap_err();
    assert!(
        matches!(
            closed,
            ConnectionError::Eof | ConnectionError::Disconnected | ConnectionError::Os { .. }
        ),
        "{closed:?}"
    );
    // Wrong key: refused by the handshake.
    let refused = Client::connect(&address, b"not the key").unwrap_err();
    assert!(refused.is_authentication(), "{refused:?}");
    assert!(matches!(
        Manager::connect(&address, b"not the key"),
        Err(ManagerError::Connection(_))
    ));
    // The others are still served.
    assert_eq!(d.get(&1).unwrap(), Some(1));
    stop(manager, server);
}

#[test]
fn calls_after_shutdown_fail_without_hanging() {
    let (manager, server) = serve();
    let d = manager.dict::<u8, u8>().unwrap();
    let other = Manager::connect(manager.address(), Auth::Program).unwrap();
    stop(manager, server);
    assert!(matches!(d.get(&1), Err(ManagerError::Connection(_))));
    assert!(matches!(
        other.dict::<u8, u8>(),
        Err(ManagerError::Connection(_))
    ));
}

#[test]
fn too_many_connections_are_refused() {
    let (manager, server) = serve_with(|s| s.max_connections(1));
    let address = manager.address().clone();
    let second = Client::connect(&address, Auth::Program).unwrap();
    let answer: Response = second.recv_timeout(TIMEOUT).unwrap();
    assert!(matches!(
        answer,
        Response::Failed(RemoteError::TooManyConnections { limit: 1 })
    ));
    stop(manager, server);
}

#[test]
fn a_manager_started_in_a_child_process() {
    let manager = Manager::start().unwrap();
    assert!(manager.pid().is_some());
    let d = manager.dict::<String, u32>().unwrap();
    d.insert(&"k".to_owned(), &7).unwrap();
    assert_eq!(d.get(&"k".to_owned()).unwrap(), Some(7));
    manager.shutdown().unwrap();
    assert!(d.get(&"k".to_owned()).is_err());
}

#[test]
fn a_client_cannot_have_the_server_unlink_a_block_it_did_not_create() {
    let (manager, server) = serve();
    let victim = crate::shared_memory::SharedMemory::create_named("mproc-victim-block", 64)
        .or_else(|_| crate::shared_memory::SharedMemory::attach("mproc-victim-block"))
        .unwrap();
    for hostile in ["mproc-victim-block", "psm_../x", "psm_", "/etc/passwd"] {
        assert!(
            matches!(
                manager
                    .session
                    .call(&protocol::Request::Track(hostile.to_owned())),
                Err(ManagerError::Remote(RemoteError::Malformed))
            ),
            "{hostile}"
        );
    }
    stop(manager, server);
    assert!(crate::shared_memory::SharedMemory::attach("mproc-victim-block").is_ok());
    victim.unlink().unwrap();
}

#[test]
fn sync_requests_for_another_kind_or_garbage_are_refused() {
    let (manager, server) = serve();
    let list = manager.list::<u8>().unwrap();
    let lock = manager.lock().unwrap();
    let handle = list.handle_for_tests();
    let wrong = manager.session.call(&protocol::Request::Sync {
        id: handle.id,
        kind: Kind::Lock,
        thread: 1,
        op: sync::wire::SyncOp::Release { n: 1 },
    });
    assert!(matches!(
        wrong,
        Err(ManagerError::Remote(RemoteError::WrongKind { .. }))
    ));
    // A queue operation on a lock, and a release of a lock nobody holds.
    lock.acquire().unwrap();
    lock.release().unwrap();
    assert!(matches!(
        lock.release(),
        Err(ManagerError::Remote(RemoteError::NotHeld))
    ));
    assert!(matches!(
        manager.barrier(0),
        Err(ManagerError::Remote(RemoteError::Malformed))
    ));
    stop(manager, server);
}
