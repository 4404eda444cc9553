//! The mproc benchmark: how fast is mproc, compared with Python's `multiprocessing` and with
//! what the machine allows?
//!
//! ```sh
//! cargo run --release -p bench -- --full    # writes BENCHMARKS.md
//! cargo run --release -p bench -- --quick   # CI: every workload at a small size
//! ```
//!
//! For every figure of every workload (DESIGN §4) it measures three sides in the same run:
//! - **mproc**: the runtime's own API (`workloads/<name>.rs`, `mproc_*` functions; "not yet"
//!   until the feature lands);
//! - **Python**: the same work with `multiprocessing` (`bench/python/mp_<name>.py`, standard
//!   library only);
//! - **floor**: the same hand-off done directly with system calls (`workloads/<name>.rs`,
//!   `floor_*` functions, built on `floor/` and `sys/`);
//! - **peers**, on the figures where they have an equivalent: the same work with another Rust
//!   crate (procspawn, ipc-channel, interprocess, iceoryx2; `peers/<crate>.rs`).
//!
//! Each side of each figure runs in a fresh measuring process (`bench __side ...` or the
//! Python script) that prints one JSON line with its samples: warm-up runs dropped, then
//! `runs` measured runs. The runner summarizes them (median and min..max), prints the table
//! and writes the Markdown report. No figure is ever compared with a threshold: a noisy
//! machine changes numbers, never the exit code. A side that crashes or hangs (killed after a
//! time limit) is reported as FAILED and makes the exit code non-zero.

mod cli;
mod config;
mod floor;
mod machine;
mod outcome;
mod peers;
mod python;
mod render;
mod runner;
mod side;
mod stats;
mod sys;
mod workloads;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    // First: a process that procspawn re-executed (a procspawn peer side's child, started
    // with this process's arguments) runs its function here and exits; in every other process
    // this only records that procspawn may spawn. mproc's spawned children never get here
    // (its constructor takes them before `main`).
    procspawn::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [hidden, side, figure, sizes] = args.as_slice()
        && hidden == "__side"
    {
        return side::main(side, figure, sizes);
    }
    match cli::parse(&args) {
        Ok(Command::Help) => {
            println!("{}", cli::USAGE);
            ExitCode::SUCCESS
        }
        Ok(Command::List) => {
            print!("{}", cli::list());
            ExitCode::SUCCESS
        }
        Ok(Command::Run(options)) => run(&options),
        Err(message) => {
            eprintln!("bench: {message}\n\n{}", cli::USAGE);
            ExitCode::from(2)
        }
    }
}

fn run(options: &cli::Options) -> ExitCode {
    let selection = match cli::select(&options.only) {
        Ok(selection) => selection,
        Err(message) => {
            eprintln!("bench: {message}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "bench: {} mode, {} figure(s), each side in its own process",
        options.mode.name(),
        selection.iter().map(|(_, f)| f.len()).sum::<usize>()
    );
    let report = runner::run(options.mode, &selection);
    print!("{}", render::console(&report));
    println!("\ntotal {:.1} s", report.elapsed.as_secs_f64());
    if let Some(path) = &options.out {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
            && let Err(e) = std::fs::create_dir_all(dir)
        {
            eprintln!("bench: cannot create {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
        if let Err(e) = std::fs::write(path, render::markdown(&report)) {
            eprintln!("bench: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    if report.failures().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
