// A task takes one argument (a tuple for several). A function of two arguments is refused at
// the call; `#[pool_task]` rewrites it to take the tuple, or write `fn add((a, b): (i32, i32))`.
use mproc::Pool;

fn add(a: i32, b: i32) -> i32 {
    a + b
}

fn main() {
    let pool = Pool::new(1).unwrap();
    let _ = pool.starmap(add, [(1, 2)]);
}
