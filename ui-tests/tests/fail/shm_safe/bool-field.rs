//! A `bool` field: a peer can write a byte that is neither 0 nor 1.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Particle {
    pos: [f32; 3],
    alive: bool,
}

fn main() {}
