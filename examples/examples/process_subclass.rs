//! Seed: "自定义类方式创建进程" — Python subclasses `Process` and overrides `run`. In mproc the
//! job is a serializable struct with a `run(self)` method, started with
//! `Process::new(MyJob::run, job)`; `run` can even return a value.
//!
//! ```text
//! $ cargo run --example process_subclass
//! >>> main process pid 7000
//! >>> child pid 7001, parent pid 7000
//! >>> child pid 7002, parent pid 7000
//! argument: 1
//! ...
//! last: every child printed its argument
//! ```

use mproc::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct MyProcess {
    arg: String,
}

impl MyProcess {
    fn run(self) -> usize {
        let parent = parent_process().map_or(0, |p| p.pid());
        println!(
            ">>> child pid {}, parent pid {parent}",
            current_process().pid()
        );
        println!("{}", self.arg);
        self.arg.len()
    }
}

fn main() -> mproc::Result<()> {
    println!(">>> main process pid {}", current_process().pid());
    let children: Vec<Child<usize>> = (0..10)
        .map(|i| {
            Process::new(
                MyProcess::run,
                MyProcess {
                    arg: format!("argument: {i}"),
                },
            )
            .start()
        })
        .collect::<Result<_, _>>()?;
    let lengths: Vec<usize> = children.iter().map(Child::join).collect::<Result<_, _>>()?;
    assert!(lengths.iter().all(|&n| n == "argument: 0".len()));
    println!("last: every child printed its argument");
    Ok(())
}
