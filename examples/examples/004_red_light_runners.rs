//! Seed 004: cars that run the red light — `Event::wait_timeout` (Python's
//! `e.wait(timeout)`) returns `false` when the light stayed red, and the impatient car goes
//! anyway. A `Lock` lets one car at a time through the crossing.
//!
//! The seed loops forever; here each of five cars crosses twice and the light (a daemon)
//! flips every 300 ms (the seed: 5 s).
//!
//! `cargo run --release -p examples --example 004_red_light_runners` prints (one run; the timing varies):
//!
//! ```text
//! green light
//! car 0 drives through
//! car 0 drives through
//! car 1 drives through
//! car 4 drives through
//! car 4 drives through
//! red light
//! car 1 runs the red light!
//! green light
//! car 3 drives through
//! car 3 drives through
//! car 2 drives through
//! car 2 drives through
//! 1 of 10 crossings ran the red light
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn light(green: Event) {
    loop {
        if green.is_set() {
            println!("red light");
            green.clear();
        } else {
            println!("green light");
            green.set();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[process]
fn car(green: Event, crossing: Lock, i: u32) -> u32 {
    let mut ran_red = 0;
    for round in 0..2 {
        let _turn = crossing.lock().expect("no car dies at the crossing");
        let patience = Duration::from_millis(u64::from((i + round) % 4) * 50);
        if green.wait_timeout(patience).is_ok() {
            println!("car {i} drives through");
        } else {
            println!("car {i} runs the red light!");
            ran_red += 1;
        }
        std::thread::sleep(Duration::from_millis(60));
    }
    ran_red
}

fn main() -> mproc::Result<()> {
    let (green, crossing) = (Event::new()?, Lock::new()?);
    let _light = light::builder().daemon(true).spawn(green.clone())?;
    let cars = (0..5)
        .map(|i| car::spawn(green.clone(), crossing.clone(), i))
        .collect::<Result<Vec<_>, _>>()?;
    let mut ran_red = 0;
    for c in cars {
        ran_red += c.join()?;
    }
    println!("{ran_red} of 10 crossings ran the red light");
    Ok(())
}
