//! `#[process]`: parse the function, validate its signature, expand the spawn API beside it.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use crate::error;

/// The whole attribute: never panics, always returns tokens (the function plus errors on
/// failure, so its other uses still resolve).
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
