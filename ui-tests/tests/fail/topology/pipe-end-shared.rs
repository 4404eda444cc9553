use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn ask(_link: u8) {}

#[process]
fn answer(_link: u8) {}

fn main() {
    let _ = process! {
        pipe (client, server): Pipe<String>;
        first: ask(client);
        second: ask(client);
        answerer: answer(server);
    };
}
