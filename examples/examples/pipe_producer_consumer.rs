//! Seed: "生产消费者模型" over a `Pipe` — a producer sends three steamed buns, a consumer eats
//! until the end of the stream.
//!
//! In Python the parent must close its spare copies of both ends, or the consumer never sees
//! `EOFError`. In mproc the ends given to a process move into it: the parent's copies close when
//! `start` returns, and a forked child never holds ends it was not given.
//!
//! ```text
//! $ cargo run --example pipe_producer_consumer
//! descriptor of the left end: 5
//! producer 1 makes bun 1
//! consumer 1 ate a bun
//! producer 1 makes bun 2
//! consumer 1 ate a bun
//! producer 1 makes bun 3
//! consumer 1 ate a bun
//! consumer 1: the other end is closed, 3 buns eaten
//! ```

use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

use mproc::prelude::*;

#[process]
fn produce(right: Connection<String>, name: String) {
    for i in 1..=3 {
        println!("{name} makes bun {i}");
        right.send(&"bun".to_owned()).expect("send");
        std::thread::sleep(Duration::from_millis(100)); // simulated work, as in the seed
    }
    // `right` is dropped here: the consumer sees the end of the stream.
}

#[process]
fn consume(left: Connection<String>, name: String) -> u32 {
    let mut eaten = 0;
    loop {
        match left.recv() {
            Ok(goods) => {
                println!("{name} ate a {goods}");
                eaten += 1;
            }
            Err(PipeError::Eof) => {
                println!("{name}: the other end is closed, {eaten} buns eaten");
                return eaten;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn main() -> mproc::Result<()> {
    let (left, right) = Pipe::<String>::new()?;
    println!("descriptor of the left end: {}", left.as_fd().as_raw_fd());
    let producer = produce::spawn(right, "producer 1".into())?;
    let consumer = consume::spawn(left, "consumer 1".into())?;
    // No `right.close(); left.close()` needed: both ends moved into the processes.
    producer.join()?;
    assert_eq!(consumer.join()?, 3);
    Ok(())
}
