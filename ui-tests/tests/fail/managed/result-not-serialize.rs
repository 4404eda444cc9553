use mproc::managed;

#[derive(Clone)]
struct Image {
    pixels: Vec<u8>,
}

struct Gallery(Vec<Image>);

#[managed]
impl Gallery {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn first(&self) -> Image {
        self.0[0].clone()
    }
}

fn main() {}
