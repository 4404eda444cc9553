//! Seed: "`奇怪的poll()`" — `poll(None)` waits until a message *or the end of the stream* is there.
//! Two orders of events:
//!
//! 1. the producer sends three buns and closes its end later: `poll` says "readable" for each
//!    bun, then once more when the end closes, and `recv` reports the end of the stream;
//! 2. the producer closes its end before the consumer polls: the same, with no waiting. (On
//!    Windows, Python's `poll` raised `BrokenPipeError` in this case; here both orders behave
//!    alike.)
//!
//! ```text
//! $ cargo run --example pipe_poll
//! -- case 1: close after the buns
//! producer makes bun 1 ... 3
//! poll: readable = true
//! consumer ate a bun        (x3, each after a poll)
//! right closed
//! poll: readable = true
//! consumer: end of stream
//! -- case 2: close before polling
//! ...the same lines...
//! ```

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn produce(right: Connection<String>, linger: bool) {
    for i in 1..=3 {
        println!("producer makes bun {i}");
        right.send(&"bun".to_owned()).expect("send");
    }
    if linger {
        std::thread::sleep(Duration::from_millis(300)); // the consumer polls meanwhile
    }
    drop(right);
    println!("right closed");
}

#[process]
fn consume(left: Connection<String>) -> u32 {
    let mut polls = 0;
    loop {
        let readable = left.poll(None).expect("poll");
        polls += 1;
        println!("poll: readable = {readable}");
        match left.recv() {
            Ok(goods) => println!("consumer ate a {goods}"),
            Err(PipeError::Eof) => {
                println!("consumer: end of stream");
                return polls;
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn main() -> mproc::Result<()> {
    for (case, linger) in [
        ("close after the buns", true),
        ("close before polling", false),
    ] {
        println!("-- case: {case}");
        let (left, right) = Pipe::<String>::new()?;
        let producer = produce::spawn(right, linger)?;
        if !linger {
            producer.join()?; // closed before the consumer even starts
        }
        let polls = consume::spawn(left)?.join()?;
        if linger {
            producer.join()?;
        }
        assert_eq!(polls, 4, "three buns, then the end of the stream");
    }
    Ok(())
}
