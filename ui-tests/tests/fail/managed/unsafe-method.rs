use mproc::managed;

struct Buffer(Vec<u8>);

#[managed]
impl Buffer {
    pub fn new() -> Self {
        Self(Default::default())
    }

    pub unsafe fn byte(&self, i: usize) -> u8 {
        unsafe { *self.0.get_unchecked(i) }
    }
}

fn main() {}
