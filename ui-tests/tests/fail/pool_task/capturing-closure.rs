// A capturing closure cannot be a pool task. The runtime refuses it with a constant assertion
// evaluated when the task's code is instantiated: `cargo build` reports it, `cargo check` and
// rust-analyzer accept the program (issue #22, item 5). trybuild builds only when the run has
// pass cases (`cargo test -p ui-tests` does); a run filtered to fail cases only checks, and then
// this case compiles.
use mproc::Pool;

fn main() {
    let pool = Pool::new(1).unwrap();
    let offset = 10u64;
    let _ = pool.map(move |x: u64| x + offset, 0..4);
}
