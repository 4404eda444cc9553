//! An `Array<char>`: a peer can write a value that is not a Unicode scalar value.

fn main() {
    let _letters = mproc::Array::from_slice(&['a', 'b']);
}
