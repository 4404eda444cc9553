use mproc::managed;

struct Names(Vec<String>);

#[managed]
impl Names {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn add(&mut self, name: &str) {
        self.0.push(name.to_owned());
    }
}

fn main() {}
