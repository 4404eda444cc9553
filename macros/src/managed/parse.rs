//! Parses the attributed `impl` block into a typed description of its proxied methods and its
//! constructor, spans kept for validation.

use proc_macro2::{Span, TokenStream};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{
    Attribute, FnArg, Generics, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, Path, ReturnType,
    Signature, Type, Visibility,
};

/// `#[managed] impl Type { .. }`, parsed.
pub(crate) struct ManagedImpl {
    /// The user's block, re-emitted unchanged.
    pub(crate) item: ItemImpl,
    /// The type's name: its registered name, and the stem of the proxy's name.
    pub(crate) ident: Ident,
    /// The type as written after `impl`.
    pub(crate) self_ty: Type,
    /// `impl Trait for Type` (refused): the trait.
    pub(crate) trait_: Option<Path>,
    /// The block's generics (refused when not empty).
    pub(crate) generics: Generics,
    /// The associated `fn new`, if any: what the manager calls to make a value.
    pub(crate) constructor: Option<Callable>,
    /// Every `pub` function with a receiver, in order: the proxy's methods.
    pub(crate) methods: Vec<Callable>,
}

/// One function of the block.
pub(crate) struct Callable {
    pub(crate) ident: Ident,
    pub(crate) vis: Visibility,
    /// The user's `#[doc]` attributes, copied onto the proxy's method.
    pub(crate) docs: Vec<Attribute>,
    pub(crate) receiver: Receiver,
    /// The whole signature, for the checks of its shape.
    pub(crate) sig: Signature,
    pub(crate) args: Vec<Arg>,
    /// The declared return type, `None` for `()`.
    pub(crate) output: Option<Type>,
}

/// How a function takes `self`.
#[derive(Clone, Copy)]
pub(crate) enum Receiver {
    None,
    /// `&self`.
    Shared,
    /// `&mut self`.
    Exclusive,
    /// `self`, `mut self`, `self: Box<Self>`, …: refused, at this span.
    Other(Span),
}

/// One argument.
pub(crate) struct Arg {
    /// The name the proxy uses for it (the user's, or `__argN` for a pattern).
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
}

/// Parses `#[managed(<args>)] <item>`.
///
/// # Errors
/// When the attribute has arguments, the item is not an `impl` block, or its type is not a
/// plain name.
pub(crate) fn parse(args: &TokenStream, item: TokenStream) -> syn::Result<ManagedImpl> {
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            "`#[managed]` takes no arguments; the type is registered under its own name",
        ));
    }
    let item: ItemImpl = syn::parse2(item).map_err(|e| {
        syn::Error::new(
            e.span(),
            "`#[managed]` can only be applied to an `impl` block of a type",
        )
    })?;
    let ident = type_name(&item.self_ty)?;
    let mut constructor = None;
    let mut methods = Vec::new();
    for f in item.items.iter().filter_map(|i| match i {
        ImplItem::Fn(f) => Some(f),
        _ => None,
    }) {
        let callable = callable(f);
        match callable.receiver {
            Receiver::None if f.sig.ident == "new" => constructor = Some(callable),
            Receiver::None => {}
            _ if matches!(f.vis, Visibility::Inherited) => {}
            _ => methods.push(callable),
        }
    }
    Ok(ManagedImpl {
        ident,
        self_ty: (*item.self_ty).clone(),
        trait_: item.trait_.as_ref().map(|(_, path, _)| path.clone()),
        generics: item.generics.clone(),
        constructor,
        methods,
        item,
    })
}

/// The last segment of a path type, which must carry no generic arguments.
fn type_name(ty: &Type) -> syn::Result<Ident> {
    let refuse = || {
        syn::Error::new(
            ty.span(),
            "`#[managed]` needs a named type without generic arguments, like `impl Counter`",
        )
    };
    let Type::Path(path) = ty else {
        return Err(refuse());
    };
    match path.path.segments.last() {
        Some(last) if path.qself.is_none() && last.arguments.is_empty() => Ok(last.ident.clone()),
        _ => Err(refuse()),
    }
}

fn callable(f: &ImplItemFn) -> Callable {
    let mut receiver = Receiver::None;
    let mut args = Vec::new();
    for (index, arg) in f.sig.inputs.iter().enumerate() {
        match arg {
            FnArg::Receiver(r) => {
                receiver = match (&r.reference, &r.mutability, r.colon_token) {
                    (Some(_), None, None) => Receiver::Shared,
                    (Some(_), Some(_), None) => Receiver::Exclusive,
                    _ => Receiver::Other(r.span()),
                };
            }
            FnArg::Typed(t) => args.push(Arg {
                ident: binding(&t.pat).unwrap_or_else(|| format_ident!("__arg{index}")),
                ty: (*t.ty).clone(),
            }),
        }
    }
    Callable {
        ident: f.sig.ident.clone(),
        vis: f.vis.clone(),
        docs: f
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("doc"))
            .cloned()
            .collect(),
        receiver,
        sig: f.sig.clone(),
        args,
        output: match &f.sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        },
    }
}

/// The plain name bound by a pattern like `x` or `mut x`.
fn binding(pat: &Pat) -> Option<Ident> {
    match pat {
        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p.ident.clone()),
        _ => None,
    }
}
