use mproc::pool_task;

#[pool_task]
async fn fetch(url: String) -> usize {
    url.len()
}

fn main() {}
