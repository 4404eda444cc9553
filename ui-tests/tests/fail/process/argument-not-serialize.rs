use mproc::process;

struct Job {
    id: u32,
}

#[process]
fn run(job: Job) -> u32 {
    job.id
}

fn main() {}
