//! Issue #19, custom objects: `#[managed]` types held by a manager in a child process, called
//! from several processes at once under every start method, served remotely on TCP loopback,
//! a panicking method, and hostile calls (unknown method ids, truncated or trailing argument
//! bytes, unknown objects and types) that get typed errors while the server keeps serving.
//! `CPython`'s `test_mymanager*` cases are ported in `python_custom_manager_*`, in our own words.

#![allow(
    clippy::needless_pass_by_value,
    reason = "process targets take their arguments by value: they arrive deserialized"
)]

use integration_tests::forged::custom_proxy;
use integration_tests::gate::{Gate, Passed, gate};
use integration_tests::{METHODS, TIMEOUT};
use mproc::connection::{Auth, Sentinel, wait};
use mproc::manager::{
    Manager, ManagerError, ObjectError, ObjectHandle, RemoteError, Server, method_id,
};
use mproc::pipe::Sender;
use mproc::prelude::*;
use serde::{Deserialize, Serialize};

/// A counter: the object every process increments.
#[derive(Debug)]
struct Counter {
    n: u64,
}

#[mproc::managed]
impl Counter {
    pub(crate) fn new(start: u64) -> Self {
        Self { n: start }
    }

    /// Adds `by` and returns the new total (two steps that a lost update would break).
    pub(crate) fn add(&mut self, by: u64) -> u64 {
        let before = self.n;
        self.n = before + by;
        self.n
    }

    pub(crate) fn get(&self) -> u64 {
        self.n
    }

    /// Changes the counter, then panics: the change stays, as in Python.
    pub(crate) fn add_then_panic(&mut self, by: u64, message: String) -> u64 {
        self.n += by;
        panic!("{message}");
    }

    /// Not `pub`: not reachable through the proxy (Python's `_h`, not exposed).
    #[allow(dead_code, reason = "called only through the manager's refusal")]
    fn reset(&mut self) {
        self.n = 0;
    }
}

/// Python's `FooBar`: `f` answers, `g` fails with the type's own error.
#[derive(Debug, Serialize, Deserialize)]
struct FooBar;

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct ValueError(String);

#[mproc::managed]
#[allow(
    clippy::unused_self,
    reason = "Python's `FooBar` methods ignore `self` too"
)]
impl FooBar {
    pub(crate) fn f(&self) -> String {
        "f()".to_owned()
    }

    pub(crate) fn g(&self) -> Result<(), ValueError> {
        Err(ValueError("g() refuses".to_owned()))
    }

    #[allow(dead_code, reason = "not exposed: reached only by a hand-made call")]
    fn h(&self) -> String {
        "_h()".to_owned()
    }
}

/// Python's `baz` generator behind an `IteratorProxy`: the squares below `limit`, one per call.
#[derive(Debug)]
struct Squares {
    next: u64,
    limit: u64,
}

#[mproc::managed]
impl Squares {
    pub(crate) fn new(limit: u64) -> Self {
        Self { next: 0, limit }
    }

    pub(crate) fn next(&mut self) -> Option<u64> {
        (self.next < self.limit).then(|| {
            self.next += 1;
            (self.next - 1) * (self.next - 1)
        })
    }
}

/// A type no manager in these tests registers.
#[derive(Debug, Serialize, Deserialize)]
struct Unregistered(u8);

#[mproc::managed]
impl Unregistered {
    pub(crate) fn get(&self) -> u8 {
        self.0
    }
}

/// Another type named `Counter`, to collide with the first.
mod other {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    pub(crate) struct Counter;

    #[mproc::managed]
    impl Counter {
        #[allow(clippy::unused_self, reason = "a method, so that the proxy has one")]
        pub(crate) fn zero(&self) -> u64 {
            0
        }
    }
}

fn custom_manager(method: StartMethod) -> Manager {
    Manager::builder()
        .register::<Counter>()
        .register::<FooBar>()
        .register::<Squares>()
        .start_method(method)
        .start()
        .unwrap()
}

/// Adds 1 `times` times; returns the totals it saw, which must increase.
fn increment((counter, times): (CounterProxy, u64)) -> Result<Vec<u64>, String> {
    (0..times)
        .map(|_| counter.add(1).map_err(|e| e.to_string()))
        .collect()
}

