//! `#[pool_task]`: parse the function, validate its signature, and check its types where the
//! user wrote them. The function itself is unchanged.

mod expand;

use proc_macro2::TokenStream;

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

/// The whole attribute (see [`signature::attribute`]).
pub(crate) fn expand(args: &TokenStream, item: TokenStream) -> TokenStream {
    signature::attribute(&RULES, args, item, expand::expand)
}

#[cfg(test)]
mod tests;
