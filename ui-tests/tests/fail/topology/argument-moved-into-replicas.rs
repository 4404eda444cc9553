use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

#[process]
fn produce(_items: QueueWriter<u64>, _label: String) {}

#[process]
fn consume(_items: QueueReader<u64>) {}

fn main() {
    let label = String::from("producer");
    let _ = process! {
        queue items: Queue<u64>;
        producer: produce(items.writer(), label) * 2;
        consumer: consume(items.reader());
    };
}
