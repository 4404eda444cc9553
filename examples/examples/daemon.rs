//! Seed: "守护进程" — daemon children end when the main program's code ends; non-daemon children
//! are waited for. Three scenes from the seeds:
//!
//! 1. a lone daemon whose work never shows, because the main program ends first;
//! 2. two children, `stars` a daemon and `slow_job` not: the stars stop when the main code ends,
//!    `slow_job` still finishes;
//! 3. a heartbeat daemon reporting "host 1 ok" beside a worker the main program joins.
//!
//! ```text
//! $ cargo run --example daemon
//! -- scene 1: main ends before the daemon prints
//! main process done...
//! -- scene 2
//! slow job start...
//! *
//! **
//! main process code done...
//! slow job end...
//! -- scene 3
//! host 1 ok...
//! host 1 collects the logs
//! host 1 ok...
//! host 1 ok...
//! ...
//! ```
//!
//! Each scene runs in its own process here, so that "the main program ends" can happen three
//! times in one example.

use std::time::Duration;

use mproc::prelude::*;

fn nap(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms)); // simulated work, as in the seeds
}

#[process]
fn quiet_daemon() {
    nap(300);
    println!("daemon: you will not see this");
}

#[process]
fn stars() {
    for count in 1.. {
        println!("{}", "*".repeat(count));
        nap(100);
    }
}

#[process]
fn slow_job() {
    println!("slow job start...");
    nap(400);
    println!("slow job end...");
}

#[process]
fn heartbeat() {
    loop {
        println!("host 1 ok...");
        nap(100);
    }
}

#[process]
fn collect_logs() {
    println!("host 1 collects the logs");
    nap(300);
}

/// Each scene is a "main program" of its own, run in a child so that its end is observable.
#[process]
fn scene(number: u8) {
    match number {
        1 => {
            quiet_daemon::builder().daemon(true).spawn().expect("start");
            println!("main process done...");
        }
        2 => {
            stars::builder().daemon(true).spawn().expect("start");
            slow_job::spawn().expect("start");
            nap(150);
            println!("main process code done...");
        }
        _ => {
            heartbeat::builder().daemon(true).spawn().expect("start");
            collect_logs::spawn()
                .expect("start")
                .join()
                .expect("worker");
            println!(" ... ");
        }
    }
    // Returning ends this scene's "main program": daemons are terminated, others waited for.
}

fn main() -> mproc::Result<()> {
    for number in 1..=3 {
        println!("-- scene {number}");
        scene::spawn(number)?.join()?;
    }
    Ok(())
}
