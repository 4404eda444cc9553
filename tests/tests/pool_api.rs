//! The pool's API against Python's behaviour: results, ordering, chunking, initializer,
//! maxtasksperchild, callbacks, timeouts and errors. Under every start method.

#![allow(
    clippy::needless_pass_by_value,
    reason = "task arguments arrive by value: they are deserialized in the worker"
)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use integration_tests::gate::{self, Gate, Opener};
use integration_tests::pools::{self, TestPool, pool};
use integration_tests::{METHODS, TIMEOUT};
use mproc::prelude::*;

fn square(x: u64) -> u64 {
    x * x
}

#[pool_task]
fn add(a: i32, b: i32) -> (i32, i32, i32) {
    (a, b, a + b)
}

fn whoami(_: u32) -> u32 {
    std::process::id()
}

/// How the worker running this task was started.
fn how_started(_: ()) -> Option<StartMethod> {
    mproc::diag::started_by()
}

/// Each pool's workers are started its own way, whatever the others use: one pool per method,
/// all running at once.
#[test]
fn each_pool_starts_its_workers_with_its_own_method() {
    let pools: Vec<_> = METHODS.iter().map(|&m| (m, pool(1, m))).collect();
    for (method, p) in &pools {
        assert_eq!(p.apply(how_started, ()).unwrap(), Some(*method));
    }
    for (method, p) in pools.iter().rev() {
        assert_eq!(
            p.map(how_started, [(), ()]).unwrap(),
            [Some(*method), Some(*method)],
            "again, in the other order"
        );
    }
}

#[test]
fn every_method_returns_the_right_values_in_the_right_order() {
    for method in METHODS {
        let p = pool(3, method);
        assert_eq!(p.apply(square, 7).unwrap(), 49);
        assert_eq!(
            p.apply_async(square, 8)
                .unwrap()
                .get_timeout(TIMEOUT)
                .unwrap(),
            64
        );
        let expected: Vec<u64> = (0..200).map(|x| x * x).collect();
        assert_eq!(p.map(square, 0..200).unwrap(), expected);
        assert_eq!(p.map_chunked(square, 0..200, 1).unwrap(), expected);
        assert_eq!(
            p.map_chunked(square, 0..200, 1000).unwrap(),
            expected,
            "chunk > input"
        );
        assert_eq!(
            p.map_async(square, 0..200)
                .run()
                .unwrap()
                .get_timeout(TIMEOUT)
                .unwrap(),
            expected
        );
        assert_eq!(
            pools::collect(p.imap(square, 0..200))
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .unwrap(),
            expected
        );
        let chunked = p.imap(square, 0..200).chunksize(7);
        assert_eq!(
            pools::collect(chunked)
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
                .unwrap(),
            expected
        );
        let unordered: BTreeSet<u64> = pools::collect(p.imap_unordered(square, 0..200))
            .into_iter()
            .map(Result::unwrap)
            .collect();
        assert_eq!(unordered, expected.iter().copied().collect());
        let pairs = [(1, 2), (3, 4)];
        assert_eq!(p.starmap(add, pairs).unwrap(), [(1, 2, 3), (3, 4, 7)]);
        let star = p.starmap_async(add, pairs).chunksize(1).run().unwrap();
        assert_eq!(star.get_timeout(TIMEOUT).unwrap(), [(1, 2, 3), (3, 4, 7)]);
        assert_eq!(
            p.map(square, Vec::<u64>::new()).unwrap(),
            Vec::<u64>::new(),
            "empty input"
        );
        assert_eq!(
            p.apply(|()| 5u8, ()).unwrap(),
            5,
            "a task without arguments"
        );
        p.close();
        p.join_timeout(TIMEOUT).unwrap();
    }
}

