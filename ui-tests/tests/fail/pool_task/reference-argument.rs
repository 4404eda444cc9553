use mproc::pool_task;

#[pool_task]
fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {}
