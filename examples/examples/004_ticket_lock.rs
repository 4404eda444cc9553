//! Seed 004 (and 000): buying the last train ticket, with a JSON file as the database.
//!
//! Ten buyers look the ticket up and then buy it. Without a lock, every buyer reads "1 left"
//! before anyone writes, so all ten buy the single ticket; with a `Lock` around the purchase
//! exactly one does. (A `Barrier` makes every buyer read before anyone writes, so the race
//! shows on every run instead of most runs.)
//!
//! `cargo run --release -p examples --example 004_ticket_lock` prints (one run; the order varies):
//!
//! ```text
//! == without a lock
//! buyer 1 sees 1 ticket left
//! buyer 3 sees 1 ticket left
//! ...
//! buyer 2 sees 1 ticket left
//! buyer 9 bought a ticket, 0 left
//! buyer 8 bought a ticket, 0 left
//! ...
//! buyer 10 bought a ticket, 0 left
//! sold 10 tickets for 1 seat: oversold!
//!
//! == with a lock
//! buyer 1 sees 1 ticket left
//! ...
//! buyer 4 sees 1 ticket left
//! buyer 1 bought a ticket, 0 left
//! buyer 2 found none left, invite friends to help
//! ...
//! buyer 4 found none left, invite friends to help
//! sold 1 ticket for 1 seat
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use mproc::prelude::*;

/// The database: `{"count": N}` in a file.
fn read_db(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).expect("the database file exists");
    text.trim()
        .trim_start_matches("{\"count\":")
        .trim_end_matches('}')
        .trim()
        .parse()
        .expect("the database holds {\"count\": N}")
}

fn write_db(path: &Path, count: u32) {
    std::fs::write(path, format!("{{\"count\": {count}}}")).expect("the database is writable");
}

fn search(db: &Path, who: u32) -> u32 {
    let left = read_db(db);
    println!("buyer {who} sees {left} ticket left");
    left
}

/// The purchase: read, think (simulated network delay), write.
fn buy(db: &Path, who: u32, seen: u32) -> bool {
    std::thread::sleep(Duration::from_millis(50));
    if seen == 0 {
        println!("buyer {who} found none left, invite friends to help");
        return false;
    }
    write_db(db, seen - 1);
    println!("buyer {who} bought a ticket, {} left", seen - 1);
    true
}

#[process]
fn buy_without_lock(db: PathBuf, who: u32, all_read: Barrier) -> bool {
    let seen = search(&db, who);
    // Everyone has read "1 left" before anyone writes: the race, every time.
    all_read
        .wait_timeout(Duration::from_secs(10))
        .expect("all buyers arrive");
    buy(&db, who, seen)
}

#[process]
fn buy_with_lock(db: PathBuf, who: u32, lock: Lock) -> bool {
    search(&db, who); // looking is free for all
    let _held = lock.lock().expect("no buyer dies holding the lock");
    let seen = read_db(&db); // re-read under the lock: the decision uses fresh data
    buy(&db, who, seen)
}

fn sold(buyers: Vec<Child<bool>>) -> mproc::Result<usize> {
    let mut sold = 0;
    for b in buyers {
        sold += usize::from(b.join()?);
    }
    Ok(sold)
}

fn main() -> mproc::Result<()> {
    let db = std::env::temp_dir().join(format!("mproc-tickets-{}.json", std::process::id()));

    println!("== without a lock");
    write_db(&db, 1);
    let all_read = Barrier::new(10)?;
    let buyers = (1..=10)
        .map(|i| buy_without_lock::spawn(db.clone(), i, all_read.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let n = sold(buyers)?;
    println!("sold {n} tickets for 1 seat: oversold!");
    assert_eq!(n, 10);

    println!("\n== with a lock");
    write_db(&db, 1);
    let lock = Lock::new()?;
    let buyers = (1..=10)
        .map(|i| buy_with_lock::spawn(db.clone(), i, lock.clone()))
        .collect::<Result<Vec<_>, _>>()?;
    let n = sold(buyers)?;
    println!("sold {n} ticket for 1 seat");
    assert_eq!(n, 1);
    assert_eq!(read_db(&db), 0);
    std::fs::remove_file(&db)?;
    Ok(())
}
