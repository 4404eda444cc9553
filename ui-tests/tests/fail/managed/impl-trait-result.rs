use mproc::managed;

struct Names(Vec<String>);

#[managed]
impl Names {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn all(&self) -> impl Iterator<Item = String> {
        self.0.clone().into_iter()
    }
}

fn main() {}
