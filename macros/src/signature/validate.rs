//! Checks the signature of a function under `#[process]` or `#[pool_task]`; every problem is
//! reported, each at its own token.
//!
//! What types can cross the boundary (`Serialize + DeserializeOwned + Send + 'static`) is a
//! trait question the compiler answers on the expansion, with the error on the user's type.
//! Here are the shapes no bound could rescue.

use syn::visit::Visit;
use syn::{
    Generics, Lifetime, Signature, Type, TypeBareFn, TypeImplTrait, TypeReference, TypeTraitObject,
};

use super::Rules;
use super::parse::SignatureFn;
use crate::error::Errors;

/// Validates `f` under `rules`.
///
/// # Errors
/// All problems found, combined.
pub(crate) fn validate(rules: &Rules, f: &SignatureFn) -> syn::Result<()> {
    let mut errors = Errors::default();
    let sig = &f.item.sig;
    let attr = rules.attr;
    if let Some(span) = f.receiver {
        errors.push(syn::Error::new(
            span,
            format!(
                "`{attr}` cannot be used on a method: a {} process cannot receive `self` by \
                 reference; {}",
                rules.party, rules.method_advice
            ),
        ));
    }
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            format!(
                "`{attr}` functions cannot be `async`: a {} runs its function \
                 to completion; start a runtime inside the function instead",
                rules.runner
            ),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(
            token,
            format!(
                "`{attr}` functions cannot be `unsafe`: {} would call them \
                 without an `unsafe` block",
                rules.caller
            ),
        );
    }
    if let Some(dots) = &sig.variadic {
        errors.at(dots, format!("`{attr}` functions cannot be variadic"));
    }
    for param in &sig.generics.params {
        let what = crate::signature::param_kind(param);
        errors.at(
            param,
            format!(
                "`{attr}` functions cannot have {what} parameters: the {} must know the \
             concrete types of its arguments; write a non-generic wrapper",
                rules.party
            ),
        );
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.at(
            clause,
            format!(
                "`{attr}` functions cannot have a `where` clause: the {} must know the \
                 concrete types of its arguments; remove it",
                rules.party
            ),
        );
    }
    for arg in &f.args {
        check_type(&mut errors, rules, sig, &arg.ty, "argument");
    }
    if let Some(extra) = f.args.get(rules.max_args) {
        errors.at(
            &extra.source,
            format!(
                "`{attr}` functions take at most {} arguments ({}); group some \
                 of them into a struct",
                rules.max_args, rules.max_args_reason
            ),
        );
    }
    if let Some(ty) = &f.output {
        check_type(&mut errors, rules, sig, ty, "return");
    }
    errors.finish()
}

/// Checks a type for what no trait bound could accept, wherever it is nested (`Vec<&str>` as
/// well as `&str`): borrowed data and `impl Trait`. Trait objects and function pointers are left
/// to the `ProcessValue` bound, which refuses them with its own message.
struct TypeShape<'e> {
    errors: &'e mut Errors,
    rules: &'e Rules,
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
                "`{}` {} types must be owned: a reference cannot cross a process \
                 boundary; use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)",
                self.rules.attr, self.role
            ),
        );
    }

    fn visit_type_impl_trait(&mut self, t: &'ast TypeImplTrait) {
        self.errors.at(
            t,
            format!(
                "`{}` {} types cannot be `impl Trait`: the {} must know the \
                 concrete type; name it",
                self.rules.attr, self.role, self.rules.party
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
                    "`{}` {} types must be `'static`: borrowed data cannot cross a \
                     process boundary; use an owned type",
                    self.rules.attr, self.role
                ),
            );
        }
    }

    fn visit_type_trait_object(&mut self, _: &'ast TypeTraitObject) {}

    fn visit_type_bare_fn(&mut self, _: &'ast TypeBareFn) {}
}

fn check_type(errors: &mut Errors, rules: &Rules, sig: &Signature, ty: &Type, role: &'static str) {
    TypeShape {
        errors,
        rules,
        declared: &sig.generics,
        role,
    }
    .visit_type(ty);
}
