//! A `Value<bool>`: a peer can write a byte that is neither 0 nor 1; `ShmBool` stands for it.

fn main() {
    let _ready = mproc::Value::new(false);
}
