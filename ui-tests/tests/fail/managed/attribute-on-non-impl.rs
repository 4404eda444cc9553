use mproc::managed;

#[managed]
fn count() -> u64 {
    0
}

fn main() {}
