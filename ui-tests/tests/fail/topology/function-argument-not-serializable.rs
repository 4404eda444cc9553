use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};

struct Settings;

fn produce(_items: QueueWriter<u64>, _settings: Settings) {}

fn consume(_items: QueueReader<u64>) {}

fn main() {
    let _ = process! {
        queue items: Queue<u64>;
        producer: produce(items.writer(), Settings);
        consumer: consume(items.reader());
    };
}
