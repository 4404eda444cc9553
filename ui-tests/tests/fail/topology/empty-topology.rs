use mproc::topology::process;

fn main() {
    let _ = process! {};
}
