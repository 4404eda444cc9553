//! Collects every error a macro finds, so the user sees all of them at once.

use proc_macro2::TokenStream;
use quote::ToTokens;

/// An accumulator of spanned errors (empty means success).
#[derive(Default)]
pub(crate) struct Errors {
    combined: Option<syn::Error>,
}

impl Errors {
    /// Records `message` at the span of `tokens`.
    pub(crate) fn at(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Records an error.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(existing) => existing.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// `Ok` if nothing was recorded, else every error combined.
    pub(crate) fn finish(self) -> syn::Result<()> {
        self.combined.map_or(Ok(()), Err)
    }
}

/// The user's item followed by the errors: one mistake gives its own message only, not a cascade
/// of "cannot find `f`" where the item is used.
pub(crate) fn with_item(item: impl ToTokens, error: &syn::Error) -> TokenStream {
    let mut out = item.into_token_stream();
    out.extend(error.to_compile_error());
    out
}
