//! Processes: spawn, join, values back, names, start methods, typed failures.

use mproc::prelude::*;

use super::section;

/// Python: `Process(target=f, args=(..)).start(); p.join()` — but the value comes back.
#[process]
fn square(x: u64) -> u64 {
    x * x
}

#[process]
fn whoami() -> (i32, i32, String) {
    let me = current_process();
    let parent = parent_process().map_or(0, |p| p.pid());
    (me.pid(), parent, me.name().to_owned())
}

/// A child that ends with `exit(code)` instead of returning.
fn exit_with(code: i32) {
    std::process::exit(code)
}

pub(crate) fn run() -> mproc::Result<()> {
    section("processes: spawn, join, return values");
    let children: Vec<_> = (1..=4).map(square::spawn).collect::<Result<_, _>>()?;
    let squares: Vec<u64> = children.iter().map(Child::join).collect::<Result<_, _>>()?;
    println!("squares computed in 4 child processes: {squares:?}");

    section("pid, ppid and names");
    println!(
        "parent: pid {} ({})",
        current_process().pid(),
        current_process().name()
    );
    let (pid, parent, name) = whoami::builder().name("worker-A").spawn()?.join()?;
    println!("child:  pid {pid}, ppid {parent}, name {name}");
    let (pid, parent, name) = whoami::builder()
        .start_method(StartMethod::Spawn)
        .spawn()?
        .join()?;
    println!("spawned (re-executed) child: pid {pid}, ppid {parent}, name {name}");

    section("failures are typed");
    let boom = Process::new(|(): ()| -> u8 { panic!("no tickets left") }, ()).start()?;
    println!("a panicking child: {}", boom.join().unwrap_err());
    let exits = Process::new(exit_with, 3).start()?;
    println!("a child calling exit(3): {}", exits.join().unwrap_err());
    Ok(())
}
