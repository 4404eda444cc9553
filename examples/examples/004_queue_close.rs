//! Seed 004: "生产消费者模型,队列实现" again, with `close()` instead of `None` sentinels — three
//! producers make two portions each, two consumers eat until the queue is closed and empty.
//!
//! ```python
//! def consumer(q):
//!     while True:
//!         res = q.get()
//!         if res is None: break           # the sentinel
//!         print('consumer {} ate {}'.format(os.getpid(), res))
//!
//! p1.join(); p2.join(); p3.join()
//! q.put(None); q.put(None)                 # one sentinel per consumer
//! ```
//!
//! What differs: in Python `close()` only says "this process will put no more" and a consumer
//! blocked in `get` never hears of it, hence the sentinels, which must be counted to match the
//! consumers. mproc's `close()` ends the queue for everyone: later puts fail with
//! `QueueError::Closed`, gets take what is left and then report `Closed`, so a consumer simply
//! iterates (`for food in &q`) and its loop ends once the queue is closed and drained. The
//! parent closes after joining the producers, so no portion is refused; the items are plain
//! `String`s, with no sentinel value to reserve.
//!
//! `cargo run --release -p examples --example 004_queue_close` prints (pids and interleaving
//! vary):
//!
//! ```text
//! producer 5210 made portion 1 of steamed bun
//! consumer 5213 ate steamed bun
//! ...
//! producer 5212 is done
//! the producers are done: closing the queue
//! consumer 5213 ends: the queue is closed and empty
//! consumer 5214 ends: the queue is closed and empty
//! 6 portions eaten: 2 x fruit, 2 x rice, 2 x steamed bun
//! a put after close: the queue is closed
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

#[process]
fn consumer(q: Queue<String>) -> Vec<String> {
    let pid = current_process().pid();
    let mut eaten = Vec::new();
    for res in &q {
        let res = res.expect("a whole item");
        println!("consumer {pid} ate {res}");
        eaten.push(res);
    }
    println!("consumer {pid} ends: the queue is closed and empty");
    eaten
}

#[process]
fn producer(food: String, q: Queue<String>) {
    let pid = current_process().pid();
    for i in 0..2 {
        q.put(&food)
            .expect("the queue is open until every producer is joined");
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
    let consumers = [consumer::spawn(q.clone())?, consumer::spawn(q.clone())?];

    for p in &producers {
        p.join_timeout(PATIENCE)?;
    }
    println!("the producers are done: closing the queue");
    q.close(); // instead of one `None` per consumer

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

    let late = q.put(&"dessert".to_owned());
    println!("a put after close: {}", late.as_ref().expect_err("closed"));
    assert!(matches!(late, Err(QueueError::Closed)));
    Ok(())
}
