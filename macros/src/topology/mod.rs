//! `process!`: a topology of processes wired by queues and pipes, checked at compile time.
//!
//! Four phases, each in its own file: `parse` builds the typed AST of `ast` (statement by
//! statement, so each statement's syntax error is reported); `resolve` works out which process
//! uses which channel end how; `validate` runs independent passes over both, every error at its
//! own DSL token; `expand` writes the code, and cannot fail. The grammar is documented on the
//! macro itself (`macros/src/lib.rs`), for users.
//!
//! The boundary with the runtime is `::mproc::__private::topology` (see `expand` for what it
//! calls): the runtime creates the channels, starts each replica through the closure the
//! expansion gives it, closes each queue once its last writer has ended, and hands back the
//! ended children for the typed results.

mod ast;
mod expand;
mod parse;
mod resolve;
mod suggest;
mod validate;

use proc_macro2::TokenStream;

/// The whole macro: never panics, always returns tokens (on error, every error found; the
/// expression then has no value for the compiler to check further).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match checked(input) {
        Ok(tokens) => tokens,
        Err(e) => {
            let errors = e.to_compile_error();
            quote::quote!({ #errors })
        }
    }
}

/// Parses, resolves and validates, then expands.
///
/// # Errors
/// Every syntax error (then nothing is validated), or every validation error.
fn checked(input: TokenStream) -> syn::Result<TokenStream> {
    let topology = parse::parse(input)?;
    let wiring = resolve::Wiring::new(&topology);
    validate::validate(&topology, &wiring)?;
    Ok(expand::expand(&topology, &wiring))
}

#[cfg(test)]
mod tests;
