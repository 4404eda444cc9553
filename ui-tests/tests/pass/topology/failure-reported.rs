//! A process that panics is reported in the results, and the others still finish: its queue is
//! closed when it dies, so its reader ends too.

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueError, QueueReader, QueueWriter};

const TIMEOUT: Duration = Duration::from_secs(30);

#[process]
fn produce(items: QueueWriter<u8>, fail: bool) -> u8 {
    items.put(&1).expect("put");
    assert!(!fail, "this producer fails on purpose");
    1
}

#[process]
fn count(items: QueueReader<u8>) -> usize {
    let mut n = 0;
    loop {
        match items.get_timeout(TIMEOUT) {
            Ok(_) => n += 1,
            Err(QueueError::Closed) => return n,
            Err(e) => panic!("get: {e}"),
        }
    }
}

fn main() {
    let mut running = process! {
        queue items: Queue<u8>;
        producer[i]: produce(items.writer(), i == 1) * 2;
        counter: count(items.reader());
    }
    .start()
    .expect("started");
    let done = running.join_timeout(TIMEOUT).expect("ended in time");

    let failures = done.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(
        (failures[0].process, failures[0].replica),
        ("producer", Some(1))
    );
    assert!(matches!(failures[0].error, ProcessError::Panicked { .. }));
    assert!(matches!(done.producer[0], Ok(1)));
    assert_eq!(done.counter.expect("counter"), 2);
}
