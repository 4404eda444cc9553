//! A long map with a progress bar, as Python users write `tqdm(pool.imap(f, items))`
//! (the `progress` feature of mproc, built on indicatif; the bar draws on a terminal only).
//!
//! ```text
//! $ cargo run --example pool_progress
//! ████████████████████████████████████████ 2000/2000 tasks, 1234/s, eta 0s
//! 2000 numbers checked: 303 primes below 2000
//! ████████████████████████████████████████ 2000/2000 tasks, ...
//! the same with imap and an explicit total: 303 primes
//! ```

use mproc::prelude::*;

#[pool_task]
fn is_prime(n: u64) -> bool {
    n >= 2 && (2..=n.isqrt()).all(|d| !n.is_multiple_of(d))
}

fn main() -> mproc::Result<()> {
    let pool = Pool::new(cpu_count())?;
    let primes = pool.map(is_prime, 0..2000).progress().run()?;
    let count = primes.iter().filter(|&&p| p).count();
    println!("2000 numbers checked: {count} primes below 2000");
    assert_eq!(count, 303);

    let results = pool.imap(is_prime, 0..2000).chunksize(50).progress(2000);
    let again = results.filter(|r| matches!(r, Ok(true))).count();
    println!("the same with imap and an explicit total: {again} primes");
    assert_eq!(again, 303);
    Ok(())
}
