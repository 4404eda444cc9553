//! Seed 000: a KTV room with four seats — a `Semaphore(4)` lets at most four of ten singers in.
//!
//! Each singer is a process; `sem.guard()` is Python's `with sema:`. A shared `Value` counts
//! who is inside, to show the limit holds.
//!
//! `cargo run --release -p examples --example 000_ktv_semaphore` prints (one run; the order varies):
//!
//! ```text
//! singer 1 walks into the KTV (1 inside)
//! singer 0 walks into the KTV (2 inside)
//! singer 2 walks into the KTV (3 inside)
//! singer 3 walks into the KTV (4 inside)
//! singer 0 walks out of the KTV
//! singer 4 walks into the KTV (4 inside)
//! singer 3 walks out of the KTV
//! singer 5 walks into the KTV (4 inside)
//! singer 1 walks out of the KTV
//! singer 6 walks into the KTV (4 inside)
//! singer 5 walks out of the KTV
//! singer 7 walks into the KTV (4 inside)
//! singer 2 walks out of the KTV
//! singer 9 walks into the KTV (4 inside)
//! singer 4 walks out of the KTV
//! singer 8 walks into the KTV (4 inside)
//! singer 6 walks out of the KTV
//! singer 8 walks out of the KTV
//! singer 9 walks out of the KTV
//! singer 7 walks out of the KTV
//! at most 4 singers were inside at once
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn ktv(seats: Semaphore, inside: Value<u32>, most: Value<u32>, who: u32) {
    let _seat = seats.guard().expect("a seat");
    let now = inside.fetch_add(1) + 1;
    most.update(|m| m.max(now));
    println!("singer {who} walks into the KTV ({now} inside)");
    // Singing (the seed sleeps 1-5 s; a tenth of that here).
    std::thread::sleep(Duration::from_millis(100 + u64::from(who * 37 % 5) * 40));
    inside.fetch_sub(1);
    println!("singer {who} walks out of the KTV");
}

fn main() -> mproc::Result<()> {
    let seats = Semaphore::new(4)?;
    let (inside, most) = (Value::new(0u32)?, Value::new(0u32)?);
    let singers = (0..10)
        .map(|i| ktv::spawn(seats.clone(), inside.clone(), most.clone(), i))
        .collect::<Result<Vec<_>, _>>()?;
    for s in singers {
        s.join()?;
    }
    println!("at most {} singers were inside at once", most.get());
    assert!(most.get() <= 4);
    assert_eq!(seats.value(), 4);
    Ok(())
}
