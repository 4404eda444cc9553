// A capturing closure cannot be a pool task: only the function's identity reaches a worker.
// A task is a `fn(A) -> R`, and the type checker refuses to coerce a closure that captures to
// it, so `cargo check` and rust-analyzer report it at the call.
use mproc::Pool;

fn main() {
    let pool = Pool::new(1).unwrap();
    let offset = 10u64;
    let _ = pool.map(move |x: u64| x + offset, 0..4);
}
