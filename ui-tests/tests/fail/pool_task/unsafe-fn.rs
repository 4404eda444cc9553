use mproc::pool_task;

#[pool_task]
unsafe fn peek(address: usize) -> u8 {
    address as u8
}

fn main() {}
