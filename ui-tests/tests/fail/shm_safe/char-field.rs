//! A `char` field: a peer can write a value that is not a Unicode scalar value.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Key {
    code: u32,
    letter: char,
}

fn main() {}
