use mproc::pool_task;

#[pool_task]
fn sum9(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8) -> u32 {
    [a, b, c, d, e, f, g, h, i].iter().map(|&x| u32::from(x)).sum()
}

fn main() {}
