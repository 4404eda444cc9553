//! `process!` runs plain functions too, without `#[process]`: here one of each, a function in a
//! module reached by path, a function taking no argument, and every start method.

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

const TIMEOUT: Duration = Duration::from_secs(30);

#[process]
fn produce(items: QueueWriter<u64>, first: u64) -> u64 {
    for item in first..first + 10 {
        items.put(&item).expect("put");
    }
    10
}

fn consume(items: QueueReader<u64>) -> u64 {
    items.iter().map(|item| item.expect("get")).sum()
}

mod stages {
    pub(crate) fn label(prefix: String, index: usize) -> String {
        format!("{prefix}-{index}")
    }
}

fn nothing() -> u8 {
    7
}

fn main() {
    let prefix = String::from("worker");
    let done = process! {
        queue items: Queue<u64>;
        producer[i]: produce(items.writer(), i as u64 * 100) * 2;
        consumer: consume(items.reader()), start_method(StartMethod::Spawn);
        labeller[i]: stages::label(prefix.clone(), i) * 2, start_method(StartMethod::ForkServer);
        idle: nothing();
    }
    .start()
    .expect("started")
    .join_timeout(TIMEOUT)
    .expect("ended in time");

    assert!(done.failures().is_empty(), "{:?}", done.failures());
    let expected: u64 = (0..10).sum::<u64>() + (100..110).sum::<u64>();
    assert_eq!(done.consumer.expect("consumer"), expected);
    let labels: Vec<String> = done
        .labeller
        .into_iter()
        .map(|r| r.expect("labeller"))
        .collect();
    assert_eq!(labels, ["worker-0", "worker-1"]);
    assert_eq!(done.idle.expect("idle"), 7);
}
