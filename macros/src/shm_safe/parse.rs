//! The derive's input as a typed AST that keeps the spans errors point at.

use proc_macro2::{Span, TokenStream};
use syn::spanned::Spanned;

/// What kind of item the derive was put on.
pub(crate) enum Shape {
    /// A struct with these field types.
    Struct(Vec<syn::Type>),
    /// An enum (refused); the span of its `enum` keyword.
    Enum(Span),
    /// A union (refused); the span of its `union` keyword.
    Union(Span),
}

/// A parsed `#[derive(ShmSafe)]` input.
pub(crate) struct Input {
    pub(crate) ident: syn::Ident,
    pub(crate) generics: syn::Generics,
    pub(crate) shape: Shape,
    /// `#[repr(C)]` or `#[repr(transparent)]` is present.
    pub(crate) fixed_layout: bool,
}

pub(crate) fn parse(input: TokenStream) -> syn::Result<Input> {
    let input: syn::DeriveInput = syn::parse2(input)?;
    let mut fixed_layout = false;
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("repr")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("C") || meta.path.is_ident("transparent") {
                fixed_layout = true;
            }
            // `align(N)`, `packed(N)`, integer reprs: accepted, their arguments skipped.
            if meta.input.peek(syn::token::Paren) {
                meta.input.parse::<proc_macro2::TokenTree>()?;
            }
            Ok(())
        })?;
    }
    let shape = match input.data {
        syn::Data::Struct(s) => Shape::Struct(s.fields.iter().map(|f| f.ty.clone()).collect()),
        syn::Data::Enum(e) => Shape::Enum(e.enum_token.span()),
        syn::Data::Union(u) => Shape::Union(u.union_token.span()),
    };
    Ok(Input {
        ident: input.ident,
        generics: input.generics,
        shape,
        fixed_layout,
    })
}
