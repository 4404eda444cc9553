//! What `#[process]` and `#[pool_task]` share: parsing a function into a typed signature, and
//! the checks that make it able to run in another process. Each attribute words its messages
//! through its [`Rules`].

mod parse;
mod validate;

pub(crate) use parse::{SignatureFn, parse};
pub(crate) use validate::validate;

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
