//! A 3-stage pipeline (read → transform ×4 → write) with a bounded queue and a daemon watcher,
//! returning per-stage counts.

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueError, QueueReader, QueueWriter};

const TIMEOUT: Duration = Duration::from_secs(30);

#[process]
fn read(lines: QueueWriter<String>, count: usize) -> usize {
    for i in 0..count {
        lines.put(&format!("line number {i}")).expect("put");
    }
    count
}

#[process]
fn transform(lines: QueueReader<String>, words: QueueWriter<usize>) -> usize {
    let mut seen = 0;
    loop {
        match lines.get_timeout(TIMEOUT) {
            Ok(line) => {
                seen += 1;
                words.put(&line.split_whitespace().count()).expect("put");
            }
            Err(QueueError::Closed) => return seen,
            Err(e) => panic!("get: {e}"),
        }
    }
}

#[process]
fn write(words: QueueReader<usize>) -> (usize, usize) {
    let (mut lines, mut total) = (0, 0);
    loop {
        match words.get_timeout(TIMEOUT) {
            Ok(n) => {
                lines += 1;
                total += n;
            }
            Err(QueueError::Closed) => return (lines, total),
            Err(e) => panic!("get: {e}"),
        }
    }
}

/// Never ends on its own: the topology stops it.
#[process]
fn watch() {
    loop {
        std::thread::park();
    }
}

fn main() {
    let count = 1000;
    let workers = 4;
    let done = process! {
        queue lines: Queue<String>, bounded(16);
        queue words: Queue<usize>;
        reader: read(lines.writer(), count);
        transformer: transform(lines.reader(), words.writer()) * workers;
        writer: write(words.reader());
        watcher: watch(), daemon;
    }
    .start()
    .expect("started")
    .join_timeout(TIMEOUT)
    .expect("ended in time");

    assert_eq!(done.reader.expect("reader"), 1000);
    let per_worker: Vec<usize> = done
        .transformer
        .into_iter()
        .map(|r| r.expect("transformer"))
        .collect();
    assert_eq!(per_worker.len(), 4);
    assert_eq!(per_worker.iter().sum::<usize>(), 1000);
    assert_eq!(done.writer.expect("writer"), (1000, 3000));
    let watcher: Option<Result<(), ProcessError>> = done.watcher;
    assert!(
        watcher.is_none(),
        "the daemon was still running, so it was stopped"
    );
}
