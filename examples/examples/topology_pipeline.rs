//! A three-stage pipeline as a `process!` topology: `read` → `transform` × 4 → `write`, with a
//! bounded queue between stages and a daemon watcher printing progress; each stage returns its
//! count.
//!
//! Python has no topology. By hand, each stage needs a sentinel per reader of the next queue,
//! put in the right order after the right joins, and a result queue per stage because a
//! `Process` returns nothing:
//!
//! ```python
//! lines, counted, counts = Queue(16), Queue(16), Queue()
//! reader  = Process(target=read, args=(lines, counts))
//! workers = [Process(target=transform, args=(lines, counted, counts)) for _ in range(4)]
//! writer  = Process(target=write, args=(counted, counts))
//! watcher = Process(target=watch, args=(progress,), daemon=True)  # killed at interpreter exit
//! for p in [reader, *workers, writer, watcher]: p.start()
//! reader.join()
//! for _ in workers: lines.put(None)      # one sentinel per worker
//! for w in workers: w.join()
//! counted.put(None)                      # one for the writer
//! writer.join()
//! stage_counts = [counts.get() for _ in range(6)]   # unordered: tag each with its stage
//! ```
//!
//! What differs: the topology knows who writes and reads each queue, so it closes `lines`
//! once the reader has ended and `counted` once the last transformer has ended; every loop is
//! a plain `for`. The bounds (`bounded(16)`) hold back a fast reader: `put` blocks while the
//! queue is full. The results are typed per stage (`done.transformer` has one count per
//! replica), and the daemon watcher, which never ends on its own, is stopped once the other
//! stages have ended: its result is `None`.
//!
//! `cargo run --release -p examples --example topology_pipeline` prints (the progress lines
//! vary):
//!
//! ```text
//! watcher: 0 of 2000 lines written
//! watcher: 1480 of 2000 lines written
//! read: 2000 lines
//! transform: [496, 511, 489, 504] lines per replica, 2000 in all
//! write: 2000 lines, 9995 words, each line once
//! watcher: still running when the pipeline ended, so stopped (None)
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;
use mproc::topology::process;
use mproc::{QueueReader, QueueWriter};
use serde::{Deserialize, Serialize};

/// The example fails instead of hanging if the topology does not end within this.
const PATIENCE: Duration = Duration::from_secs(10);
const LINES: usize = 2000;
const TRANSFORMERS: usize = 4;
/// Items each queue holds before `put` waits.
const BOUND: usize = 16;
/// How often the watcher looks at the progress counter.
const TICK: Duration = Duration::from_millis(2);

/// A line of input and its number.
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    number: usize,
    text: String,
}

/// A line's number and how many words it has.
#[derive(Debug, Serialize, Deserialize)]
struct Counted {
    number: usize,
    words: usize,
}

/// What the last stage saw.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Written {
    lines: usize,
    words: usize,
}

/// The text of line `n`: between 2 and 8 words.
fn text_of(n: usize) -> String {
    let mut text = format!("line {n}");
    for _ in 0..n % 7 {
        text.push_str(" word");
    }
    text
}

/// Stage 1: puts the lines, waiting while `lines` is full. How many it put.
#[process]
fn read(lines: QueueWriter<Line>, count: usize) -> usize {
    for number in 0..count {
        let text = text_of(number);
        lines.put(&Line { number, text }).expect("put a line");
    }
    count
}

/// Stage 2: counts the words of each line until `lines` is closed and drained. How many lines
/// it took.
#[process]
fn transform(lines: QueueReader<Line>, counted: QueueWriter<Counted>) -> usize {
    let mut taken = 0;
    for line in &lines {
        let Line { number, text } = line.expect("a whole line");
        let words = text.split_whitespace().count();
        counted
            .put(&Counted { number, words })
            .expect("put a count");
        taken += 1;
    }
    taken
}

/// Stage 3: adds up the counts until `counted` is closed and drained, checking that each line
/// arrives once, and counts its progress in `written`.
#[process]
fn write(counted: QueueReader<Counted>, written: Value<u64>, count: usize) -> Written {
    let mut seen = vec![false; count];
    let mut total = Written { lines: 0, words: 0 };
    for item in &counted {
        let Counted { number, words } = item.expect("a whole count");
        assert!(!seen[number], "line {number} arrived twice");
        seen[number] = true;
        total.lines += 1;
        total.words += words;
        written.fetch_add(1);
    }
    total
}

/// A daemon: prints the writer's progress whenever it changed, and never ends on its own.
#[process]
fn watch(written: Value<u64>, of: usize) {
    let mut last = None;
    loop {
        let now = written.get();
        if last != Some(now) {
            println!("watcher: {now} of {of} lines written");
            last = Some(now);
        }
        std::thread::sleep(TICK); // polling a counter, not waiting for an event
    }
}

fn main() -> mproc::Result<()> {
    let written = Value::new(0u64)?;
    let done = process! {
        queue lines: Queue<Line>, bounded(BOUND);
        queue counted: Queue<Counted>, bounded(BOUND);
        reader: read(lines.writer(), LINES);
        transformer: transform(lines.reader(), counted.writer()) * TRANSFORMERS;
        writer: write(counted.reader(), written.clone(), LINES);
        watcher: watch(written.clone(), LINES), daemon;
    }
    .start()?
    .join_timeout(PATIENCE)?;
    assert!(done.failures().is_empty(), "{:?}", done.failures());

    let read = done.reader?;
    println!("read: {read} lines");
    let per_replica: Vec<usize> = done.transformer.into_iter().collect::<Result<_, _>>()?;
    let transformed: usize = per_replica.iter().sum();
    println!("transform: {per_replica:?} lines per replica, {transformed} in all");
    let written_out = done.writer?;
    println!(
        "write: {} lines, {} words, each line once",
        written_out.lines, written_out.words
    );
    let watcher: Option<Result<(), ProcessError>> = done.watcher;
    assert!(watcher.is_none(), "the watcher never ends on its own");
    println!("watcher: still running when the pipeline ended, so stopped (None)");

    let words: usize = (0..LINES)
        .map(|n| text_of(n).split_whitespace().count())
        .sum();
    assert_eq!((read, transformed), (LINES, LINES));
    assert_eq!(per_replica.len(), TRANSFORMERS);
    assert_eq!(
        written_out,
        Written {
            lines: LINES,
            words
        }
    );
    assert_eq!(written.get(), LINES as u64);
    Ok(())
}
