use std::time::Duration;

use mproc::{Pool, pool_task};

#[pool_task]
fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let _ = count_words("a b");
    let pool = Pool::new(1).unwrap();
    let _ = pool
        .apply_async(count_words, "a b")
        .unwrap()
        .get_timeout(Duration::from_secs(30));
}
