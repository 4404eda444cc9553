//! Issue #19: managers shared by processes under every start method — proxies as process
//! arguments and queue items, a word count with exact totals, a remote manager on TCP
//! loopback used by another process (Python's `test_manager`/`test_remote` cases, in our
//! own words).

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use std::thread;

use integration_tests::threads;
use integration_tests::{METHODS, TIMEOUT};
use mproc::connection::Auth;
use mproc::manager::{DictProxy, ListProxy, Manager, NamespaceProxy, Server};
use mproc::prelude::*;

const TEXT: &str = "the quick brown fox jumps over the lazy dog the end";

/// Counts `words` into the shared dict, atomically; logs each line into the list.
fn count_words(
    (counts, lines, words): (DictProxy<String, u64>, ListProxy<String>, Vec<String>),
) -> Result<usize, String> {
    for word in &words {
        counts.add(word, 1).map_err(|e| e.to_string())?;
    }
    lines.push(&words.join(" ")).map_err(|e| e.to_string())?;
    Ok(words.len())
}

#[test]
fn several_processes_fill_a_word_count_with_exact_totals_under_every_method() {
    for method in METHODS {
        let manager = Manager::start_method(method).unwrap();
        let counts = manager.dict::<String, u64>().unwrap();
        let lines = manager.list::<String>().unwrap();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let words = TEXT.split(' ').map(str::to_owned).collect();
                Process::new(count_words, (counts.clone(), lines.clone(), words))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for worker in workers {
            assert_eq!(worker.join_timeout(TIMEOUT).unwrap(), Ok(11), "{method:?}");
        }
        assert_eq!(
            counts.get(&"the".to_owned()).unwrap(),
            Some(9),
            "{method:?}"
        );
        assert_eq!(
            counts.get(&"fox".to_owned()).unwrap(),
            Some(3),
            "{method:?}"
        );
        let total: u64 = counts.values().unwrap().iter().sum();
        assert_eq!(total, 33, "{method:?}");
        assert_eq!(lines.len().unwrap(), 3, "{method:?}");
        manager.shutdown().unwrap();
    }
}

/// Appends `n` numbers to the vector under `"seen"`.
fn append_many((d, who, n): (DictProxy<String, Vec<u32>>, u32, u32)) -> bool {
    (0..n).all(|i| d.append(&"seen".to_owned(), &(who * 1000 + i)).is_ok())
}

#[test]
fn appends_to_a_nested_vector_are_not_lost_as_in_python() {
    // Python: `d['seen'].append(x)` mutates a copy; here each append lands in the manager.
    let manager = Manager::start().unwrap();
    let d = manager.dict::<String, Vec<u32>>().unwrap();
    let workers: Vec<_> = (0..3)
        .map(|who| {
            Process::new(append_many, (d.clone(), who, 40))
                .start()
                .unwrap()
        })
        .collect();
    for worker in workers {
        assert!(worker.join_timeout(TIMEOUT).unwrap());
    }
    let mut seen = d.get(&"seen".to_owned()).unwrap().unwrap();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 120);
    manager.shutdown().unwrap();
}

/// Receives a proxy through a queue, from a process that is already running.
fn proxy_from_queue(queue: Queue<NamespaceProxy>) -> Result<String, String> {
    let ns = queue.get_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    let greeting: String = ns
        .get("greeting")
        .map_err(|e| e.to_string())?
        .ok_or("unset")?;
    ns.set("reply", &format!("{greeting}, back"))
        .map_err(|e| e.to_string())?;
    Ok(greeting)
}

#[test]
fn a_proxy_travels_through_a_queue_to_a_running_process() {
    let manager = Manager::start().unwrap();
    let queue = Queue::<NamespaceProxy>::new().unwrap();
    let child = Process::new(proxy_from_queue, queue.clone())
        .start()
        .unwrap();
    let ns = manager.namespace().unwrap();
    ns.set("greeting", "hello").unwrap();
    queue.put(&ns).unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap().unwrap(), "hello");
    assert_eq!(
        ns.get::<String>("reply").unwrap().as_deref(),
        Some("hello, back")
    );
    manager.shutdown().unwrap();
}

/// Connects to a manager by address (as a process on another host would) and uses it.
fn remote_client((address, n): (String, u64)) -> Result<u64, String> {
    let manager = Manager::connect(address.as_str(), Auth::Program).map_err(|e| e.to_string())?;
    let d = manager.dict::<u64, u64>().map_err(|e| e.to_string())?;
    for i in 0..n {
        d.insert(&i, &(i * i)).map_err(|e| e.to_string())?;
    }
    let sum = d.values().map_err(|e| e.to_string())?.iter().sum();
    Ok(sum)
}

#[test]
fn a_remote_manager_on_tcp_loopback_is_used_by_another_process() {
    for method in METHODS {
        let server = Server::bind("127.0.0.1:0", Auth::Program).unwrap();
        let address = server.address().to_string();
        let serving = thread::spawn(move || server.serve_forever());
        let child = Process::new(remote_client, (address.clone(), 10))
            .start_method(method)
            .start()
            .unwrap();
        assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(285), "{method:?}");
        Manager::connect(address.as_str(), Auth::Program)
            .unwrap()
            .shutdown()
            .unwrap();
        threads::join(serving).unwrap().unwrap();
    }
}

#[test]
fn a_remote_manager_refuses_a_wrong_key() {
    let server = Server::bind("127.0.0.1:0", b"right key").unwrap();
    let address = server.address().clone();
    let serving = thread::spawn(move || server.serve_forever());
    let refused = Manager::connect(&address, b"wrong key").unwrap_err();
    assert!(
        refused.to_string().contains("manager connection"),
        "{refused}"
    );
    let manager = Manager::connect(&address, b"right key").unwrap();
    let v = manager.value(&1i32).unwrap();
    assert_eq!(v.add(2).unwrap(), 3);
    manager.shutdown().unwrap();
    threads::join(serving).unwrap().unwrap();
}

/// Connects with `key`, then uses a proxy that arrived as an argument.
fn keyed_client((address, list): (String, ListProxy<u32>)) -> Result<usize, String> {
    let _manager = Manager::connect(address.as_str(), b"own key").map_err(|e| e.to_string())?;
    list.push(&7).map_err(|e| e.to_string())?;
    list.len().map_err(|e| e.to_string())
}

/// Uses a proxy that arrived, without connecting first: the program key is refused.
fn unkeyed_client(list: ListProxy<u32>) -> String {
    list.push(&8)
        .map_or_else(|e| e.to_string(), |()| "accepted".to_owned())
}

#[test]
fn a_proxy_of_a_manager_with_its_own_key_authenticates_as_its_process_connected() {
    let server = Server::bind("127.0.0.1:0", b"own key").unwrap();
    let address = server.address().to_string();
    let serving = thread::spawn(move || server.serve_forever());
    let manager = Manager::connect(address.as_str(), b"own key").unwrap();
    let list = manager.list::<u32>().unwrap();
    let keyed = Process::new(keyed_client, (address.clone(), list.clone()))
        .start()
        .unwrap();
    assert_eq!(keyed.join_timeout(TIMEOUT).unwrap(), Ok(1));
    let unkeyed = Process::new(unkeyed_client, list.clone()).start().unwrap();
    let refused = unkeyed.join_timeout(TIMEOUT).unwrap();
    assert!(refused.contains("manager connection"), "{refused}");
    assert_eq!(list.snapshot().unwrap(), [7]);
    manager.shutdown().unwrap();
    threads::join(serving).unwrap().unwrap();
}
