use mproc::prelude::*;
use mproc::topology::process;
use mproc::QueueWriter;

#[process]
fn produce(_items: QueueWriter<u64>) {}

struct Consumer;

fn main() {
    let _ = process! {
        queue items: Queue<u64>;
        producer: produce(items.writer());
        consumer: Consumer(items.reader());
    };
}
