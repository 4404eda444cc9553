use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn work(_a: u8, _b: u8) {}

fn main() {
    let done = process! {
        queue jobs: Queue<u64>, bounded(0);
        queue unused: Queue<u64>;
        pipe (client, server): Pipe<String>;
        worker: work(jbos.writer(), client) * 0;
        worker: work(jobs.reader(), client);
    }
    .run()
    .unwrap();
    let _ = done.worker;
}
