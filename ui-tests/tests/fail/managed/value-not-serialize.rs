use mproc::managed;

// Without a `new`, a managed value is created from itself: it must travel.
struct Counter(u64);

#[managed]
impl Counter {
    pub fn get(&self) -> u64 {
        self.0
    }
}

fn main() {}
