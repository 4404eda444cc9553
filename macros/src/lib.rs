//! Procedural macros of [mproc](https://docs.rs/mproc). Use them through the `mproc` crate,
//! which re-exports them and provides the runtime their expansions call.

mod error;
mod paths;
mod process;

use proc_macro::TokenStream;

/// Makes a function startable in a child process: adds `f::spawn(..)` and `f::builder()`
/// beside `f`, which stays an ordinary function. See `mproc`'s crate documentation.
#[proc_macro_attribute]
pub fn process(args: TokenStream, item: TokenStream) -> TokenStream {
    process::expand(&args.into(), item.into()).into()
}
