//! The seeds' producer/consumer as a topology: 3 producers, 2 consumers, and no sentinels: the
//! queue closes after the last producer ends, so the consumers' loops end.

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueError, QueueReader, QueueWriter};

const TIMEOUT: Duration = Duration::from_secs(30);

#[process]
fn produce(items: QueueWriter<u64>, first: u64) -> u64 {
    for item in first..first + 100 {
        items.put(&item).expect("put");
    }
    100
}

#[process]
fn consume(items: QueueReader<u64>) -> (u64, u64) {
    let (mut count, mut sum) = (0, 0);
    loop {
        match items.get_timeout(TIMEOUT) {
            Ok(item) => {
                count += 1;
                sum += item;
            }
            Err(QueueError::Closed) => return (count, sum),
            Err(e) => panic!("get: {e}"),
        }
    }
}

fn main() {
    let done = process! {
        queue items: Queue<u64>;
        producer[i]: produce(items.writer(), i as u64 * 1000) * 3;
        consumer: consume(items.reader()) * 2;
    }
    .start()
    .expect("started")
    .join_timeout(TIMEOUT)
    .expect("ended in time");

    assert!(done.failures().is_empty(), "{:?}", done.failures());
    let produced: Vec<Result<u64, ProcessError>> = done.producer;
    assert_eq!(produced.len(), 3);
    assert!(produced.iter().all(|r| matches!(r, Ok(100))));
    let consumed: Vec<Result<(u64, u64), ProcessError>> = done.consumer;
    let (count, sum) = consumed
        .into_iter()
        .map(|r| r.expect("consumer"))
        .fold((0, 0), |(c, s), (c1, s1)| (c + c1, s + s1));
    let expected: u64 = [0, 1000, 2000]
        .map(|f: u64| (f..f + 100).sum::<u64>())
        .iter()
        .sum();
    assert_eq!((count, sum), (300, expected));
}
