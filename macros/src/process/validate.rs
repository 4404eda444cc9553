//! Checks the signature of a `#[process]` function; every problem is reported, each at its
//! own token.
//!
//! What types can cross the boundary (`Serialize + DeserializeOwned + Send + 'static`) is a
//! trait question the compiler answers on the expansion, with the error on the user's type.
//! Here are the shapes no bound could rescue.

use syn::visit::Visit;
use syn::{
    GenericParam, Generics, Lifetime, Signature, Type, TypeBareFn, TypeImplTrait, TypeReference,
    TypeTraitObject,
};

use super::parse::ProcessFn;
use crate::error::Errors;

/// The most arguments a `#[process]` function can take: the largest tuple serde implements.
const MAX_ARGS: usize = 16;

/// Validates `f`.
///
/// # Errors
/// All problems found, combined.
pub(crate) fn validate(f: &ProcessFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    let sig = &f.item.sig;
    if let Some(span) = f.receiver {
        errors.push(syn::Error::new(
            span,
            "`#[process]` cannot be used on a method: a child process cannot receive `self` by \
             reference; use a free function, or `Process::new(Type::method, value)` with a \
             `fn method(self)`",
        ));
    }
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            "`#[process]` functions cannot be `async`: a process runs its function \
             to completion; start a runtime inside the function instead",
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(
            token,
            "`#[process]` functions cannot be `unsafe`: `spawn` would call them \
             without an `unsafe` block",
        );
    }
    if let Some(dots) = &sig.variadic {
        errors.at(dots, "`#[process]` functions cannot be variadic");
    }
    for param in &sig.generics.params {
        let what = match param {
            GenericParam::Lifetime(_) => "lifetime",
            GenericParam::Type(_) => "type",
            GenericParam::Const(_) => "const",
        };
        errors.at(
            param,
            format!(
                "`#[process]` functions cannot have {what} parameters: the child must know the \
             concrete types of its arguments; write a non-generic wrapper"
            ),
        );
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.at(
            clause,
            "`#[process]` functions cannot have a `where` clause: the child must know the \
             concrete types of its arguments; remove it",
        );
    }
    for arg in &f.args {
        check_type(&mut errors, sig, &arg.ty, "argument");
    }
    if let Some(extra) = f.args.get(MAX_ARGS) {
        errors.at(
            &extra.source,
            format!(
                "`#[process]` functions take at most {MAX_ARGS} arguments (the arguments travel \
                 as one tuple, and serde serializes tuples of up to {MAX_ARGS}); group some \
                 of them into a struct"
            ),
        );
    }
    if let Some(ty) = &f.output {
        check_type(&mut errors, sig, ty, "return");
    }
    errors.finish()
}

/// Checks a type for what no trait bound could accept, wherever it is nested (`Vec<&str>` as
/// well as `&str`): borrowed data and `impl Trait`. Trait objects and function pointers are left
/// to the `ProcessValue` bound, which refuses them with its own message.
struct TypeShape<'e> {
    errors: &'e mut Errors,
    /// The function's own lifetime parameters: already reported as parameters, so their uses
    /// are not reported again.
    declared: &'e Generics,
    role: &'static str,
}

impl<'ast> Visit<'ast> for TypeShape<'_> {
    fn visit_type_reference(&mut self, r: &'ast TypeReference) {
        self.errors.at(
            r,
            format!(
                "`#[process]` {} types must be owned: a reference cannot cross a process \
                 boundary; use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)",
                self.role
            ),
        );
    }

    fn visit_type_impl_trait(&mut self, t: &'ast TypeImplTrait) {
        self.errors.at(
            t,
            format!(
                "`#[process]` {} types cannot be `impl Trait`: the child must know the \
                 concrete type; name it",
                self.role
            ),
        );
    }

    fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
        let declared = self
            .declared
            .lifetimes()
            .any(|param| param.lifetime.ident == lifetime.ident);
        if lifetime.ident != "static" && !declared {
            self.errors.at(
                lifetime,
                format!(
                    "`#[process]` {} types must be `'static`: borrowed data cannot cross a \
                     process boundary; use an owned type",
                    self.role
                ),
            );
        }
    }

    fn visit_type_trait_object(&mut self, _: &'ast TypeTraitObject) {}

    fn visit_type_bare_fn(&mut self, _: &'ast TypeBareFn) {}
}

fn check_type(errors: &mut Errors, sig: &Signature, ty: &Type, role: &'static str) {
    TypeShape {
        errors,
        declared: &sig.generics,
        role,
    }
    .visit_type(ty);
}
