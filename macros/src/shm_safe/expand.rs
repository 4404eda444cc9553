//! The `unsafe impl ShmSafe`, with every field checked to be `ShmSafe` at its own span.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::parse::{Input, Shape};
use crate::paths;

pub(crate) fn expand(input: &Input) -> TokenStream {
    let private = paths::private();
    let ident = &input.ident;
    let mut generics = input.generics.clone();
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(#private::ShmSafe));
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let fields: &[syn::Type] = match &input.shape {
        Shape::Struct(fields) => fields,
        Shape::Enum(_) | Shape::Union(_) => &[],
    };
    let checks = fields.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            __mproc_assert_shm_safe::<#ty>();
        }
    });
    quote! {
        const _: () = {
            const fn __mproc_assert_shm_safe<T: #private::ShmSafe + ?::core::marker::Sized>() {}
            #[allow(dead_code)]
            fn __mproc_fields_are_shm_safe #impl_generics () #where_clause {
                #(#checks)*
            }
            // SAFETY: `#[repr(C)]` struct (checked) whose fields are all `ShmSafe` (checked
            // above): every field is valid for every bit pattern and holds no pointer, so the
            // struct is too; its padding bytes are never interpreted.
            unsafe impl #impl_generics #private::ShmSafe for #ident #ty_generics #where_clause {}
        };
    }
}