#[test]
fn chunksize_zero_is_refused() {
    let p = pool(1, StartMethod::Fork);
    assert!(matches!(
        p.map_chunked(square, 0..3, 0),
        Err(TaskError::Pool(PoolError::ZeroChunksize))
    ));
    assert!(matches!(
        Pool::map(&p, square, 0..3).chunksize(0).run(),
        Err(TaskError::Pool(PoolError::ZeroChunksize))
    ));
    assert!(matches!(
        p.map_async(square, 0..3).chunksize(0).run(),
        Err(TaskError::Pool(PoolError::ZeroChunksize))
    ));
    // The iterators say it at their first item, and end there.
    let mut ordered = p.imap(square, 0..3).chunksize(0);
    assert!(matches!(
        ordered.next_timeout(TIMEOUT),
        Some(Err(TaskError::Pool(PoolError::ZeroChunksize)))
    ));
    assert!(ordered.next_timeout(TIMEOUT).is_none());
    let mut unordered = p.imap_unordered(square, 0..3).chunksize(0);
    assert!(matches!(
        unordered.next_timeout(TIMEOUT),
        Some(Err(TaskError::Pool(PoolError::ZeroChunksize)))
    ));
    assert!(unordered.next_timeout(TIMEOUT).is_none());
    assert!(matches!(Pool::new(0), Err(PoolError::NoProcesses)));
    assert!(matches!(
        Pool::builder().processes(1).maxtasksperchild(0).build(),
        Err(PoolError::ZeroMaxTasks)
    ));
}

static INIT_RUNS: AtomicU32 = AtomicU32::new(0);
static INIT_TAG: Mutex<String> = Mutex::new(String::new());

fn init(tag: String) {
    INIT_RUNS.fetch_add(1, Ordering::SeqCst);
    *INIT_TAG.lock().unwrap() = tag;
}

fn report_init(_: u32) -> (u32, u32, String) {
    (
        std::process::id(),
        INIT_RUNS.load(Ordering::SeqCst),
        INIT_TAG.lock().unwrap().clone(),
    )
}

#[test]
fn the_initializer_runs_once_per_worker_with_its_arguments() {
    for method in METHODS {
        let p = TestPool::from(
            Pool::builder()
                .processes(2)
                .start_method(method)
                .initializer(init, "ready".to_owned())
                .build()
                .unwrap(),
        );
        let seen = p.map_chunked(report_init, 0..50, 1).unwrap();
        for (_, runs, tag) in &seen {
            assert_eq!((*runs, tag.as_str()), (1, "ready"), "{method:?}");
        }
        assert!(
            INIT_RUNS.load(Ordering::SeqCst) == 0,
            "it runs in the workers, not here"
        );
    }
}

fn failing_init(_: ()) {
    panic!("no database");
}

