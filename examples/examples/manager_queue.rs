//! Manager queue with workers: Python's `m = Manager(); q = m.Queue()` handed to worker
//! processes, which take jobs until a `None` sentinel and put results on a second queue, with
//! a manager `Lock` around their output lines.
//!
//! On one host, mproc's own [`Queue`](mproc::Queue) and [`Lock`](mproc::Lock) do the same
//! in shared memory, far faster and without a server process (see `004_queue_sentinels`);
//! the manager's proxies are for processes that share no memory, such as a worker on
//! another host connecting with [`Manager::connect`] (see `manager_remote`).
//!
//! ```text
//! $ cargo run --example manager_queue
//! worker 0 squared 1
//! worker 1 squared 2
//! ...
//! 10 results, sum of squares 385
//! ```

use mproc::manager::{LockProxy, Manager, QueueProxy};
use mproc::prelude::*;

const WORKERS: u32 = 3;

/// Takes numbers until the `None` sentinel, puts their squares on `results`.
fn worker(
    (who, jobs, results, print_lock): (u32, QueueProxy<Option<u64>>, QueueProxy<u64>, LockProxy),
) -> Result<u32, String> {
    let mut done = 0;
    while let Some(n) = jobs.get().map_err(|e| e.to_string())? {
        results.put(&(n * n)).map_err(|e| e.to_string())?;
        let held = print_lock.lock().map_err(|e| e.to_string())?;
        println!("worker {who} squared {n}");
        held.release().map_err(|e| e.to_string())?;
        done += 1;
    }
    Ok(done)
}

fn main() -> mproc::Result<()> {
    let manager = Manager::start()?;
    let jobs = manager.queue::<Option<u64>>()?;
    let results = manager.queue::<u64>()?;
    let print_lock = manager.lock()?;
    let workers = (0..WORKERS)
        .map(|who| {
            let args = (who, jobs.clone(), results.clone(), print_lock.clone());
            Process::new(worker, args).start()
        })
        .collect::<Result<Vec<_>, _>>()?;
    for n in 1..=10 {
        jobs.put(&Some(n))?;
    }
    for _ in 0..WORKERS {
        jobs.put(&None)?;
    }
    let squares = (0..10)
        .map(|_| results.get_timeout(std::time::Duration::from_secs(30)))
        .collect::<Result<Vec<_>, _>>()?;
    let mut handled = 0;
    for worker in workers {
        handled += worker.join()?.map_err(std::io::Error::other)?;
    }
    assert_eq!(handled, 10, "every job was taken exactly once");
    println!(
        "{} results, sum of squares {}",
        squares.len(),
        squares.iter().sum::<u64>()
    );
    manager.shutdown()?;
    Ok(())
}
