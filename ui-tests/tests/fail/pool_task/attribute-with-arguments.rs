use mproc::pool_task;

#[pool_task(name = "square")]
fn square(x: u64) -> u64 {
    x * x
}

fn main() {}
