//! Seed 004: "生产消费者模型,队列实现" — three producers make two portions each of their food,
//! two consumers eat until they get `None`, one `None` per consumer put by the parent once the
//! producers are done.
//!
//! ```python
//! # (messages translated)
//! def consumer(q):
//!     while True:
//!         print('consumer {} waits to eat'.format(os.getpid()))
//!         res = q.get()
//!         if res is None:
//!             print('consumer {} ends'.format(os.getpid()))
//!             break
//!         print('consumer {} ate {}'.format(os.getpid(), res))
//!
//! def producer(food, q):
//!     for i in range(2):
//!         q.put(food)
//!         print('producer {} made portion {} of {}'.format(os.getpid(), i + 1, food))
//!     print('producer {} is done'.format(os.getpid()))
//!
//! q = Queue()
//! p1, p2, p3 = (Process(target=producer, args=(f, q)) for f in ('包子', '水果', '米饭'))
//! c1, c2 = Process(target=consumer, args=(q,)), Process(target=consumer, args=(q,))
//! for p in (p1, p2, p3, c1, c2): p.start()
//! p1.join(); p2.join(); p3.join()
//! q.put(None); q.put(None); q.put(None)   # three sentinels for two consumers
//! ```
//!
//! What differs: the items are `Option<String>`, so the sentinel is a real `None` the type
//! system knows about; the parent puts exactly one `None` per consumer (the seed's third `None`
//! would stay in the queue); the consumers return what they ate, and the parent checks that the
//! six portions were each eaten once. `close()` does the same job without sentinels: see the
//! `004_queue_close` example.
//!
//! `cargo run --release -p examples --example 004_queue_sentinels` prints (pids and interleaving
//! vary):
//!
//! ```text
//! consumer 4121 waits to eat
//! producer 4118 made portion 1 of steamed bun
//! producer 4118 made portion 2 of steamed bun
//! producer 4118 is done
//! consumer 4121 ate steamed bun
//! consumer 4121 waits to eat
//! consumer 4122 waits to eat
//! ...
//! consumer 4121 ends
//! consumer 4122 ends
//! 6 portions eaten: 2 x fruit, 2 x rice, 2 x steamed bun
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::collections::BTreeMap;
use std::time::Duration;

use mproc::prelude::*;

/// The example fails instead of hanging if a process does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);
const FOODS: [&str; 3] = ["steamed bun", "fruit", "rice"];
const CONSUMERS: usize = 2;

#[process]
fn consumer(q: Queue<Option<String>>) -> Vec<String> {
    let pid = current_process().pid();
    let mut eaten = Vec::new();
    loop {
        println!("consumer {pid} waits to eat");
        match q.get().expect("an item") {
            None => {
                println!("consumer {pid} ends");
                return eaten;
            }
            Some(res) => {
                println!("consumer {pid} ate {res}");
                eaten.push(res);
            }
        }
    }
}

#[process]
fn producer(food: String, q: Queue<Option<String>>) {
    let pid = current_process().pid();
    for i in 0..2 {
        q.put(&Some(food.clone())).expect("put");
        println!("producer {pid} made portion {} of {food}", i + 1);
    }
    println!("producer {pid} is done");
}

fn main() -> mproc::Result<()> {
    let q = Queue::new()?;
    let producers = FOODS
        .map(|food| producer::spawn(food.to_owned(), q.clone()))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let consumers = (0..CONSUMERS)
        .map(|_| consumer::spawn(q.clone()))
        .collect::<Result<Vec<_>, _>>()?;

    for p in &producers {
        p.join_timeout(PATIENCE)?;
    }
    // Every producer is done, so the sentinels go behind every portion: one per consumer.
    for _ in 0..CONSUMERS {
        q.put(&None)?;
    }

    let mut eaten = BTreeMap::<String, usize>::new();
    for c in &consumers {
        for food in c.join_timeout(PATIENCE)? {
            *eaten.entry(food).or_default() += 1;
        }
    }
    let summary: Vec<String> = eaten.iter().map(|(f, n)| format!("{n} x {f}")).collect();
    println!(
        "{} portions eaten: {}",
        eaten.values().sum::<usize>(),
        summary.join(", ")
    );
    let expected: BTreeMap<String, usize> = FOODS.map(|f| (f.to_owned(), 2)).into();
    assert_eq!(eaten, expected);
    assert!(q.is_empty(), "each consumer took exactly one sentinel");
    Ok(())
}
