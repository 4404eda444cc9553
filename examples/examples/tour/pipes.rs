//! Pipes: typed messages, one end shared by several processes, handles sent to a running
//! process.

use std::io::Write;

use mproc::codec::Fd;
use mproc::pipe::{Receiver, Sender};
use mproc::prelude::*;

use super::section;

#[process]
fn upper(conn: Connection<String>) {
    while let Ok(text) = conn.recv() {
        conn.send(&text.to_uppercase()).expect("send");
    }
}

#[process]
fn eat(buns: Receiver<u32>) -> u32 {
    buns.iter().map(|b| b.expect("a whole message")).sum()
}

#[process]
fn log_to(files: Receiver<Fd>) -> usize {
    let mut written = 0;
    for file in files.iter() {
        let mut file = std::fs::File::from(file.expect("a file").into_inner());
        file.write_all(b"written by a process that was already running\n")
            .expect("write");
        written += 1;
    }
    written
}

pub(crate) fn run() -> mproc::Result<()> {
    section("pipes: typed messages, EOF when the other end closes");
    let (here, there) = Pipe::<String>::new()?;
    let child = upper::spawn(there)?;
    here.send(&"hello, pipe".to_owned())?;
    println!("sent \"hello, pipe\", got back {:?}", here.recv()?);
    drop(here); // the child's recv sees the end of the stream
    child.join()?;

    section("pipes: three consumers on one end (Python corrupts data here)");
    let (rx, tx): (Receiver<u32>, Sender<u32>) = Pipe::simplex()?;
    let eaters: Vec<_> = (0..3)
        .map(|_| eat::spawn(rx.try_clone()?).map_err(Into::into))
        .collect::<mproc::Result<_>>()?;
    drop(rx);
    for bun in 1..=300 {
        tx.send(&bun)?;
    }
    drop(tx);
    let sums: Vec<u32> = eaters.iter().map(Child::join).collect::<Result<_, _>>()?;
    println!(
        "three consumers ate {sums:?}: {} in all, each bun once",
        sums.iter().sum::<u32>()
    );
    assert_eq!(sums.iter().sum::<u32>(), (1..=300).sum());

    section("pipes: a file handed to a process that is already running");
    let (files_rx, files_tx) = Pipe::<Fd>::simplex()?;
    let logger = log_to::spawn(files_rx)?;
    let path = std::env::temp_dir().join(format!("mproc-tour-{}", std::process::id()));
    let file = std::fs::File::create(&path)?;
    files_tx.send(&Fd::from(std::os::fd::OwnedFd::from(file)))?;
    drop(files_tx);
    logger.join()?;
    print!("the file now says: {}", std::fs::read_to_string(&path)?);
    std::fs::remove_file(path)?;
    Ok(())
}
