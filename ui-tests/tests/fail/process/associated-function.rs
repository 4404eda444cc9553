use mproc::process;

struct Counter;

impl Counter {
    #[process]
    fn double(by: u32) -> u32 {
        by * 2
    }
}

fn main() {}
