use mproc::prelude::*;
use mproc::topology::process;

#[process]
fn ask(_link: Connection<String, u64>) {}

#[process]
fn answer(_link: Connection<String, u64>) {}

fn main() {
    let _ = process! {
        pipe (client, server): Pipe<String, u64>;
        asker: ask(client);
        answerer: answer(server);
    };
}
