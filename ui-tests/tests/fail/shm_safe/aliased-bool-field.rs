//! A `bool` behind a type alias is not visible to the derive; the trait bound refuses it.

type Flag = bool;

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Particle {
    hits: u32,
    alive: Flag,
}

fn main() {}
