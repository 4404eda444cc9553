//! Seed 004: two rooms, ten users; whoever cannot get a room within their patience (1-3
//! "seconds", tenths here) leaves: `Semaphore::acquire_timeout`, Python's
//! `acquire(block=True, timeout=...)`.
//!
//! `cargo run --release -p examples --example 004_rooms_semaphore_timeout` prints (one run;
//! the order varies):
//!
//! ```text
//! user 0 entered a room
//! user 1 entered a room
//! user 0 left the room
//! user 2 entered a room
//! user 1 left the room
//! user 3 entered a room
//! user 6 waited too long, left
//! user 9 waited too long, left
//! user 2 left the room
//! user 4 entered a room
//! user 3 left the room
//! user 5 entered a room
//! user 7 waited too long, left
//! user 4 left the room
//! user 8 entered a room
//! user 5 left the room
//! user 8 left the room
//! 7 users got a room, 3 gave up
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::SemaphoreError;
use mproc::prelude::*;

#[process]
fn enter_room(rooms: Semaphore, who: u32) -> bool {
    let patience = Duration::from_millis(100 * u64::from(who % 3 + 1));
    match rooms.acquire_timeout(patience) {
        Ok(()) => {
            println!("user {who} entered a room");
            std::thread::sleep(Duration::from_millis(100));
            rooms
                .release()
                .expect("a plain semaphore takes its permit back");
            println!("user {who} left the room");
            true
        }
        Err(SemaphoreError::Timeout) => {
            println!("user {who} waited too long, left");
            false
        }
        Err(other) => panic!("unexpected: {other}"),
    }
}

fn main() -> mproc::Result<()> {
    let rooms = Semaphore::new(2)?;
    let users = (0..10)
        .map(|i| enter_room::spawn(rooms.clone(), i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut served = 0;
    for u in users {
        served += u32::from(u.join()?);
    }
    println!("{served} users got a room, {} gave up", 10 - served);
    assert_eq!(rooms.value(), 2);
    Ok(())
}