#[test]
fn four_processes_increment_a_custom_counter_exactly_under_every_method() {
    for method in METHODS {
        let manager = custom_manager(method);
        let counter: CounterProxy = manager.create::<Counter>(1000).unwrap();
        let workers: Vec<_> = (0..4)
            .map(|_| {
                Process::new(increment, (counter.clone(), 250))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        let mut seen = Vec::new();
        for worker in workers {
            let totals = worker.join_timeout(TIMEOUT).unwrap().unwrap();
            assert!(totals.windows(2).all(|w| w[0] < w[1]), "{method:?}");
            seen.extend(totals);
        }
        // Every total from 1001 to 2000 was returned exactly once: no update was lost.
        seen.sort_unstable();
        assert_eq!(seen, (1001..=2000).collect::<Vec<_>>(), "{method:?}");
        assert_eq!(counter.get().unwrap(), 2000, "{method:?}");
        manager.shutdown().unwrap();
    }
}

/// Receives a proxy through a queue, from a process that is already running.
fn proxy_from_queue(queue: Queue<CounterProxy>) -> Result<u64, String> {
    let counter = queue.get_timeout(TIMEOUT).map_err(|e| e.to_string())?;
    counter.add(5).map_err(|e| e.to_string())
}

#[test]
fn a_custom_proxy_travels_through_a_queue_to_a_running_process() {
    let manager = custom_manager(StartMethod::ForkServer);
    let queue = Queue::<CounterProxy>::new().unwrap();
    let child = Process::new(proxy_from_queue, queue.clone())
        .start()
        .unwrap();
    let counter = manager.create::<Counter>(1).unwrap();
    queue.put(&counter).unwrap();
    assert_eq!(child.join_timeout(TIMEOUT).unwrap(), Ok(6));
    assert_eq!(counter.get().unwrap(), 6);
    manager.shutdown().unwrap();
}

/// Serves `Counter` on TCP loopback with its own key; reports the address.
fn remote_server(report: Sender<String>) -> Result<(), String> {
    let server = Server::bind("127.0.0.1:0", b"remote key")
        .and_then(Server::register::<Counter>)
        .map_err(|e| e.to_string())?;
    report
        .send(&server.address().to_string())
        .map_err(|e| e.to_string())?;
    server.serve_forever().map_err(|e| e.to_string())
}

/// Connects by address, as a program on another host would, and adds `by` to a new counter
/// and to a shared one.
fn remote_client((address, shared, by): (String, CounterProxy, u64)) -> Result<u64, String> {
    let manager = Manager::connect(address.as_str(), b"remote key").map_err(|e| e.to_string())?;
    let mine = manager.create::<Counter>(by).map_err(|e| e.to_string())?;
    shared
        .add(mine.get().map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())
}

#[test]
fn a_remote_custom_manager_on_tcp_loopback_serves_other_processes_under_every_method() {
    for method in METHODS {
        let (rx, tx) = Pipe::<String>::simplex().unwrap();
        let server = Process::new(remote_server, tx)
            .start_method(method)
            .daemon(true)
            .start()
            .unwrap();
        let address = rx.recv_timeout(TIMEOUT).unwrap();
        assert!(address.starts_with("127.0.0.1:"), "{address}");
        let manager = Manager::connect(address.as_str(), b"remote key").unwrap();
        let shared = manager.create::<Counter>(0).unwrap();
        let clients: Vec<_> = (1..=3)
            .map(|by| {
                Process::new(remote_client, (address.clone(), shared.clone(), by))
                    .start_method(method)
                    .start()
                    .unwrap()
            })
            .collect();
        for client in clients {
            assert!(client.join_timeout(TIMEOUT).unwrap().is_ok(), "{method:?}");
        }
        assert_eq!(shared.get().unwrap(), 6, "{method:?}");
        // A wrong key is refused before any request is read.
        assert!(matches!(
            Manager::connect(address.as_str(), b"wrong key"),
            Err(ManagerError::Connection(_))
        ));
        manager.shutdown().unwrap();
        assert_eq!(server.join_timeout(TIMEOUT).unwrap(), Ok(()), "{method:?}");
    }
}

#[test]
fn a_panicking_method_is_a_typed_remote_error_and_the_manager_keeps_serving() {
    for method in METHODS {
        let manager = custom_manager(method);
        let counter = manager.create::<Counter>(10).unwrap();
        let other = manager.create::<Counter>(0).unwrap();
        for round in 0..3 {
            let err = counter
                .add_then_panic(1, format!("boom {round}"))
                .unwrap_err();
            let ManagerError::Remote(RemoteError::Object(ObjectError::Panicked {
                type_name,
                message,
                ..
            })) = err
            else {
                panic!("{method:?}: not a panic report: {err}");
            };
            assert_eq!(type_name, "Counter");
            assert_eq!(message, format!("boom {round}"));
        }
        // The object kept what the method did before panicking; everything else is served.
        assert_eq!(counter.add(0).unwrap(), 13, "{method:?}");
        assert_eq!(other.add(2).unwrap(), 2, "{method:?}");
        assert_eq!(manager.create::<Counter>(7).unwrap().get().unwrap(), 7);
        manager.shutdown().unwrap();
    }
}

fn object_error(result: Result<Vec<u8>, ManagerError>) -> ObjectError {
    match result {
        Err(ManagerError::Remote(RemoteError::Object(e))) => e,
        other => panic!("expected an object error, got {other:?}"),
    }
}

#[test]
fn hostile_calls_get_typed_errors_and_the_server_survives() {
    let manager = custom_manager(StartMethod::ForkServer);
    let counter = manager.create::<Counter>(1).unwrap();
    let handle: &ObjectHandle = counter.as_ref();
    let add = method_id("Counter", "add");
    let valid = postcard::to_stdvec(&(41u64,)).unwrap();

    // A method id no method has, and a private method's id.
    for method in [
        0,
        u64::MAX,
        method_id("Counter", "reset"),
        method_id("FooBar", "f"),
    ] {
        let e = object_error(handle.call_raw(method, valid.clone()));
        assert_eq!(
            e,
            ObjectError::UnknownMethod {
                type_name: "Counter".into(),
                method
            }
        );
    }
    // Empty, trailing and garbage (an unterminated varint) argument bytes.
    let mut trailing = valid.clone();
    trailing.push(0);
    for args in [Vec::new(), trailing, vec![0xff; 11]] {
        let e = object_error(handle.call_raw(add, args.clone()));
        assert!(
            matches!(e, ObjectError::BadArguments { .. }),
            "{args:?}: {e:?}"
        );
    }
    // Two arguments, truncated anywhere; and a string whose length claims far more than
    // arrived (nothing of that size is allocated: decoding stops at the end of the bytes).
    let boom = method_id("Counter", "add_then_panic");
    let two = postcard::to_stdvec(&(1u64, "abc")).unwrap();
    for end in 0..two.len() {
        let e = object_error(handle.call_raw(boom, two[..end].to_vec()));
        assert!(
            matches!(e, ObjectError::BadArguments { .. }),
            "{end}: {e:?}"
        );
    }
    let e = object_error(handle.call_raw(boom, vec![1, 0xff, 0xff, 0xff, 0xff, 0x0f, b'x']));
    assert!(matches!(e, ObjectError::BadArguments { .. }), "{e:?}");

    // The real id with the right bytes works, and nothing above changed the counter.
    let bytes = handle.call_raw(add, valid).unwrap();
    assert_eq!(postcard::from_bytes::<u64>(&bytes).unwrap(), 42);
    assert_eq!(counter.get().unwrap(), 42);
    manager.shutdown().unwrap();
}

#[test]
fn forged_proxies_get_typed_errors_for_unknown_objects_and_wrong_types() {
    let manager = custom_manager(StartMethod::ForkServer);
    let counter = manager.create::<Counter>(1).unwrap();
    let squares = manager.create::<Squares>(3).unwrap();
    let address = manager.address().to_string();
    let forge = |id: u64, type_name: &str| custom_proxy(&address, id, type_name);
    // An id nobody created.
    let ghost: CounterProxy = postcard::from_bytes(&forge(999, "Counter")).unwrap();
    assert!(matches!(
        ghost.get(),
        Err(ManagerError::Remote(RemoteError::Object(
            ObjectError::UnknownObject { id: 999 }
        )))
    ));
    // The squares' id under the counter's type: refused by the server, which checks types.
    let squares_id = squares.as_ref().id();
    let disguised: CounterProxy = postcard::from_bytes(&forge(squares_id, "Counter")).unwrap();
    let e = disguised.get().unwrap_err();
    assert!(
        matches!(
            &e,
            ManagerError::Remote(RemoteError::Object(ObjectError::WrongType { found, .. }))
                if found == "Squares"
        ),
        "{e}"
    );
    // A counter proxy that arrives where a squares proxy is expected does not decode.
    assert!(postcard::from_bytes::<SquaresProxy>(&postcard::to_stdvec(&counter).unwrap()).is_err());
    // A type the manager never registered.
    let e = manager.create::<Unregistered>(Unregistered(1)).unwrap_err();
    assert!(
        matches!(
            &e,
            ManagerError::Remote(RemoteError::Object(ObjectError::UnknownType { name }))
                if name == "Unregistered"
        ),
        "{e}"
    );
    assert_eq!(counter.add(1).unwrap(), 2);
    assert_eq!(squares.next().unwrap(), Some(0));
    manager.shutdown().unwrap();
}

#[test]
fn two_types_under_one_name_are_refused_before_anything_starts() {
    let refused = Manager::builder()
        .register::<Counter>()
        .register::<other::Counter>()
        .start()
        .unwrap_err();
    assert!(
        matches!(&refused, ManagerError::DuplicateName(name) if name == "Counter"),
        "{refused}"
    );
    let server = Server::bind("127.0.0.1:0", Auth::Program).unwrap();
    let server = server
        .register::<Counter>()
        .unwrap()
        .register::<Counter>()
        .unwrap();
    assert!(matches!(
        server.register::<other::Counter>(),
        Err(ManagerError::DuplicateName(_))
    ));
}

/// What `CPython`'s `test_mymanager*` check of a custom manager, on one started manager.
fn python_common(manager: &Manager) {
    let foobar = manager.create::<FooBar>(FooBar).unwrap();
    assert_eq!(foobar.f().unwrap(), "f()");
    // Python: `assertRaises(ValueError, foo.g)`. Here the method's own error, typed.
    assert_eq!(
        foobar.g().unwrap(),
        Err(ValueError("g() refuses".to_owned()))
    );
    // Python: `foo._callmethod('_h')` raises `RemoteError`: an unexposed method is refused.
    let handle: &ObjectHandle = foobar.as_ref();
    assert_eq!(
        postcard::from_bytes::<String>(
            &handle
                .call_raw(method_id("FooBar", "f"), postcard::to_stdvec(&()).unwrap())
                .unwrap()
        )
        .unwrap(),
        "f()"
    );
    assert!(matches!(
        handle.call_raw(method_id("FooBar", "h"), Vec::new()),
        Err(ManagerError::Remote(RemoteError::Object(
            ObjectError::UnknownMethod { .. }
        )))
    ));
    // Python: `list(manager.baz()) == [i * i for i in range(10)]`.
    let squares = manager.create::<Squares>(10).unwrap();
    let seen: Vec<u64> = std::iter::from_fn(|| squares.next().unwrap()).collect();
    assert_eq!(seen, (0..10).map(|i| i * i).collect::<Vec<_>>());
}

#[test]
fn python_custom_manager_started_and_shut_down_under_every_method() {
    for method in METHODS {
        let manager = custom_manager(method);
        python_common(&manager);
        // Python checks the exit code is 0: `shutdown` reports a server that failed.
        manager.shutdown().unwrap();
    }
}

/// Starts a custom manager, uses it, reports its pid, and drops it (Python's `with
/// MyManager() as manager:` leaving the block).
fn scoped((report, leave): (Sender<i32>, Gate)) {
    let manager = custom_manager(StartMethod::ForkServer);
    python_common(&manager);
    report.send(&manager.pid().unwrap()).unwrap();
    assert_eq!(leave.wait(TIMEOUT), Passed::Opened);
}

#[test]
fn python_custom_manager_as_a_context_stops_its_server_when_dropped() {
    let (rx, tx) = Pipe::<i32>::simplex().unwrap();
    let (opener, leave) = gate();
    let owner = Process::new(scoped, (tx, leave)).start().unwrap();
    let server = rx.recv_timeout(TIMEOUT).unwrap();
    let sentinel = Sentinel::from_pid(server).unwrap();
    opener.open();
    owner.join_timeout(TIMEOUT).unwrap();
    assert_eq!(wait(&[&sentinel], Some(TIMEOUT)).unwrap(), [0]);
}
