//! What makes a type unfit for shared memory, all reported at once.

use syn::visit::Visit;

use super::parse::{Input, Shape};
use crate::error::Errors;

pub(crate) fn validate(input: &Input) -> syn::Result<()> {
    let mut errors = Errors::default();
    match &input.shape {
        Shape::Enum(span) => errors.push(syn::Error::new(
            *span,
            "`ShmSafe` cannot be derived for an enum: a write torn by a killed process could \
             leave an invalid discriminant; use an integer field instead",
        )),
        Shape::Union(span) => errors.push(syn::Error::new(
            *span,
            "`ShmSafe` cannot be derived for a union; implement it by hand if every field is \
             plain data",
        )),
        Shape::Struct(fields) => {
            for ty in fields {
                let mut refs = References::default();
                refs.visit_type(ty);
                for r in refs.found {
                    errors.at(
                        r,
                        "a reference cannot live in shared memory: an address means nothing \
                         in another process",
                    );
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

/// Collects references (and raw pointers) inside a field type.
#[derive(Default)]
struct References {
    found: Vec<proc_macro2::TokenStream>,
}

impl<'ast> Visit<'ast> for References {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        self.found.push(quote::ToTokens::to_token_stream(r));
    }
    fn visit_type_ptr(&mut self, p: &'ast syn::TypePtr) {
        self.found.push(quote::ToTokens::to_token_stream(p));
    }
}
