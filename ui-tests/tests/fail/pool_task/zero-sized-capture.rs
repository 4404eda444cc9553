// A closure that captures only a zero-sized value is zero-sized too, but it still captures:
// a worker could not have that value (here a proof that `Token::new` ran, in this process).
// The pool refuses it like any other capturing closure.
use mproc::Pool;

mod token {
    /// Made only by `new`, once per process.
    pub struct Token(());

    impl Token {
        pub fn new() -> Self {
            Token(())
        }
    }
}

fn main() {
    let pool = Pool::new(1).unwrap();
    let token = token::Token::new();
    let _ = pool.apply(
        move |x: u64| {
            let _proof = &token;
            x
        },
        1,
    );
}
