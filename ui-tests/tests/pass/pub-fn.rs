//! A `pub fn` in a module: its generated `spawn` and `builder` are usable from outside.

use std::time::Duration;

mod jobs {
    use mproc::process;

    /// Doubles `x`.
    #[process]
    pub fn double(x: i64) -> i64 {
        x * 2
    }
}

fn main() {
    let timeout = Duration::from_secs(30);
    let child = jobs::double::spawn(21).expect("start");
    assert_eq!(child.join_timeout(timeout).expect("joined in time"), 42);

    let child = jobs::double::builder()
        .name("doubler")
        .spawn(-4)
        .expect("start");
    assert_eq!(child.name(), "doubler");
    assert_eq!(child.join_timeout(timeout).expect("joined in time"), -8);
}
