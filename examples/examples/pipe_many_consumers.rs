//! Seed: "多个消费者" — three consumers read from the same end of one pipe.
//!
//! Python warns that the data "may become corrupted" when two processes read or write the same
//! end at once. mproc pipes move whole messages (the kernel keeps each one atomic), so any number
//! of processes can share an end: each message reaches exactly one consumer, intact. To make the
//! point, the producer here also sends 300 larger messages, some above 64 KiB.
//!
//! ```text
//! $ cargo run --example pipe_many_consumers
//! producer 1 makes bun 1
//! consumer 2 ate a bun
//! producer 1 makes bun 2
//! consumer 1 ate a bun
//! producer 1 makes bun 3
//! consumer 3 ate a bun
//! consumers received 303 messages in all, every one intact: [300, 2, 1]   (the split varies)
//! ```

use std::time::Duration;

use mproc::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
enum Goods {
    Bun,
    /// A sack of `n` copies of the number `n` (a torn message would mix numbers).
    Sack(Vec<u32>),
}

#[process]
fn produce(right: Connection<Goods>, name: String) {
    for i in 1..=3 {
        println!("{name} makes bun {i}");
        right.send(&Goods::Bun).expect("send");
        std::thread::sleep(Duration::from_millis(50)); // simulated work, as in the seed
    }
    for n in 0..300u32 {
        let len = if n % 30 == 0 {
            20_000
        } else {
            n as usize % 50 + 1
        };
        right.send(&Goods::Sack(vec![n; len])).expect("send");
    }
}

#[process]
fn consume(left: Connection<Goods>, name: String) -> u32 {
    let mut received = 0;
    while let Ok(goods) = left.recv() {
        match goods {
            Goods::Bun => println!("{name} ate a bun"),
            Goods::Sack(items) => assert!(items.iter().all(|&x| x == items[0]), "torn message"),
        }
        received += 1;
    }
    received
}

fn main() -> mproc::Result<()> {
    let (left, right) = Pipe::<Goods>::new()?;
    let producer = produce::spawn(right, "producer 1".into())?;
    let consumers: Vec<_> = (1..=3)
        .map(|i| consume::spawn(left.try_clone()?, format!("consumer {i}")).map_err(Into::into))
        .collect::<mproc::Result<_>>()?;
    drop(left);
    producer.join()?;
    let counts: Vec<u32> = consumers
        .iter()
        .map(Child::join)
        .collect::<Result<_, _>>()?;
    let total: u32 = counts.iter().sum();
    println!("consumers received {total} messages in all, every one intact: {counts:?}");
    assert_eq!(total, 303);
    Ok(())
}
