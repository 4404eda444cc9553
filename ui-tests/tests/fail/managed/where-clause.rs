use mproc::managed;

struct Log(Vec<String>);

#[managed]
impl Log {
    pub fn new() -> Self {
        Log(Vec::new())
    }

    pub fn push(&mut self, item: String)
    where
        String: Clone,
    {
        self.0.push(item);
    }
}

fn main() {}
