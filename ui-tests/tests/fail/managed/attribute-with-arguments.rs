use mproc::managed;

struct Counter(u64);

#[managed(name = "Tally")]
impl Counter {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
