use mproc::prelude::*;
use std::time::Duration;

#[process]
fn add(a: u32, b: u32) -> u64 {
    u64::from(a) + u64::from(b)
}

#[test]
fn fork_and_spawn() {
    let c = add::spawn(2, 3).unwrap();
    assert_eq!(c.join_timeout(Duration::from_secs(10)).unwrap(), 5);
    let c = add::builder()
        .start_method(StartMethod::Spawn)
        .name("x")
        .spawn(4, 5)
        .unwrap();
    assert_eq!(c.join_timeout(Duration::from_secs(10)).unwrap(), 9);
    let c = Process::new(|s: String| s.len(), "hello".to_string())
        .start_method(StartMethod::Spawn)
        .start()
        .unwrap();
    assert_eq!(c.join_timeout(Duration::from_secs(10)).unwrap(), 5);
}
