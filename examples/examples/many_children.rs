//! Seed: "多进程之间的并发" — ten children run concurrently; their output interleaves in no fixed
//! order, and the main program's last line often comes first. As in Python, the program does not
//! end before its (non-daemon) children have: they are waited for at exit.
//!
//! ```text
//! $ cargo run --example many_children
//! main process done starting children...
//! S2>>> child pid 6001, parent pid 6000
//! end>>> 2
//! S2>>> child pid 6003, parent pid 6000
//! end>>> 0
//! ...                                       (all ten, in any order)
//! ```

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn work(index: u32) {
    let parent = parent_process().map_or(0, |p| p.pid());
    println!(
        "S2>>> child pid {}, parent pid {parent}",
        current_process().pid()
    );
    std::thread::sleep(Duration::from_millis(100)); // simulated work, as in the seed
    println!("end>>> {index}");
}

fn main() -> mproc::Result<()> {
    for i in 0..10 {
        // Not joined here: dropping a `Child` leaves the process running.
        work::spawn(i)?;
    }
    println!("main process done starting children...");
    Ok(()) // the children are waited for as `main` returns
}
