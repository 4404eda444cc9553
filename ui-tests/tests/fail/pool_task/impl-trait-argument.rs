use mproc::pool_task;

#[pool_task]
fn total(values: impl IntoIterator<Item = u32>) -> u32 {
    values.into_iter().sum()
}

fn main() {}
