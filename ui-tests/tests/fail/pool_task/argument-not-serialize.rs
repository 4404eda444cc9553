use mproc::pool_task;

struct Image {
    pixels: Vec<u8>,
}

#[pool_task]
fn brightness(image: Image) -> u64 {
    image.pixels.iter().map(|&p| u64::from(p)).sum()
}

fn main() {}
