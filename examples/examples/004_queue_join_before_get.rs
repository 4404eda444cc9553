//! Seed 004: "死锁" — a child puts a 1 MB string and the parent joins the child before getting
//! it. In Python this deadlocks.
//!
//! ```python
//! def f(q):
//!     q.put('X' * 1000000)
//!
//! queue = Queue()
//! p = Process(target=f, args=(queue,))
//! p.start()
//! print('join blocks')
//! p.join()            # this deadlocks
//! print('get blocks')
//! obj = queue.get()
//! print(obj)
//! ```
//!
//! Python's `put` only hands the item to a feeder thread, which writes it into a pipe; a
//! process waits for its feeder thread before it exits, and the feeder waits for room in the
//! pipe, which only a `get` makes. So the child never exits and `p.join()` never returns (and
//! `cancel_join_thread()` only trades the hang for a lost item).
//!
//! What differs: mproc's `put` copies the item into the queue's shared memory itself, so when
//! it returns the item is in the queue and the child may exit at once. The join returns, then
//! the get finds the megabyte. The join has a deadline anyway: if it ever deadlocked, the
//! example would fail instead of hanging. It prints the string's length and first characters
//! rather than the whole megabyte.
//!
//! `cargo run --release -p examples --example 004_queue_join_before_get` prints:
//!
//! ```text
//! join (blocks forever in Python)
//! the child exited: exit code 0
//! get
//! XXXXXXXXXXXXXXXXXXXX... (1000000 characters, all 'X')
//! ```

#![allow(
    clippy::needless_pass_by_value,
    reason = "`#[process]` functions receive their arguments by value, deserialized"
)]

use std::time::Duration;

use mproc::prelude::*;

/// Far longer than the child needs: a join still waiting then is the Python deadlock.
const PATIENCE: Duration = Duration::from_secs(10);
const LEN: usize = 1_000_000;

#[process]
fn f(q: Queue<String>) {
    q.put(&"X".repeat(LEN)).expect("put");
}

fn main() -> mproc::Result<()> {
    let queue = Queue::new()?;
    let p = f::spawn(queue.clone())?;
    println!("join (blocks forever in Python)");
    match p.join_timeout(PATIENCE) {
        Ok(()) => {}
        Err(ProcessError::Timeout) => {
            panic!("deadlock: the child did not exit within {PATIENCE:?} of putting its item")
        }
        Err(e) => return Err(e.into()),
    }
    println!("the child exited: {}", p.exit_status()?.expect("joined"));
    println!("get");
    let obj = queue.get_timeout(PATIENCE)?;
    println!("{}... ({} characters, all 'X')", &obj[..20], obj.len());
    assert_eq!(obj.len(), LEN);
    assert!(obj.bytes().all(|b| b == b'X'));
    assert!(queue.is_empty());
    Ok(())
}
