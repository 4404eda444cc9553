use mproc::managed;

struct Counter(u64);

#[managed]
impl Counter {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn into_total(self) -> u64 {
        self.0
    }
}

fn main() {}
