use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

#[process]
fn produce(_items: QueueWriter<String>) {}

#[process]
fn consume(_items: QueueReader<u64>) {}

fn main() {
    let _ = process! {
        queue items: Queue<String>;
        producer: produce(items.writer());
        consumer: consume(items.reader());
    };
}
