use mproc::process;

struct Counter {
    count: u32,
}

impl Counter {
    #[process]
    fn bump(&mut self, by: u32) -> u32 {
        self.count += by;
        self.count
    }
}

fn main() {}
