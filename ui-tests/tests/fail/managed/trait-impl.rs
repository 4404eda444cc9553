use mproc::managed;

struct Counter(u64);

#[managed]
impl Default for Counter {
    fn default() -> Self {
        Counter(0)
    }
}

fn main() {}
