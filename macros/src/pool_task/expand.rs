//! The expansion of a validated `#[pool_task]` function. Cannot fail.
//!
//! A pool task is a `fn(A) -> R`: one argument. A function of one argument is emitted
//! unchanged; one of none or several is rewritten to take them as one tuple, the patterns and
//! types kept in order (`fn add(a: u32, b: u32)` becomes `fn add((a, b): (u32, u32))`), so that
//! `pool.starmap(add, pairs)` type-checks as Python's `starmap(add, pairs)` reads. Clippy's
//! `needless_pass_by_value` is allowed (a task's arguments arrive by value), and an anonymous
//! constant checks each argument and return type against `PoolValue`, spanned at the type, so
//! a type that cannot travel is reported where it was written rather than at each
//! `pool.map(..)` that uses the task.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, Pat, PatTuple, PatType, Token, Type, TypeTuple};

use crate::paths;
use crate::signature::SignatureFn;

pub(crate) fn expand(f: &SignatureFn) -> TokenStream {
    let private = paths::private();
    let item = tupled(f);
    let checks = f
        .args
        .iter()
        .map(|a| &a.ty)
        .chain(f.output.as_ref())
        .map(|ty| {
            quote_spanned! {ty.span()=> __mproc_travels::<#ty>(); }
        });
    quote! {
        // Arguments must be owned to reach a worker, so clippy's advice to take one by
        // reference cannot be followed here.
        #[allow(clippy::needless_pass_by_value)]
        #item

        const _: () = {
            fn __mproc_travels<T: #private::PoolValue>() {}
            #[allow(dead_code)]
            fn __mproc_pool_task_types() {
                #(#checks)*
            }
        };
    }
}

/// The function as a `fn(A) -> R`: unchanged with one argument, else its arguments as one
/// tuple argument (spanned at the original arguments, so errors in them point there).
fn tupled(f: &SignatureFn) -> ItemFn {
    let mut item = f.item.clone();
    if f.args.len() == 1 {
        return item;
    }
    let span = item.sig.inputs.span();
    let mut elems: Punctuated<Pat, Token![,]> = Punctuated::new();
    let mut types: Punctuated<Type, Token![,]> = Punctuated::new();
    for arg in &f.args {
        elems.push((*arg.source.pat).clone());
        types.push(arg.ty.clone());
    }
    let pat = Pat::Tuple(PatTuple {
        attrs: Vec::new(),
        paren_token: syn::token::Paren(span),
        elems,
    });
    let ty = Type::Tuple(TypeTuple {
        paren_token: syn::token::Paren(span),
        elems: types,
    });
    let arg = PatType {
        attrs: Vec::new(),
        pat: Box::new(pat),
        colon_token: Token![:](span),
        ty: Box::new(ty),
    };
    item.sig.inputs = std::iter::once(FnArg::Typed(arg)).collect();
    item
}
