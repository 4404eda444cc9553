//! Python's "subclass `Process`, override `run`": `Process::new(MyJob::run, job)` with a
//! `fn run(self) -> R` method on a serializable type.

use std::time::Duration;

use mproc::Process;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct MyJob {
    name: String,
    rounds: u32,
}

impl MyJob {
    fn run(self) -> String {
        format!("{} ran {} rounds", self.name, self.rounds)
    }
}

fn main() {
    let job = MyJob {
        name: "job-1".into(),
        rounds: 3,
    };
    let child = Process::new(MyJob::run, job).start().expect("start");
    let got = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!(got, "job-1 ran 3 rounds");
}
