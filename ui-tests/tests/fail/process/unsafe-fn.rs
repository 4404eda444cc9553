use mproc::process;

#[process]
unsafe fn poke(addr: usize) -> u8 {
    let _ = addr;
    0
}

fn main() {}
