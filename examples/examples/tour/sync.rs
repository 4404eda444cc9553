//! Shared memory and synchronization: a `Lock` against overselling, exact counters, an `Event`
//! as a traffic light, and a lock holder killed with `kill -9`.

use std::time::Duration;

use mproc::prelude::*;

use super::section;

/// No wait in the tour should take anywhere near this long.
const PATIENCE: Duration = Duration::from_secs(10);
const BUYERS: u32 = 10;
/// Increments made by each of two counting processes.
const TIMES: u64 = 50_000;

/// Reads the tickets left, waits until every buyer has read, then buys if it saw one.
#[process]
fn buy_racing(tickets: Value<u32>, all_read: Barrier) -> bool {
    let seen = tickets.get();
    all_read
        .wait_timeout(PATIENCE)
        .expect("every buyer arrives");
    if seen > 0 {
        tickets.set(seen - 1);
    }
    seen > 0
}

/// The same purchase with the look-up and the write under one lock.
#[process]
fn buy_locked(tickets: Value<u32>, lock: Lock) -> bool {
    let _held = lock.lock().expect("no buyer dies holding the lock");
    let seen = tickets.get();
    if seen > 0 {
        tickets.set(seen - 1);
    }
    seen > 0
}

/// Python's `v.value += 1`: a locked read, then a locked write, with a gap between.
#[process]
fn add_like_python(v: Value<u64>, start: Barrier, times: u64) {
    start.wait_timeout(PATIENCE).expect("both counters arrive");
    for _ in 0..times {
        v.set(v.get() + 1);
    }
}

#[process]
fn add_exact(v: Value<u64>, start: Barrier, times: u64) {
    start.wait_timeout(PATIENCE).expect("both counters arrive");
    for _ in 0..times {
        v.fetch_add(1);
    }
}

/// A car at the light: waits for green at most `patience`; says whether it got it.
#[process]
fn car(green: Event, arrived: Event, name: String, patience: Duration) -> bool {
    println!("{name} stops at the red light");
    arrived.set();
    let got_green = green.wait_timeout(patience).is_ok();
    if got_green {
        println!("{name} drives on green");
    } else {
        println!("{name} waited {patience:?} and runs the red light");
    }
    got_green
}

/// Takes the lock, says so, and waits to be killed.
#[process]
fn hold_forever(lock: Lock, held: Event) {
    lock.acquire().expect("a fresh lock");
    held.set();
    let never = Event::new().expect("an event");
    let _ = never.wait_timeout(PATIENCE); // killed long before
}

fn sold(buyers: Vec<Child<bool>>) -> mproc::Result<usize> {
    let mut sold = 0;
    for buyer in buyers {
        sold += usize::from(buyer.join()?);
    }
    Ok(sold)
}

fn tickets() -> mproc::Result<()> {
    section("sync: a Lock against overselling the last ticket");
    let left = Value::new(1u32)?;
    let all_read = Barrier::new(BUYERS)?;
    let buyers = (0..BUYERS)
        .map(|_| buy_racing::spawn(left.clone(), all_read.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let n = sold(buyers)?;
    println!("{BUYERS} buyers without a lock: {n} tickets sold for 1 seat");
    assert_eq!(n, 10);

    let (left, lock) = (Value::new(1u32)?, Lock::new()?);
    let buyers = (0..BUYERS)
        .map(|_| buy_locked::spawn(left.clone(), lock.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let n = sold(buyers)?;
    println!(
        "{BUYERS} buyers with a lock: {n} ticket sold, {} left",
        left.get()
    );
    assert_eq!((n, left.get()), (1, 0));
    Ok(())
}

fn counters() -> mproc::Result<()> {
    section("sync: Value::fetch_add is exact across processes (Python's `+=` is not)");
    let (racy, exact) = (Value::new(0u64)?, Value::new(0u64)?);
    let start = Barrier::new(2)?;
    let pair = [
        add_like_python::spawn(racy.clone(), start.clone(), TIMES)?,
        add_like_python::spawn(racy.clone(), start.clone(), TIMES)?,
    ];
    for child in pair {
        child.join()?;
    }
    let pair = [
        add_exact::spawn(exact.clone(), start.clone(), TIMES)?,
        add_exact::spawn(exact.clone(), start.clone(), TIMES)?,
    ];
    for child in pair {
        child.join()?;
    }
    println!(
        "2 processes x {TIMES} `v.set(v.get() + 1)`: {} ({} increments lost, as Python's `+=`)",
        racy.get(),
        2 * TIMES - racy.get()
    );
    println!(
        "2 processes x {TIMES} `v.fetch_add(1)`:    {} (exact)",
        exact.get()
    );
    assert_eq!(exact.get(), 2 * TIMES);
    Ok(())
}

fn traffic_light() -> mproc::Result<()> {
    section("sync: an Event as a traffic light");
    let (green, arrived) = (Event::new()?, Event::new()?);
    let hurried = car::spawn(
        green.clone(),
        arrived.clone(),
        "car 1".into(),
        Duration::from_millis(50),
    )?;
    assert!(!hurried.join()?, "the light is red");
    arrived.clear();
    let patient = car::spawn(green.clone(), arrived.clone(), "car 2".into(), PATIENCE)?;
    assert!(arrived.wait_timeout(PATIENCE).is_ok());
    println!("the light turns green");
    green.set();
    assert!(patient.join()?);
    Ok(())
}

fn killed_holder() -> mproc::Result<()> {
    section("sync: a lock holder killed with kill -9 (Python's next acquire hangs forever)");
    let (lock, held) = (Lock::new()?, Event::new()?);
    let holder = hold_forever::spawn(lock.clone(), held.clone())?;
    assert!(
        held.wait_timeout(PATIENCE).is_ok(),
        "the holder took the lock"
    );
    holder.kill()?;
    println!(
        "holder pid {}: {}",
        holder.pid(),
        holder.join().expect_err("it was killed")
    );
    match lock.acquire_timeout(PATIENCE)? {
        Acquired::OwnerDied { pid } => {
            println!("the next acquire: owner {pid} died; the lock is ours now");
            lock.release()?;
        }
        Acquired::Clean => panic!("expected the owner's death to be reported"),
    }
    lock.acquire()?; // and it is an ordinary lock again
    lock.release()?;
    Ok(())
}

pub(crate) fn run() -> mproc::Result<()> {
    tickets()?;
    counters()?;
    traffic_light()?;
    killed_holder()
}
