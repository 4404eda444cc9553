//! Seed 004: "生产消费者模型,队列实现" as a `process!` topology — three producers make two
//! portions each, two consumers eat until there is nothing left, and nobody puts a sentinel.
//!
//! Python has no topology: the programmer wires it by hand, and ends the consumers with one
//! `None` per consumer, put only after every producer has been joined:
//!
//! ```python
//! def consumer(q):
//!     while True:
//!         res = q.get()
//!         if res is None: break                      # the sentinel
//!         print('consumer {} ate {}'.format(os.getpid(), res))
//!
//! q = Queue()
//! producers = [Process(target=producer, args=(food, q)) for food in ('bun', 'fruit', 'rice')]
//! consumers = [Process(target=consumer, args=(q,)) for _ in range(2)]
//! for p in producers + consumers: p.start()
//! for p in producers: p.join()
//! for _ in consumers: q.put(None)                    # count them, or a consumer hangs
//! for c in consumers: c.join()                       # and what did each return? nothing
//! ```
//!
//! What differs: `process!` declares the queue, who writes it and who reads it, and the
//! replica counts (`* 3`, `* 2`). It closes `items` once its last writer has ended, so each
//! consumer's `for` loop ends after the queue is drained: no sentinel to count, no value to
//! reserve for it, no join order to get right. The results are typed per process:
//! `done.producer` is a `Vec<Result<u32, ProcessError>>` (one per replica), `done.consumer` a
//! `Vec<Result<Vec<String>, ProcessError>>`; Python's processes return nothing.
//!
//! `cargo run --release -p examples --example topology_producer_consumer` prints (pids and
//! interleaving vary):
//!
//! ```text
//! producer-0 (pid 5210) made portion 1 of steamed bun
//! consumer-1 (pid 5214) ate steamed bun
//! ...
//! consumer-0 (pid 5213) ends: the queue is closed and drained
//! consumer-1 (pid 5214) ends: the queue is closed and drained
//! producers made [2, 2, 2] portions
//! consumer 0 ate 3, consumer 1 ate 3
//! 6 portions eaten: 2 x fruit, 2 x rice, 2 x steamed bun
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

/// The example fails instead of hanging if the topology does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);
const FOODS: [&str; 3] = ["steamed bun", "fruit", "rice"];
const PORTIONS: u32 = 2;
const CONSUMERS: usize = 2;

/// Makes `PORTIONS` portions of `food`: how many it made.
#[process]
fn produce(items: QueueWriter<String>, food: String) -> u32 {
    let me = current_process();
    for i in 1..=PORTIONS {
        items
            .put(&food)
            .expect("the queue is open while a producer runs");
        println!(
            "{} (pid {}) made portion {i} of {food}",
            me.name(),
            me.pid()
        );
    }
    PORTIONS
}

/// Eats until the queue is closed and drained: what it ate.
#[process]
fn consume(items: QueueReader<String>) -> Vec<String> {
    let me = current_process();
    let mut eaten = Vec::new();
    for food in &items {
        let food = food.expect("a whole item");
        println!("{} (pid {}) ate {food}", me.name(), me.pid());
        eaten.push(food);
    }
    println!(
        "{} (pid {}) ends: the queue is closed and drained",
        me.name(),
        me.pid()
    );
    eaten
}

fn main() -> mproc::Result<()> {
    let done = process! {
        queue items: Queue<String>;
        producer[i]: produce(items.writer(), FOODS[i].to_owned()) * FOODS.len();
        consumer: consume(items.reader()) * CONSUMERS;
    }
    .start()?
    .join_timeout(PATIENCE)?;
    assert!(done.failures().is_empty(), "{:?}", done.failures());

    let made: Vec<u32> = done.producer.into_iter().collect::<Result<_, _>>()?;
    println!("producers made {made:?} portions");
    assert_eq!(made, [PORTIONS; FOODS.len()]);

    let eaten: Vec<Vec<String>> = done.consumer.into_iter().collect::<Result<_, _>>()?;
    let per_consumer: Vec<String> = eaten
        .iter()
        .enumerate()
        .map(|(i, foods)| format!("consumer {i} ate {}", foods.len()))
        .collect();
    println!("{}", per_consumer.join(", "));

    let mut tally = BTreeMap::<&str, u32>::new();
    for food in eaten.iter().flatten() {
        *tally.entry(food).or_default() += 1;
    }
    let summary: Vec<String> = tally.iter().map(|(f, n)| format!("{n} x {f}")).collect();
    println!(
        "{} portions eaten: {}",
        tally.values().sum::<u32>(),
        summary.join(", ")
    );
    assert_eq!(tally, FOODS.map(|f| (f, PORTIONS)).into());
    Ok(())
}
