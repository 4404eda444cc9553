use mproc::process;

#[process]
struct Worker {
    id: u32,
}

fn main() {}
