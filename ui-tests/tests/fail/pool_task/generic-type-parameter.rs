use mproc::pool_task;

#[pool_task]
fn first<T>(items: Vec<T>) -> usize {
    items.len()
}

fn main() {}