#[test]
fn a_failing_initializer_fails_the_tasks_instead_of_looping() {
    let p = TestPool::from(
        Pool::builder()
            .processes(2)
            .initializer(failing_init, ())
            .build()
            .unwrap(),
    );
    match p.apply(square, 2) {
        Err(TaskError::Pool(PoolError::InitializerFailed { message })) => {
            assert!(message.contains("no database"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    p.terminate();
}

fn aborting_init(_: ()) {
    std::process::abort();
}

/// Python respawns a worker whose initializer crashes, forever. Here the pool gives up.
#[test]
fn an_initializer_that_crashes_breaks_the_pool_instead_of_respawning_forever() {
    let p = TestPool::from(
        Pool::builder()
            .processes(2)
            .initializer(aborting_init, ())
            .build()
            .unwrap(),
    );
    match p.apply(square, 2) {
        Err(TaskError::Pool(PoolError::InitializerFailed { message })) => {
            assert!(
                message.contains("before their initializer finished"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Seed 004: `maxtasksperchild=9` with chunksize 1 replaces the worker for the 10th task;
/// with chunksize 2 there are only five tasks and the worker stays.
#[test]
fn maxtasksperchild_replaces_workers() {
    for method in METHODS {
        let p = Pool::builder()
            .processes(1)
            .maxtasksperchild(9)
            .start_method(method)
            .build();
        let p = TestPool::from(p.unwrap());
        let pids = p.map_chunked(whoami, 1..=10, 1).unwrap();
        let distinct: BTreeSet<u32> = pids.iter().copied().collect();
        assert_eq!(distinct.len(), 2, "{method:?}: {pids:?}");
        assert!(pids[..9].iter().all(|&p| p == pids[0]) && pids[9] != pids[0]);
        let pids = p.map_chunked(whoami, 1..=10, 2).unwrap();
        assert_eq!(pids.iter().collect::<BTreeSet<_>>().len(), 1, "{pids:?}");
    }
}

fn fail_on_three(x: u32) -> u32 {
    assert!(x != 3, "three is not allowed");
    x
}

#[test]
fn callbacks_run_in_this_process_and_join_waits_for_them() {
    let p = pool(2, StartMethod::Fork);
    let log = Arc::new(Mutex::new(Vec::new()));
    for x in [1, 3] {
        let (ok, err) = (Arc::clone(&log), Arc::clone(&log));
        p.apply_async(fail_on_three, x)
            .unwrap()
            .on_success(move |v| ok.lock().unwrap().push(format!("ok {v}")))
            .on_error(move |e| err.lock().unwrap().push(format!("err {e}")));
    }
    let all = Arc::clone(&log);
    p.map_async(square, 1..=3)
        .run()
        .unwrap()
        .on_success(move |v| all.lock().unwrap().push(format!("map {v:?}")));
    p.close();
    p.join_timeout(TIMEOUT).unwrap();
    let mut log = log.lock().unwrap().clone();
    log.sort();
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(
        log[0].starts_with("err task `fn(u32) -> u32` (submitted at tests/tests/pool_api.rs:")
            && log[0].contains(") panicked at tests/tests/pool_api.rs:")
            && log[0].ends_with(": three is not allowed"),
        "{}",
        log[0]
    );
    assert_eq!(log[1], "map [1, 4, 9]");
    assert_eq!(log[2], "ok 1");
}

#[test]
fn a_slow_callback_does_not_stall_results() {
    let p = pool(2, StartMethod::Fork);
    let (release, gate) = gate::gate();
    let gate = Mutex::new(Some(gate));
    p.apply_async(square, 1).unwrap().on_success(move |_| {
        let gate = gate.lock().unwrap().take().unwrap();
        assert_eq!(gate.wait(TIMEOUT), gate::Passed::Opened);
    });
    // The callback thread is blocked; results still come.
    assert_eq!(p.map(square, 0..50).unwrap().len(), 50);
    release.open();
    p.close();
    p.join_timeout(TIMEOUT).unwrap();
}

fn wait_then_square((gate, x): (Gate, u64)) -> u64 {
    assert_eq!(gate.wait(TIMEOUT), gate::Passed::Opened);
    x * x
}

#[test]
fn get_timeout_on_a_slow_task_loses_nothing() {
    for method in METHODS {
        let p = pool(1, method);
        let (opener, gate) = gate::gate();
        let result = p.apply_async(wait_then_square, (gate, 9)).unwrap();
        assert!(matches!(
            result.get_timeout(Duration::from_millis(20)),
            Err(TaskError::Timeout)
        ));
        assert!(!result.ready());
        assert!(matches!(result.successful(), Err(PoolError::NotReady)));
        opener.open();
        assert_eq!(result.get_timeout(TIMEOUT).unwrap(), 81);
        assert!(result.ready());
        assert!(result.successful().unwrap());
        assert_eq!(result.get().unwrap(), 81, "get can be asked again");
    }
}

#[test]
fn a_panicking_task_reports_its_message_and_the_worker_survives() {
    let p = pool(1, StartMethod::Fork);
    let before = p.apply(whoami, 0).unwrap();
    match p.apply(fail_on_three, 3) {
        Err(TaskError::Panicked { task, message, .. }) => {
            assert_eq!(task.signature(), "fn(u32) -> u32");
            let at = task.submitted_at().expect("submitted here");
            assert_eq!((at.file(), at.line()), (file!(), line!() - 4), "{task}");
            assert_eq!(message, "three is not allowed");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.apply(whoami, 0).unwrap(), before, "same worker");
    // In a map, the first failure is the map's error.
    assert!(matches!(
        p.map(fail_on_three, 0..10),
        Err(TaskError::Panicked { .. })
    ));
    let items: Vec<Result<u32, TaskError>> = pools::collect(p.imap(fail_on_three, 0..5));
    assert!(items[3].is_err() && items.iter().filter(|r| r.is_ok()).count() == 4);
}

/// A value whose serialization always fails.
#[derive(Debug, serde::Deserialize)]
struct Unsendable;

impl serde::Serialize for Unsendable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this value refuses to travel"))
    }
}

fn make_unsendable(_: u8) -> Unsendable {
    Unsendable
}

fn take_unsendable(_: Unsendable) -> u8 {
    0
}

#[test]
fn serialization_errors_are_typed_and_the_worker_is_not_lost() {
    let p = pool(1, StartMethod::Fork);
    let pid = p.apply(whoami, 0).unwrap();
    assert!(matches!(
        p.apply(take_unsendable, Unsendable),
        Err(TaskError::EncodeArgs { .. })
    ));
    match p.apply(make_unsendable, 0) {
        Err(TaskError::EncodeResult { message, .. }) => {
            assert!(message.contains("refuses to travel"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(p.apply(whoami, 0).unwrap(), pid);
}

/// A value that refuses to serialize when it is 13.
#[derive(Debug, serde::Deserialize)]
struct Picky(u8);

impl serde::Serialize for Picky {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(serde::ser::Error::custom("13 does not travel"));
        }
        s.serialize_u8(self.0)
    }
}

fn report_picky((picky, done): (Picky, Queue<u8>)) -> u8 {
    done.put(&picky.0).unwrap();
    picky.0
}

/// A map whose later chunk holds an argument that cannot travel fails with `EncodeArgs`
/// before any chunk runs: the chunks before it, encoded already, were not submitted.
#[test]
fn a_map_with_an_argument_that_cannot_travel_runs_no_chunk() {
    let p = pool(1, StartMethod::Fork);
    let done = Queue::<u8>::new().unwrap();
    let items: Vec<(Picky, Queue<u8>)> = [1, 2, 3, 4, 13, 5]
        .into_iter()
        .map(|n| (Picky(n), done.clone()))
        .collect();
    assert!(matches!(
        Pool::map(&p, report_picky, items).chunksize(2).run(),
        Err(TaskError::EncodeArgs { .. })
    ));
    // One worker takes chunks in submission order: once a later task has run, any chunk of
    // the failed map would have run before it.
    let pid = p.apply(whoami, 0).unwrap();
    assert!(pid > 0);
    assert!(
        matches!(done.try_get(), Err(QueueError::Empty)),
        "a chunk ran"
    );
    let ok = Pool::map(
        &p,
        report_picky,
        vec![(Picky(1), done.clone()), (Picky(2), done.clone())],
    )
    .run()
    .unwrap();
    assert_eq!(ok, [1, 2]);
}

/// Python's `imap` reads its whole input first; here an endless input is read only as far as
/// the results taken, plus a bounded window.
#[test]
fn imap_over_an_endless_input_stays_bounded() {
    let p = pool(2, StartMethod::Fork);
    let pulled = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&pulled);
    let endless = (0u64..).inspect(move |_| {
        counter.fetch_add(1, Ordering::SeqCst);
    });
    let mut results = p.imap(square, endless);
    let taken: Vec<u64> = (0..1000)
        .map(|_| results.next_timeout(TIMEOUT).unwrap().unwrap())
        .collect();
    assert_eq!(taken.len(), 1000);
    assert_eq!(taken[999], 999 * 999);
    let pulled = pulled.load(Ordering::SeqCst);
    assert!(
        pulled <= 1000 + 2 * p.processes() + 1,
        "read {pulled} input items for 1000 results"
    );
}

#[test]
fn imap_next_timeout_loses_nothing() {
    let p = pool(1, StartMethod::Fork);
    let (opener, gate) = gate::gate();
    let mut it = p.imap(wait_then_square, [(gate, 3)]);
    assert!(matches!(
        it.next_timeout(Duration::from_millis(20)),
        Some(Err(TaskError::Timeout))
    ));
    opener.open();
    assert_eq!(it.next_timeout(TIMEOUT).unwrap().unwrap(), 9);
    assert!(it.next().is_none());
}

fn send_through((conn, text): (Connection<String>, String)) -> usize {
    conn.send(&text.to_uppercase()).unwrap();
    text.len()
}

fn write_file((fd, text): (mproc::codec::Fd, String)) {
    use std::io::Write;
    std::fs::File::from(fd.into_inner())
        .write_all(text.as_bytes())
        .unwrap();
}

/// Handles made after the pool started reach its workers with the tasks.
#[test]
fn handles_created_after_the_pool_started_are_task_arguments() {
    for method in METHODS {
        let p = pool(2, method);
        let (here, there) = Pipe::<String>::new().unwrap();
        assert_eq!(
            p.apply(send_through, (there, "pooled".to_owned())).unwrap(),
            6
        );
        assert_eq!(here.recv_timeout(TIMEOUT).unwrap(), "POOLED");
        let path =
            std::env::temp_dir().join(format!("mproc-pool-{}-{method:?}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let fd = mproc::codec::Fd::from(std::os::fd::OwnedFd::from(file));
        p.apply(write_file, (fd, "from a worker".to_owned()))
            .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "from a worker");
        std::fs::remove_file(path).unwrap();
    }
}

#[test]
fn a_closed_pool_refuses_tasks_and_join_needs_close() {
    let p = pool(1, StartMethod::Fork);
    assert!(matches!(p.join(), Err(PoolError::StillRunning)));
    p.close();
    assert!(matches!(
        p.apply(square, 1),
        Err(TaskError::Pool(PoolError::NotRunning))
    ));
    p.join_timeout(TIMEOUT).unwrap();
}

fn hold(gate: Gate) -> u8 {
    assert_eq!(gate.wait(TIMEOUT), gate::Passed::Opened);
    1
}

#[test]
fn dropping_a_pool_finishes_its_tasks_first() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let (opener, gate): (Opener, Gate) = gate::gate();
    {
        // A plain `Pool`: its own `Drop` is under test (the task is released before the drop).
        let p = Pool::new(1).unwrap();
        let seen = Arc::clone(&log);
        p.apply_async(hold, gate)
            .unwrap()
            .on_success(move |v| seen.lock().unwrap().push(v));
        opener.open();
    }
    assert_eq!(*log.lock().unwrap(), [1]);
}

/// A pipe made in the worker, with one message already in it: the result carries a handle.
fn pipe_with_greeting(n: u32) -> mproc::pipe::Receiver<String> {
    let (rx, tx) = Pipe::<String>::simplex().unwrap();
    tx.send(&format!("hello {n}")).unwrap();
    rx
}

/// `len` bytes counting up modulo 251 (a prime, so no power-of-two period hides a shift).
fn bytes_of(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from(i % 251).unwrap()).collect()
}

/// Results come back whole and in order whatever they hold: handles (their descriptors travel
/// beside the report queue), small values (in it), and values larger than its ring.
#[test]
fn results_with_handles_and_results_of_every_size_come_back() {
    for method in METHODS {
        let p = pool(2, method);
        let ends = p.map_chunked(pipe_with_greeting, 0..6, 1).unwrap();
        for (n, end) in ends.into_iter().enumerate() {
            assert_eq!(end.recv_timeout(TIMEOUT).unwrap(), format!("hello {n}"));
        }
        let sizes = [
            0,
            1,
            100,
            4 << 10,
            100 << 10,
            200 << 10,
            1 << 20,
            3 << 20,
            7,
        ];
        let got = p.map_chunked(bytes_of, sizes, 1).unwrap();
        assert_eq!(got.len(), sizes.len(), "{method:?}");
        for (value, len) in got.iter().zip(sizes) {
            assert!(*value == bytes_of(len), "{method:?}: the {len}-byte result");
        }
        p.close();
        p.join_timeout(TIMEOUT).unwrap();
    }
}

/// A task's error names its type and the line of the call that submitted it, through every
/// entry point (a function pointer carries no name of its own).
#[test]
fn a_failed_task_names_its_type_and_the_call_that_submitted_it() {
    let p = pool(1, StartMethod::Fork);
    let at = |e: &TaskError| match e {
        TaskError::Panicked { task, .. } => {
            assert_eq!(task.signature(), "fn(u32) -> u32");
            let at = task.submitted_at().expect("submitted in this process");
            assert_eq!(at.file(), file!());
            assert!(
                task.to_string()
                    .starts_with("`fn(u32) -> u32` (submitted at ")
            );
            at.line()
        }
        other => panic!("{other:?}"),
    };
    let line = line!() + 1;
    let pending = p.map_async(fail_on_three, [3]).run().unwrap();
    assert_eq!(
        at(&pending.get_timeout(TIMEOUT).unwrap_err()),
        line,
        "map_async"
    );
    let line = line!() + 1;
    let mut results = p.imap(fail_on_three, [3]);
    let e = results.next_timeout(TIMEOUT).unwrap().unwrap_err();
    assert_eq!(at(&e), line, "imap");
    let line = line!() + 1;
    let pending = p.apply_async(fail_on_three, 3).unwrap();
    assert_eq!(
        at(&pending.get_timeout(TIMEOUT).unwrap_err()),
        line,
        "apply_async"
    );
    let line = line!() + 1;
    let pending = p.starmap_async(fail_on_three, [3]).run().unwrap();
    assert_eq!(
        at(&pending.get_timeout(TIMEOUT).unwrap_err()),
        line,
        "starmap_async"
    );
}
