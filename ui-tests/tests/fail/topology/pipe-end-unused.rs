use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn ask(_link: u8) {}

fn main() {
    let _ = process! {
        pipe (client, server): Pipe<String>;
        asker: ask(client);
    };
}
