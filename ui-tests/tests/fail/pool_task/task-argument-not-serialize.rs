// Without `#[pool_task]`, a task whose argument cannot travel is reported at the call, with
// the pool's own message.
use mproc::Pool;

struct Image {
    pixels: Vec<u8>,
}

fn brightness(image: Image) -> u64 {
    image.pixels.iter().map(|&p| u64::from(p)).sum()
}

fn main() {
    let pool = Pool::new(1).unwrap();
    let _ = pool.apply(brightness, Image { pixels: vec![1] });
}
