//! Seed 004, "使用进程池实现抢票": ten buyers, run as tasks of a pool of five workers, race for
//! the last ticket; a JSON file is the database and one `Lock` guards the purchase.
//!
//! Python cannot pass a `multiprocessing.Lock` to a pool task ("Lock objects should only be
//! shared between processes through inheritance"), so the seed needs `Manager().Lock()`: a
//! server process, and a socket round trip per `acquire` and `release`. Here the plain `Lock`
//! is a task argument, created after the pool started: its shared memory travels with the task.
//! (`pool_tickets_manager` is the literal port, with a manager's lock proxy.)
//!
//! `cargo run --release -p examples --example pool_tickets` prints (one run; the order varies):
//!
//! ```text
//! buyer 3
//! tickets left: 1
//! buyer 5
//! buyer 7
//! buyer 9
//! buyer 1
//! bought one, 0 left
//! tickets left: 0
//! buyer 4
//! sold out, invite friends to help!
//! tickets left: 0
//! buyer 6
//! sold out, invite friends to help!
//! buyer 10
//! tickets left: 0
//! sold out, invite friends to help!
//! tickets left: 0
//! sold out, invite friends to help!
//! buyer 2
//! tickets left: 0
//! sold out, invite friends to help!
//! tickets left: 0
//! sold out, invite friends to help!
//! tickets left: 0
//! sold out, invite friends to help!
//! buyer 8
//! tickets left: 0
//! sold out, invite friends to help!
//! tickets left: 0
//! sold out, invite friends to help!
//! 10 buyers, 1 ticket sold (buyer 3)
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "pool tasks receive their arguments by value, deserialized"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use mproc::prelude::*;

/// The database file holds `{"count": N}`.
fn load(db: &Path) -> u32 {
    let text = std::fs::read_to_string(db).expect("the database file exists");
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    digits.parse().expect("the database holds {\"count\": N}")
}

fn dump(db: &Path, count: u32) {
    std::fs::write(db, format!("{{\"count\": {count}}}")).expect("the database is writable");
}

/// The seed's `search`: the tickets left.
fn search(db: &Path) -> u32 {
    let count = load(db);
    println!("tickets left: {count}");
    count
}

/// The seed's `get_ticket`: buys one if any is left, with simulated network delays.
fn get_ticket(db: &Path, count: u32) -> bool {
    std::thread::sleep(Duration::from_millis(20)); // reading over the network
    if count == 0 {
        println!("sold out, invite friends to help!");
        return false;
    }
    std::thread::sleep(Duration::from_millis(40)); // writing over the network
    dump(db, count - 1);
    println!("bought one, {} left", count - 1);
    true
}

/// One buyer: the whole look-up and purchase under the shared lock.
#[pool_task]
fn ticket_purchase(lock: Lock, db: PathBuf, buyer: u32) -> bool {
    println!("buyer {buyer}");
    let _held = lock.lock().expect("no buyer dies holding the lock");
    get_ticket(&db, search(&db))
}

fn main() -> mproc::Result<()> {
    let db = std::env::temp_dir().join(format!("mproc-pool-tickets-{}.json", std::process::id()));
    dump(&db, 1); // only the last ticket is left

    let pool = Pool::new(5)?;
    let lock = Lock::new()?; // a plain Lock: no Manager
    let buyers: Vec<AsyncResult<bool>> = (1..=10)
        .map(|buyer| pool.apply_async(ticket_purchase, (lock.clone(), db.clone(), buyer)))
        .collect::<Result<_, _>>()?;
    pool.close();
    pool.join()?;

    let mut winners = Vec::new();
    for (buyer, bought) in (1..=10).zip(&buyers) {
        if bought.get()? {
            winners.push(buyer);
        }
    }
    let to: Vec<String> = winners.iter().map(|b| format!("buyer {b}")).collect();
    println!(
        "10 buyers, {} ticket sold ({})",
        winners.len(),
        to.join(", ")
    );
    assert_eq!(winners.len(), 1, "exactly one sale");
    assert_eq!(load(&db), 0);
    std::fs::remove_file(&db)?;
    Ok(())
}
