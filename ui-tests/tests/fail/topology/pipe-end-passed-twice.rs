use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn ask(_a: u8, _b: u8) {}

#[process]
fn answer(_link: u8) {}

fn main() {
    let _ = process! {
        pipe (client, server): Pipe<String>;
        asker: ask(client, client);
        answerer: answer(server);
    };
}
