use mproc::Process;

fn main() {
    let offset = 10_u32;
    let _child = Process::new(move |x: u32| x + offset, 1).start();
}
