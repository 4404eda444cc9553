//! Seed 001: "队列(Queue)" — a producer puts five numbers, a consumer gets them in an endless
//! loop.
//!
//! ```python
//! def producer(queue):
//!     for i in range(5):
//!         queue.put(i)
//!         print("Producer put ", i)
//!
//! def consumer(queue):
//!     while True:
//!         message = queue.get()
//!         print("Consumer got ", message)
//!
//! queue = multiprocessing.Queue()
//! p1 = Process(target=producer, args=(queue,)); p2 = Process(target=consumer, args=(queue,))
//! p1.start(); p2.start()
//! p1.join()
//! p2.join()   # never returns: the consumer waits for a sixth message forever
//! ```
//!
//! What differs: the producer closes the queue after its last put. `close` ends the queue for
//! everyone (in Python it only says "this process puts no more"), so the consumer's loop takes
//! the five numbers and then ends, and `p2.join()` returns. With several producers, the parent
//! closes once they are all joined: see the `004_queue_close` example.
//!
//! `cargo run --release -p examples --example 001_queue_producer_consumer` prints (the
//! interleaving varies):
//!
//! ```text
//! Producer put  0
//! Producer put  1
//! Consumer got  0
//! ...
//! Producer put  4
//! Consumer got  4
//! the queue is closed and drained: the consumer got [0, 1, 2, 3, 4]
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

/// The example fails instead of hanging if a process does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);

#[process]
fn producer(queue: Queue<u32>) {
    for i in 0..5 {
        queue.put(&i).expect("put");
        println!("Producer put  {i}");
    }
    queue.close(); // no sixth message: the consumer's loop ends once it has these five
}

#[process]
fn consumer(queue: Queue<u32>) -> Vec<u32> {
    let mut got = Vec::new();
    for message in &queue {
        let message = message.expect("a whole message");
        println!("Consumer got  {message}");
        got.push(message);
    }
    got
}

fn main() -> mproc::Result<()> {
    let queue = Queue::new()?;
    let p1 = producer::spawn(queue.clone())?;
    let p2 = consumer::spawn(queue.clone())?;
    p1.join_timeout(PATIENCE)?;
    let got = p2.join_timeout(PATIENCE)?; // returns: the closed queue ended the consumer's loop
    println!("the queue is closed and drained: the consumer got {got:?}");
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert!(queue.is_closed() && queue.is_empty());
    Ok(())
}
