//! Parses the attributed item into a typed description of the function.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, Pat, PatType, ReturnType, Type};

use super::Rules;

/// A function under `#[process]` or `#[pool_task]`, with what validation and expansion need,
/// spans kept.
pub(crate) struct SignatureFn {
    /// The user's function, re-emitted unchanged.
    pub(crate) item: ItemFn,
    /// Its typed arguments (a `self` receiver is kept aside in `receiver`).
    pub(crate) args: Vec<Arg>,
    /// `Some(span)` if the signature has a `self` receiver.
    pub(crate) receiver: Option<Span>,
    /// The declared return type, `None` for `()`.
    pub(crate) output: Option<Type>,
}

/// One argument.
pub(crate) struct Arg {
    /// The name the generated `spawn` uses for it (the user's, or `__argN` for a pattern).
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The argument as written, `pattern: Type`.
    pub(crate) source: PatType,
}

/// Parses `#[<attr>(<args>)] <item>`.
///
/// # Errors
/// When the attribute has arguments or the item is not a function.
pub(crate) fn parse(
    rules: &Rules,
    args: &TokenStream,
    item: TokenStream,
) -> syn::Result<SignatureFn> {
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            format!("`{}` takes no arguments", rules.attr),
        ));
    }
    let item: ItemFn = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("`{}` can only be applied to a function", rules.attr),
        )
    })?;
    let mut receiver = None;
    let mut parsed = Vec::new();
    for (index, arg) in item.sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => receiver = Some(r.span()),
            FnArg::Typed(t) => parsed.push(Arg {
                ident: binding(&t.pat).unwrap_or_else(|| format_ident!("__arg{index}")),
                ty: (*t.ty).clone(),
                source: t.clone(),
            }),
        }
    }
    let output = match &item.sig.output {
        ReturnType::Default => None,
        ReturnType::Type(_, ty) => Some((**ty).clone()),
    };
    Ok(SignatureFn {
        item,
        args: parsed,
        receiver,
        output,
    })
}

/// The plain name bound by a pattern like `x` or `mut x`.
fn binding(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p.ident.clone()),
        _ => None,
    }
}
