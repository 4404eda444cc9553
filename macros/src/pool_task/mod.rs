//! `#[pool_task]`: parse the function, validate its signature, and check its types where the
//! user wrote them. The function itself is unchanged.

mod expand;

use proc_macro2::TokenStream;

use crate::error;
use crate::signature::{self, Rules};

/// How `#[pool_task]` words its checks.
pub(crate) const RULES: Rules = Rules {
    attr: "#[pool_task]",
    party: "worker",
    runner: "pool worker",
    caller: "the pool",
    method_advice: "use a free function taking the value as an argument",
    max_args: 8,
    max_args_reason: "a pool task's arguments travel as one tuple, and tasks of up to 8 \
                      arguments are supported",
};

/// The whole attribute: never panics, always returns tokens (the function plus errors on
/// failure).
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
