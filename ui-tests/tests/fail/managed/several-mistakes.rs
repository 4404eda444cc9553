use mproc::managed;

struct Names(Vec<String>);

#[managed]
impl Names {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub async fn add(&mut self, name: &str) {
        self.0.push(name.to_owned());
    }

    pub fn take(self) -> Vec<String> {
        self.0
    }

    pub fn first<'a>(&'a self) -> &'a String {
        &self.0[0]
    }
}

fn main() {}
