use mproc::Pool;

fn main() {
    let pool = Pool::new(1).unwrap();
    let offset = 10u64;
    let _ = pool.map(move |x: u64| x + offset, 0..4);
}
