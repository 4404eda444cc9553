//! A function pointer field: a code address chosen by a peer must never be called.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Callback {
    id: u32,
    run: fn(u32) -> u32,
}

fn main() {}
