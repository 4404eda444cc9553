//! A tour of mproc through the seed scenarios: `cargo run --release --example tour`.
//!
//! Each section is a Python `multiprocessing` idiom and its mproc port, with what mproc does
//! that Python cannot. The per-scenario examples (`cargo run --example <name>`) go deeper.

mod connection;
mod pipes;
mod pool;
mod processes;
mod queues;
mod shared_memory;
mod sync;
mod topology;

/// Prints a section heading.
fn section(title: &str) {
    println!("\n== {title}");
}

fn main() -> mproc::Result<()> {
    processes::run()?;
    pipes::run()?;
    pool::run()?;
    sync::run()?;
    queues::run()?;
    shared_memory::run()?;
    connection::run()?;
    topology::run()?;
    println!("\ntour complete");
    Ok(())
}
