use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

struct Summary;

fn produce(_items: QueueWriter<u64>) {}

fn consume(_items: QueueReader<u64>) -> Summary {
    Summary
}

fn main() {
    let _ = process! {
        queue items: Queue<u64>;
        producer: produce(items.writer());
        consumer: consume(items.reader());
    };
}
