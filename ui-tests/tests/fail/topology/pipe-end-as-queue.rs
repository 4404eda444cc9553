use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn ask(_link: u8) {}

#[process]
fn answer(_link: u8) {}

fn main() {
    let _ = process! {
        pipe (client, server): Pipe<String>;
        asker: ask(client.writer());
        answerer: answer(server);
    };
}
