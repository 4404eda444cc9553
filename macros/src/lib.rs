//! Procedural macros of [mproc](https://docs.rs/mproc). Use them through the `mproc` crate,
//! which re-exports them and provides the runtime their expansions call.

mod error;
mod paths;
mod pool_task;
mod process;
mod shm_safe;
mod signature;

use proc_macro::TokenStream;

/// Makes a function startable in a child process: adds `f::spawn(..)` and `f::builder()`
/// beside `f`, which stays an ordinary function. See `mproc`'s crate documentation.
#[proc_macro_attribute]
pub fn process(args: TokenStream, item: TokenStream) -> TokenStream {
    process::expand(&args.into(), item.into()).into()
}

/// Checks that a function can run as a pool task (owned serde arguments and result, no
/// generics, no `self`, at most 8 arguments), with each error at its own token. The function
/// is otherwise unchanged; give it to `Pool::map`, `apply` and the others by name.
#[proc_macro_attribute]
pub fn pool_task(args: TokenStream, item: TokenStream) -> TokenStream {
    pool_task::expand(&args.into(), item.into()).into()
}

/// Derives `mproc::ShmSafe` for a `#[repr(C)]` struct whose fields are all `ShmSafe`, so it
/// can be the element of a `Value` or `Array`. See `mproc::ShmSafe`.
#[proc_macro_derive(ShmSafe)]
pub fn derive_shm_safe(input: TokenStream) -> TokenStream {
    shm_safe::derive(input.into()).into()
}
