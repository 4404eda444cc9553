//! An enum: a peer can write a discriminant that names no variant.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(u8)]
enum State {
    Idle,
    Busy,
}

fn main() {}
