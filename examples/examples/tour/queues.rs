//! Queues: producers and consumers ended by `close()`, a `JoinableQueue` join, a megabyte put
//! before a join, a serialization error returned by `put`, and a producer killed with `kill -9`
//! right after its put.

use std::time::Duration;

use mproc::prelude::*;
use serde::ser::Error as _;
use serde::{Deserialize, Serialize, Serializer};

use super::section;

/// No wait in the tour should take anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(10);
const PRODUCERS: u64 = 3;
const ITEMS_EACH: u64 = 100;
const MEGABYTE: usize = 1_000_000;
/// More than half the default ring: this item goes whole to the queue's overflow (in a bounded
/// queue, it would travel in a memfd of its own).
const BIG: usize = 3 << 20;

/// Puts `ITEMS_EACH` numbers starting at `first`.
#[process]
fn produce(q: Queue<u64>, first: u64) {
    for n in first..first + ITEMS_EACH {
        q.put(&n)
            .expect("the queue is open until every producer is joined");
    }
}

/// Takes numbers until the queue is closed and drained: how many, and their sum.
#[process]
fn consume(q: Queue<u64>) -> (u64, u64) {
    q.iter()
        .map(|n| n.expect("a whole item"))
        .fold((0, 0), |(count, sum), n| (count + 1, sum + n))
}

/// Adds the square of each number it takes to `total`, then marks the number done.
#[process]
fn square_into(q: JoinableQueue<u64>, total: Value<u64>) {
    while let Ok(n) = q.get() {
        total.fetch_add(n * n);
        q.task_done().expect("one task_done per item taken");
    }
}

#[process]
fn put_megabyte(q: Queue<Vec<u8>>) {
    q.put(&vec![b'X'; MEGABYTE]).expect("put");
}

/// Puts a small and a big item, says so, and waits to be killed.
#[process]
fn put_then_linger(q: Queue<Vec<u8>>, put_returned: Event) {
    q.put(&b"small".to_vec()).expect("put");
    q.put(&vec![7; BIG]).expect("put");
    put_returned.set();
    let never = Event::new().expect("an event");
    let _ = never.wait_timeout(PATIENCE); // killed long before
}

/// A job for a worker; `Callback` stands for Python's `lambda`, which cannot be pickled.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Job {
    Square(u64),
    #[serde(serialize_with = "refuse")]
    Callback,
}

fn refuse<S: Serializer>(_: S) -> Result<S::Ok, S::Error> {
    Err(S::Error::custom(
        "a closure cannot be sent to another process",
    ))
}

fn close_instead_of_sentinels() -> mproc::Result<()> {
    section("queues: three producers, two consumers, and close() instead of sentinels");
    let q = Queue::new()?;
    let producers = (0..PRODUCERS)
        .map(|p| produce::spawn(q.clone(), p * ITEMS_EACH))
        .collect::<Result<Vec<_>, _>>()?;
    let consumers = [consume::spawn(q.clone())?, consume::spawn(q.clone())?];
    for p in &producers {
        p.join_timeout(PATIENCE)?;
    }
    q.close(); // for everyone: the consumers' loops end once the queue is drained
    let (mut count, mut sum) = (0, 0);
    for (i, c) in consumers.iter().enumerate() {
        let (n, s) = c.join_timeout(PATIENCE)?;
        println!("consumer {i} took {n} numbers");
        (count, sum) = (count + n, sum + s);
    }
    let all = PRODUCERS * ITEMS_EACH;
    println!("{count} numbers taken in all, summing to {sum}: each exactly once");
    assert_eq!((count, sum), (all, all * (all - 1) / 2));
    assert!(matches!(q.put(&0), Err(QueueError::Closed)));
    Ok(())
}

fn joinable() -> mproc::Result<()> {
    section("queues: JoinableQueue — join() returns once every item is task_done()");
    let (q, total) = (JoinableQueue::new()?, Value::new(0u64)?);
    let workers = [
        square_into::builder()
            .daemon(true)
            .spawn(q.clone(), total.clone())?,
        square_into::builder()
            .daemon(true)
            .spawn(q.clone(), total.clone())?,
    ];
    for n in 1..=20 {
        q.put(&n)?;
    }
    q.join_timeout(PATIENCE)?; // QueueError::Timeout if a task_done went missing
    println!(
        "20 items put; join returned with {} unfinished; sum of squares {}",
        q.unfinished(),
        total.get()
    );
    assert_eq!(total.get(), (1..=20).map(|n| n * n).sum::<u64>());
    q.close(); // the daemons could also be left to end with the program
    for w in &workers {
        w.join_timeout(PATIENCE)?;
    }
    Ok(())
}

fn join_before_get() -> mproc::Result<()> {
    section("queues: join a child that put 1 MB, then get (Python deadlocks)");
    let q = Queue::new()?;
    let child = put_megabyte::spawn(q.clone())?;
    match child.join_timeout(PATIENCE) {
        Err(ProcessError::Timeout) => panic!("the child did not exit after its put"),
        other => other?,
    }
    let item = q.get_timeout(PATIENCE)?;
    assert_eq!(item, vec![b'X'; MEGABYTE]);
    println!(
        "joined the child first, then got its {} bytes, all 'X'",
        item.len()
    );
    Ok(())
}

fn put_reports_encode_errors() -> mproc::Result<()> {
    section("queues: put returns the serialization error (Python loses it in a feeder thread)");
    let q = Queue::new()?;
    match q.put(&Job::Callback) {
        Err(e @ QueueError::Encode(_)) => {
            let cause = std::error::Error::source(&e).map(ToString::to_string);
            println!("put(Callback): {e}: {}", cause.unwrap_or_default());
        }
        other => panic!("expected QueueError::Encode, got {other:?}"),
    }
    assert!(q.is_empty(), "nothing was put");
    q.put(&Job::Square(7))?;
    assert_eq!(q.get_timeout(PATIENCE)?, Job::Square(7));
    println!("the queue is still usable: the next put and get went through");
    Ok(())
}

fn killed_producer() -> mproc::Result<()> {
    section("queues: a producer killed with kill -9 right after its puts returned");
    let (q, put_returned) = (Queue::new()?, Event::new()?);
    let producer = put_then_linger::spawn(q.clone(), put_returned.clone())?;
    assert!(
        put_returned.wait_timeout(PATIENCE).is_ok(),
        "the producer put"
    );
    producer.kill()?;
    println!(
        "producer pid {}: {}",
        producer.pid(),
        producer.join_timeout(PATIENCE).expect_err("it was killed")
    );
    let small = q.get_timeout(PATIENCE)?;
    let big = q.get_timeout(PATIENCE)?;
    println!(
        "its items are still delivered: {:?} and {} bytes",
        String::from_utf8_lossy(&small),
        big.len()
    );
    assert_eq!(small, b"small");
    assert_eq!(big, vec![7; BIG]);
    Ok(())
}

pub(crate) fn run() -> mproc::Result<()> {
    close_instead_of_sentinels()?;
    joinable()?;
    join_before_get()?;
    put_reports_encode_errors()?;
    killed_producer()
}
