use mproc::topology::process;

fn work() {}

fn main() {
    let _ = process! {
        worker: work;
    };
}
