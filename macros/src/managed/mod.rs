//! `#[managed]`: an `impl` block becomes a type a manager can hold, with a generated proxy.
//! Parse the block into a typed description of its methods, check each method can be called
//! across processes, then emit the proxy and the `ManagedObject` impl.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::error;

/// The whole attribute: never panics, always returns tokens; on failure, the user's `impl`
/// plus every error, so the type's other uses still resolve and one mistake gives one message.
pub(crate) fn expand(args: &TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match parse::parse(args, item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return error::with_item(item, &e),
    };
    match validate::validate(&parsed) {
        Ok(()) => expand::expand(&parsed),
        Err(e) => error::with_item(&parsed.item, &e),
    }
}

#[cfg(test)]
mod tests;
