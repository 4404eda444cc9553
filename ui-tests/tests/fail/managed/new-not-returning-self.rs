use mproc::managed;

struct Counter(u64);

#[managed]
impl Counter {
    pub fn new(start: u64) -> Option<Self> {
        Some(Counter(start))
    }

    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
