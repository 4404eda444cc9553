use mproc::managed;

struct Image {
    pixels: Vec<u8>,
}

struct Gallery(Vec<Image>);

#[managed]
impl Gallery {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub fn add(&mut self, image: Image) {
        self.0.push(image);
    }
}

fn main() {}
