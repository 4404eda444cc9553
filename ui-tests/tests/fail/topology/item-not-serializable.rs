use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

struct Job;

#[process]
fn produce(_items: QueueWriter<Job>) {}

#[process]
fn consume(_items: QueueReader<Job>) {}

fn main() {
    let _ = process! {
        queue items: Queue<Job>;
        producer: produce(items.writer());
        consumer: consume(items.reader());
    };
}
