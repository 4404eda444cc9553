//! `f(..)` stays an ordinary function, usable beside `f::spawn(..)`.

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn whoami(tag: String) -> (String, i32) {
    (tag, current_process().pid())
}

fn main() {
    let me = std::process::id().cast_signed();
    let (tag, pid) = whoami("here".into());
    assert_eq!((tag.as_str(), pid), ("here", me));

    let child = whoami::spawn("there".into()).expect("start");
    let child_pid = child.pid();
    let (tag, pid) = child
        .join_timeout(Duration::from_secs(30))
        .expect("joined in time");
    assert_eq!((tag.as_str(), pid), ("there", child_pid));
    assert_ne!(pid, me);
}
