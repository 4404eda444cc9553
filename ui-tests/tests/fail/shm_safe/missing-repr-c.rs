//! No `#[repr(C)]`: the compiler may order the fields as it likes.

#[derive(Clone, Copy, mproc::ShmSafe)]
struct Point {
    x: f64,
    y: f64,
}

fn main() {}
