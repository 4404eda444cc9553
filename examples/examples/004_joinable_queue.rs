//! Seed 004: "生产消费者模型,JoinableQueue实现" — three producers put two portions each and
//! `join()` the queue until their food is eaten; two daemon consumers eat forever and call
//! `task_done()` per portion; the main program joins the producers and ends, which terminates
//! the daemons.
//!
//! ```python
//! # (messages translated)
//! def consumer(q):
//!     while 1:
//!         print('consumer {} waits to eat'.format(os.getpid()))
//!         res = q.get()
//!         q.task_done()  # Semaphore - 1
//!         print('consumer {} ate {}'.format(os.getpid(), res))
//!
//! def producer(food, q):
//!     for i in range(2):
//!         q.put(food)
//!         print('producer {} made portion {} of {}'.format(os.getpid(), i + 1, food))
//!     print('producer {} is done, waiting for the consumers'.format(os.getpid()))
//!     q.join()
//!
//! q = JoinableQueue()
//! p1, p2, p3 = (Process(target=producer, args=(f, q)) for f in ('包子', '水果', '米饭'))
//! c1, c2 = Process(target=consumer, args=(q,)), Process(target=consumer, args=(q,))
//! c1.daemon = True; c2.daemon = True
//! for p in (p1, p2, p3, c1, c2): p.start()
//! p1.join(); p2.join(); p3.join()
//! ```
//!
//! What differs: every wait has a deadline (`join_timeout`), so a lost `task_done` fails the
//! example loudly instead of hanging it; a consumer marks a portion done *after* it has eaten
//! it (the seed calls `task_done()` first, so `join()` can return while a portion is still
//! being eaten, and the daemon may be terminated before it prints); and the consumers count
//! what they eat in a shared `Value`, so the main program checks that when `join` returned all
//! six portions had really been eaten. The daemons are started with `.daemon(true)` on the
//! process builder and are terminated when `main` returns, as in Python.
//!
//! `cargo run --release -p examples --example 004_joinable_queue` prints (pids and interleaving
//! vary):
//!
//! ```text
//! consumer 6120 waits to eat
//! producer 6117 made portion 1 of steamed bun
//! producer 6117 made portion 2 of steamed bun
//! producer 6117 is done, waiting for the consumers
//! consumer 6120 ate steamed bun
//! consumer 6120 waits to eat
//! ...
//! producer 6119 is done, waiting for the consumers
//! consumer 6121 ate rice
//! consumer 6121 waits to eat
//! the producers are done: 6 portions eaten, 0 unfinished; the daemon consumers end with main
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

/// The example fails instead of hanging if a wait lasts longer than this.
const PATIENCE: Duration = Duration::from_secs(10);
const FOODS: [&str; 3] = ["steamed bun", "fruit", "rice"];

#[process]
fn consumer(q: JoinableQueue<String>, eaten: Value<u32>) {
    let pid = current_process().pid();
    loop {
        println!("consumer {pid} waits to eat");
        let res = q.get().expect("an item: the queue is never closed");
        println!("consumer {pid} ate {res}");
        eaten.fetch_add(1);
        q.task_done().expect("one task_done per item taken");
    }
}

#[process]
fn producer(food: String, q: JoinableQueue<String>) {
    let pid = current_process().pid();
    for i in 0..2 {
        q.put(&food).expect("put");
        println!("producer {pid} made portion {} of {food}", i + 1);
    }
    println!("producer {pid} is done, waiting for the consumers");
    q.join_timeout(PATIENCE)
        .expect("the consumers finish every portion in time");
}

fn main() -> mproc::Result<()> {
    let q = JoinableQueue::new()?;
    let eaten = Value::new(0u32)?;
    let producers = FOODS
        .map(|food| producer::spawn(food.to_owned(), q.clone()))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let _consumers = [
        consumer::builder()
            .daemon(true)
            .spawn(q.clone(), eaten.clone())?,
        consumer::builder()
            .daemon(true)
            .spawn(q.clone(), eaten.clone())?,
    ];

    for p in &producers {
        p.join_timeout(PATIENCE)?; // each returned from its own `q.join()`
    }
    // The producers' joins returned, so nothing is left; joining here too returns at once.
    q.join_timeout(PATIENCE)?;
    println!(
        "the producers are done: {} portions eaten, {} unfinished; \
         the daemon consumers end with main",
        eaten.get(),
        q.unfinished()
    );
    assert_eq!(eaten.get(), 6);
    assert_eq!(q.unfinished(), 0);
    assert!(q.is_empty());
    Ok(()) // the daemon consumers, still waiting in `get`, are terminated here
}
