//! `#[process]`: parse the function, validate its signature, expand the spawn API beside it.

mod expand;

use proc_macro2::TokenStream;

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

/// The whole attribute (see [`signature::attribute`]).
pub(crate) fn expand(args: &TokenStream, item: TokenStream) -> TokenStream {
    signature::attribute(&RULES, args, item, expand::expand)
}

#[cfg(test)]
mod tests;
