//! What `#[process]` and `#[pool_task]` share: parsing a function into a typed signature, and
//! the checks that make it able to run in another process. Each attribute words its messages
//! through its [`Rules`].

mod parse;
mod validate;

pub(crate) use parse::{SignatureFn, parse};
pub(crate) use validate::validate;

use proc_macro2::TokenStream;

use crate::error;

/// An attribute from end to end: parse, validate under `rules`, then `expand` (which cannot
/// fail). Never panics, always returns tokens: on failure, the function plus the errors, so its
/// other uses still resolve and one mistake gives one message.
pub(crate) fn attribute(
    rules: &Rules,
    args: &TokenStream,
    item: TokenStream,
    expand: fn(&SignatureFn) -> TokenStream,
) -> TokenStream {
    let parsed = match parse(rules, args, item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return error::with_item(item, &e),
    };
    match validate(rules, &parsed) {
        Ok(()) => expand(&parsed),
        Err(e) => error::with_item(&parsed.item, &e),
    }
}

/// The messages of every problem validation finds in `item` (for the attributes' unit tests).
#[cfg(test)]
pub(crate) fn errors_of(rules: &Rules, item: TokenStream) -> Vec<String> {
    let parsed = parse(rules, &TokenStream::new(), item).expect("parses");
    match validate(rules, &parsed) {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// How one attribute words its messages, and its limits.
pub(crate) struct Rules {
    /// The attribute as written, e.g. `#[process]`.
    pub(crate) attr: &'static str,
    /// Who runs the function: "child" or "worker" (as in "the child must know").
    pub(crate) party: &'static str,
    /// What runs it to completion: "process" or "pool worker".
    pub(crate) runner: &'static str,
    /// Who calls it: "`spawn`" or "the pool".
    pub(crate) caller: &'static str,
    /// What to write instead of a method.
    pub(crate) method_advice: &'static str,
    /// The most arguments, and why.
    pub(crate) max_args: usize,
    pub(crate) max_args_reason: &'static str,
}

/// What kind of generic parameter `param` is, as diagnostics name it.
pub(crate) fn param_kind(param: &syn::GenericParam) -> &'static str {
    match param {
        syn::GenericParam::Lifetime(_) => "lifetime",
        syn::GenericParam::Type(_) => "type",
        syn::GenericParam::Const(_) => "const",
    }
}
