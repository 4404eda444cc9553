//! Named shared memory: a block and a `ShareableList` attached by name, as Python's
//! `multiprocessing.shared_memory` (the `shared_memory_python` example shares them with Python).

use mproc::prelude::*;
use mproc::shared_memory::{Item, ShareableList, SharedMemory};

use super::section;

/// Attaches to the list by name and records what it computed.
#[process]
fn square_all(name: String) {
    let list = ShareableList::attach(&name).expect("the parent created it");
    for i in 0..list.len() {
        if let Item::Int(v) = list.get(i).expect("a valid item") {
            list.set(i, v * v).expect("an int fits its slot");
        }
    }
}

/// Gets a block handle (it travels as its name) and writes a greeting into it.
#[process]
fn greet(block: SharedMemory) {
    block
        .write_at(0, b"hello from a child")
        .expect("64 bytes hold it");
}

pub(crate) fn run() -> mproc::Result<()> {
    section("named shared memory: attach by name, as Python's SharedMemory");
    let block = SharedMemory::create(64)?;
    greet::spawn(SharedMemory::attach(block.name())?)?.join()?;
    let mut text = [0; 18];
    block.read_at(0, &mut text)?;
    println!(
        "{} ({} bytes) holds {:?}",
        block.name(),
        block.size(),
        String::from_utf8_lossy(&text)
    );
    block.unlink()?;

    section("named shared memory: a ShareableList in CPython's byte layout");
    let list = ShareableList::create(&[1.into(), 2.into(), 3.into(), "three".into(), Item::None])?;
    square_all::spawn(list.shm().name().to_owned())?.join()?;
    println!(
        "{} after a child squared it: {:?}",
        list.shm().name(),
        list.to_vec()?
    );
    assert_eq!(list.get(2)?, Item::Int(9));
    list.shm().unlink()?;
    Ok(())
}
