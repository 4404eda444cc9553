//! `#[pool_task]` functions (one, several and no arguments) used with a pool, and still called
//! directly (several or no arguments as the one tuple the pool gives).

use std::time::Duration;

use mproc::{Pool, pool_task};

#[pool_task]
fn square(x: u64) -> u64 {
    x * x
}

#[pool_task]
fn describe(name: String, size: u32) -> String {
    format!("{name}: {size}")
}

#[pool_task]
fn answer() -> u8 {
    42
}

fn main() {
    assert_eq!(square(3), 9);
    assert_eq!(describe(("c".to_owned(), 3)), "c: 3");
    assert_eq!(answer(()), 42);
    let pool = Pool::new(2).unwrap();
    let timeout = Duration::from_secs(30);
    let squares = pool.map_async(square, 1..=3).run().unwrap().get_timeout(timeout).unwrap();
    assert_eq!(squares, [1, 4, 9]);
    let pairs = vec![("a".to_owned(), 1), ("b".to_owned(), 2)];
    let described = pool.starmap_async(describe, pairs).run().unwrap().get_timeout(timeout).unwrap();
    assert_eq!(described, ["a: 1", "b: 2"]);
    assert_eq!(pool.apply_async(answer, ()).unwrap().get_timeout(timeout).unwrap(), 42);
    pool.terminate();
}
