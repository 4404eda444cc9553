//! What makes a type unfit for shared memory, all reported at once.
//!
//! `ShmSafe` means "valid for every bit pattern, with no pointers": the rules of bytemuck's
//! `AnyBitPattern`. The syntactic checks here name the offending token with a reason and a
//! replacement; the trait bound the expansion puts on every field catches the rest (a `bool`
//! behind a type alias, a `String`), at the field's span.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::visit::Visit;

use super::parse::{Input, Shape};
use crate::error::Errors;

pub(crate) fn validate(input: &Input) -> syn::Result<()> {
    let mut errors = Errors::default();
    match &input.shape {
        Shape::Enum(span) => errors.push(syn::Error::new(
            *span,
            "`ShmSafe` cannot be derived for an enum: a peer can write a discriminant that \
             names no variant; use an integer field instead",
        )),
        Shape::Union(span) => errors.push(syn::Error::new(
            *span,
            "`ShmSafe` cannot be derived for a union; implement it by hand if every field is \
             valid for every bit pattern",
        )),
        Shape::Struct(fields) => {
            for ty in fields {
                let mut unfit = Unfit::default();
                unfit.visit_type(ty);
                for (tokens, message) in unfit.found {
                    errors.at(tokens, message);
                }
            }
        }
    }
    if !input.fixed_layout && matches!(input.shape, Shape::Struct(_)) {
        errors.at(
            &input.ident,
            "`ShmSafe` types need a fixed layout: add `#[repr(C)]`",
        );
    }
    for lt in input.generics.lifetimes() {
        errors.at(
            lt,
            "`ShmSafe` types cannot borrow: lifetime parameters are not allowed",
        );
    }
    errors.finish()
}

const REFERENCE: &str =
    "a reference cannot live in shared memory: an address means nothing in another process";
const POINTER: &str =
    "a pointer cannot live in shared memory: an address means nothing in another process";
const FUNCTION: &str = "a function pointer cannot live in shared memory: a peer could make \
                        this process call an address of its choosing";
const BOOL: &str = "`bool` is not valid for every bit pattern: a peer can write a byte other \
                    than 0 or 1; use `mproc::ShmBool`";
const CHAR: &str = "`char` is not valid for every bit pattern: a peer can write a value that \
                    is not a Unicode scalar value; use `u32` and `char::from_u32`";

/// Collects the parts of a field type that cannot live in shared memory, with the reason.
#[derive(Default)]
struct Unfit {
    found: Vec<(TokenStream, &'static str)>,
}

impl<'ast> Visit<'ast> for Unfit {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        self.found.push((r.to_token_stream(), REFERENCE));
    }
    fn visit_type_ptr(&mut self, p: &'ast syn::TypePtr) {
        self.found.push((p.to_token_stream(), POINTER));
    }
    fn visit_type_bare_fn(&mut self, f: &'ast syn::TypeBareFn) {
        self.found.push((f.to_token_stream(), FUNCTION));
    }
    fn visit_type_path(&mut self, p: &'ast syn::TypePath) {
        match primitive(p) {
            Some("bool") => self.found.push((p.to_token_stream(), BOOL)),
            Some("char") => self.found.push((p.to_token_stream(), CHAR)),
            _ => syn::visit::visit_type_path(self, p),
        }
    }
}

/// The name of the primitive type `p` spells (`bool`, `core::primitive::bool`...), if any: a
/// bare one-segment path, or `core::primitive::X` / `std::primitive::X`. Other paths ending
/// in `bool` name user types and are left to the trait bound.
fn primitive(p: &syn::TypePath) -> Option<&'static str> {
    if p.qself.is_some() {
        return None;
    }
    let segments: Vec<&syn::PathSegment> = p.path.segments.iter().collect();
    let last = segments.last()?;
    if !last.arguments.is_none() {
        return None;
    }
    let bare = segments.len() == 1 && p.path.leading_colon.is_none();
    let qualified = segments.len() == 3
        && (segments[0].ident == "core" || segments[0].ident == "std")
        && segments[1].ident == "primitive"
        && segments[..2].iter().all(|s| s.arguments.is_none());
    if !bare && !qualified {
        return None;
    }
    ["bool", "char"].into_iter().find(|name| last.ident == name)
}
