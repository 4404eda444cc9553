use mproc::pool_task;

#[pool_task]
async fn mess<T: Clone>(first: &T, second: impl Copy) -> impl Sized {
    let _ = (first, second);
}

fn main() {}
