//! The expansion of a validated `#[pool_task]` function. Cannot fail.
//!
//! It emits the function unchanged (with clippy's `needless_pass_by_value` allowed: a task's
//! arguments arrive by value) and, in an anonymous constant, a check of each argument and
//! return type against `ProcessValue`, spanned at the type, so a type that cannot travel is
//! reported where it was written rather than at each `pool.map(..)` that uses the task.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::paths;
use crate::signature::SignatureFn;

pub(crate) fn expand(f: &SignatureFn) -> TokenStream {
    let private = paths::private();
    let item = &f.item;
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
