use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

#[process]
fn produce(_items: QueueWriter<u64>) {}

#[process]
fn consume(_items: &QueueReader<u64>) {}

fn main() {
    let _ = process! {
        queue items: Queue<u64>;
        producer: produce(items.writer());
        consumer: consume(items.reader());
    };
}
