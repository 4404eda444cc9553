//! Seed: "进程之间数据,彼此隔离" — a global changed in a child stays unchanged in the parent.
//!
//! ```text
//! $ cargo run --example data_isolation
//! child (pid 5012) sees count = 100
//! main process still sees count = 99
//! (the same with a re-executed child: it starts from the program's initial 99 too)
//! ```

use std::sync::atomic::{AtomicU32, Ordering};

use mproc::prelude::*;

static COUNT: AtomicU32 = AtomicU32::new(99);

#[process]
fn increment() -> u32 {
    let now = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    println!("child (pid {}) sees count = {now}", current_process().pid());
    now
}

fn main() -> mproc::Result<()> {
    for method in [StartMethod::Fork, StartMethod::Spawn] {
        let in_child = increment::builder().start_method(method).spawn()?.join()?;
        let in_parent = COUNT.load(Ordering::SeqCst);
        println!("main process still sees count = {in_parent} ({method:?})");
        assert_eq!((in_child, in_parent), (100, 99));
    }
    Ok(())
}
