//! Seed 004, "使用进程池实现抢票", ported literally: the lock that guards the purchase is a
//! `Manager().Lock()`, as the Python seed has it, passed to every pool task.
//!
//! Python needs the manager here, because a `multiprocessing.Lock` cannot be a pool task's
//! argument. mproc does not: `pool_tickets` passes a plain shared-memory `Lock` (no server
//! process, no socket round trip per `acquire` and `release`, a lock held by a buyer that dies
//! is taken over). This port shows the manager's lock proxy for programs that keep the
//! manager anyway, or whose buyers run on other hosts (`Manager::connect` over TCP).
//!
//! `cargo run --release -p examples --example pool_tickets_manager` prints one line per buyer
//! (the order varies) and then `10 buyers, 1 ticket sold (buyer N)`.

#![allow(
    clippy::needless_pass_by_value,
    reason = "pool tasks receive their arguments by value, deserialized"
)]

use std::path::{Path, PathBuf};

use mproc::manager::{LockProxy, Manager};
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

/// One buyer: the look-up and the purchase under the manager's lock (Python's `with lock:`).
#[pool_task]
fn ticket_purchase(lock: LockProxy, db: PathBuf, buyer: u32) -> bool {
    let _held = lock.lock().expect("the manager is reachable");
    let count = load(&db);
    if count == 0 {
        println!("buyer {buyer}: sold out, invite friends to help!");
        return false;
    }
    dump(&db, count - 1);
    println!("buyer {buyer}: bought one, {} left", count - 1);
    true
}

fn main() -> mproc::Result<()> {
    let db = std::env::temp_dir().join(format!(
        "mproc-pool-tickets-manager-{}.json",
        std::process::id()
    ));
    dump(&db, 1); // only the last ticket is left

    let manager = Manager::start()?;
    let lock = manager.lock()?; // Python: `lock = Manager().Lock()`
    let pool = Pool::new(5)?;
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
    drop(lock);
    manager.shutdown()?;
    Ok(())
}
