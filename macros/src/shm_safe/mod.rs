//! `#[derive(ShmSafe)]`: parse the struct, check it can live in shared memory, emit the
//! `unsafe impl` with a compile-time check of every field.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

/// The whole derive: never panics; on error, emits only the errors (a derive adds to the
/// item, which the compiler keeps anyway).
pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let parsed = match parse::parse(input) {
        Ok(parsed) => parsed,
        Err(e) => return e.to_compile_error(),
    };
    match validate::validate(&parsed) {
        Ok(()) => expand::expand(&parsed),
        Err(e) => e.to_compile_error(),
    }
}

#[cfg(test)]
mod tests;
