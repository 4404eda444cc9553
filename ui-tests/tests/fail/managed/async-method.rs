use mproc::managed;

struct Cache(Vec<u8>);

#[managed]
impl Cache {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub async fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
