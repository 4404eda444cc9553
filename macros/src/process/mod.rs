//! `#[process]`: parse the function, validate its signature, expand the spawn API beside it.

mod expand;

use proc_macro2::TokenStream;

use crate::error;
use crate::signature::{self, Rules};

/// How `#[process]` words its checks.
pub(crate) const RULES: Rules = Rules {
    attr: "#[process]",
    party: "child",
    runner: "process",
    caller: "`spawn`",
    method_advice: "use a free function, or `Process::new(Type::method, value)` with a \
                    `fn method(self)`",
    max_args: 16,
    max_args_reason: "the arguments travel as one tuple, and serde serializes tuples of up to 16",
};

/// The whole attribute: never panics, always returns tokens (the function plus errors on
/// failure, so its other uses still resolve).
pub(crate) fn expand(args: &TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match signature::parse(&RULES, args, item.clone()) {
        Ok(parsed) => parsed,
        Err(e) => return error::with_item(item, &e),
    };
    match signature::validate(&RULES, &parsed) {
        Ok(()) => expand::expand(&parsed),
        Err(e) => error::with_item(&parsed.item, &e),
    }
}

#[cfg(test)]
mod tests;
