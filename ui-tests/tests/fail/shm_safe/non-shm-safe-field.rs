//! A field of a `Copy` type that is not valid for every bit pattern: a peer can write 0 into
//! a `NonZeroU32`.

use std::num::NonZeroU32;

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Job {
    id: NonZeroU32,
    size: u32,
}

fn main() {}
