use mproc::managed;

struct Names(Vec<String>);

#[managed]
impl Names {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn first(&self) -> &str {
        &self.0[0]
    }
}

fn main() {}
