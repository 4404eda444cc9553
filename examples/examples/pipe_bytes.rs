//! Seed: "传输字节" — raw bytes with `send_bytes` and `recv_bytes_into` into a 10-byte buffer. The
//! last message (18 bytes) does not fit: `BufferTooShort` carries the whole message, as
//! Python's `e.args[0]` does.
//!
//! ```text
//! $ cargo run --example pipe_bytes
//! producer 1 makes bun 1
//! consumer 1 ate a 包子
//! received 6 bytes
//! producer 1 makes bun 2
//! ...
//! too long for the buffer, the whole message is: 包子包子包子
//! ```

use std::time::Duration;

use mproc::prelude::*;

#[process]
fn produce(right: Connection<()>, name: String) {
    for i in 1..=3 {
        println!("{name} makes bun {i}");
        right.send_bytes("包子".as_bytes()).expect("send");
        std::thread::sleep(Duration::from_millis(50)); // simulated work, as in the seed
    }
    right.send_bytes("包子包子包子".as_bytes()).expect("send");
}

#[process]
fn consume(left: Connection<()>, name: String) -> (u32, String) {
    let mut eaten = 0;
    let mut too_long = String::new();
    loop {
        let mut buffer = [0u8; 10];
        match left.recv_bytes_into(&mut buffer, 0) {
            Ok(size) => {
                println!("{name} ate a {}", String::from_utf8_lossy(&buffer[..size]));
                println!("received {size} bytes");
                eaten += 1;
            }
            Err(PipeError::BufferTooShort { message }) => {
                too_long = String::from_utf8(message).expect("utf-8");
                println!("too long for the buffer, the whole message is: {too_long}");
            }
            Err(PipeError::Eof) => return (eaten, too_long),
            Err(e) => panic!("{e}"),
        }
    }
}

fn main() -> mproc::Result<()> {
    let (left, right) = Pipe::<()>::new()?;
    let producer = produce::spawn(right, "producer 1".into())?;
    let consumer = consume::spawn(left, "consumer 1".into())?;
    producer.join()?;
    assert_eq!(consumer.join()?, (3, "包子包子包子".to_owned()));
    Ok(())
}
