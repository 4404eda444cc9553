//! A union: the derive cannot tell which field is meant.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
union Word {
    int: u32,
    float: f32,
}

fn main() {}
