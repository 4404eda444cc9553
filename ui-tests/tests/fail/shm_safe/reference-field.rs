//! A reference field: an address means nothing in another process.

#[derive(Clone, Copy, mproc::ShmSafe)]
#[repr(C)]
struct Named {
    id: u32,
    name: &'static str,
}

fn main() {}
