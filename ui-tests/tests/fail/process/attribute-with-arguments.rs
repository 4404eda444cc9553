use mproc::process;

#[process(daemon = true)]
fn heartbeat() {}

fn main() {}
