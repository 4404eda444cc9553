//! Seed: "join" — wait for one child before going on, and for a list of children.
//!
//! ```text
//! $ cargo run --example join
//! sending the first email
//! sending the second email
//! email 0 sent...
//! email 1 sent...     (0..4 in any order)
//! ...
//! sending the last email...
//! ```

use mproc::prelude::*;

#[process]
fn send_first() {
    println!("sending the first email");
}

#[process]
fn send(index: u32) -> u32 {
    println!("email {index} sent...");
    index
}

fn main() -> mproc::Result<()> {
    // One child: the second email waits for the first.
    send_first::spawn()?.join()?;
    println!("sending the second email");

    // Many children: start all, then join each (in list order).
    let children: Vec<Child<u32>> = (0..5).map(send::spawn).collect::<Result<_, _>>()?;
    let sent: Vec<u32> = children.iter().map(Child::join).collect::<Result<_, _>>()?;
    assert_eq!(sent, [0, 1, 2, 3, 4]);
    println!("sending the last email...");
    Ok(())
}
