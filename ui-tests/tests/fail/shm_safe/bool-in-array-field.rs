//! `bool` inside an array field is refused like a `bool` field.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Flags {
    set: [bool; 8],
}

fn main() {}
