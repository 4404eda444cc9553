use mproc::pool_task;

#[pool_task]
struct Square {
    side: u64,
}

fn main() {}
