//! Seed 000: a traffic light and cars — an `Event` is the green light.
//!
//! The light is a daemon process that flips every 300 ms (the seed: 2 s) and ends with the
//! program. Cars arrive at random-ish moments; on red they `wait()` for green.
//!
//! `cargo run --release -p examples --example 000_traffic_light_event` prints (one run; the timing varies):
//!
//! ```text
//! red light
//! car 0 waits at the red light
//! car 1 waits at the red light
//! car 2 waits at the red light
//! green light
//! car 0 passes
//! car 1 passes
//! car 2 passes
//! car 3 passes
//! car 4 passes
//! car 5 passes
//! car 6 passes
//! red light
//! car 7 waits at the red light
//! car 8 waits at the red light
//! car 9 waits at the red light
//! green light
//! car 8 passes
//! car 7 passes
//! car 9 passes
//! all cars passed
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn traffic_light(green: Event) {
    println!("red light");
    loop {
        std::thread::sleep(Duration::from_millis(300));
        if green.is_set() {
            println!("red light");
            green.clear();
        } else {
            println!("green light");
            green.set();
        }
    }
}

#[process]
fn car(green: Event, i: u32) {
    if !green.is_set() {
        println!("car {i} waits at the red light");
        green.wait().unwrap();
    }
    println!("car {i} passes");
}

fn main() -> mproc::Result<()> {
    let green = Event::new()?;
    let _light = traffic_light::builder().daemon(true).spawn(green.clone())?;
    let mut cars = Vec::new();
    for i in 0..10 {
        cars.push(car::spawn(green.clone(), i)?);
        std::thread::sleep(Duration::from_millis(u64::from(i * 7 % 4) * 60));
    }
    for c in cars {
        c.join()?;
    }
    println!("all cars passed");
    Ok(())
}
