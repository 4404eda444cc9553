//! Seed: "获取进程id" — the pid and parent pid of the parent and of its children, and the parent
//! running on while its child runs (asynchrony).
//!
//! ```text
//! $ cargo run --example process_ids
//! S1>>> main process: pid 4242, parent pid 4100
//! S2>>> child process: pid 4243, parent pid 4242
//! *
//! **
//! ***
//! S2>>> child process: pid 4244, parent pid 4242   (lines of the two interleave)
//! ...
//! ```

use mproc::prelude::*;

fn pid_line(who: &str) -> String {
    let ppid = parent_process().map_or_else(
        || std::os::unix::process::parent_id().cast_signed(),
        |p| p.pid(),
    );
    format!("{who}: pid {}, parent pid {ppid}", current_process().pid())
}

#[process]
fn report() {
    println!("S2>>> {}", pid_line("child process"));
}

#[process]
fn report_four_times() {
    for _ in 0..4 {
        println!("S2>>> {}", pid_line("child process"));
    }
}

fn main() -> mproc::Result<()> {
    println!("S1>>> {}", pid_line("main process"));
    report::spawn()?.join()?;

    // The parent does not wait for the child: their lines interleave.
    let child = report_four_times::spawn()?;
    for i in 1..=5 {
        println!("{}", "*".repeat(i));
    }
    child.join()?;
    Ok(())
}
