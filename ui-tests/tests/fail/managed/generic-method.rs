use mproc::managed;

struct Log(Vec<String>);

#[managed]
impl Log {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn push<T: ToString>(&mut self, item: T) {
        self.0.push(item.to_string());
    }
}

fn main() {}
