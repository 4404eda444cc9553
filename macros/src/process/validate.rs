//! Checks the signature of a `#[process]` function; every problem is reported, each at its
//! own token.
//!
//! What types can cross the boundary (`Serialize + DeserializeOwned + Send + 'static`) is a
//! trait question the compiler answers on the expansion, with the error on the user's type.
//! Here are the shapes no bound could rescue.

use syn::{GenericParam, Type};

use super::parse::ProcessFn;
use crate::error::Errors;

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
            "`#[process]` functions cannot have a `where` clause",
        );
    }
    for arg in &f.args {
        check_type(&mut errors, &arg.ty, "argument");
    }
    if let Some(ty) = &f.output {
        check_type(&mut errors, ty, "return");
    }
    errors.finish()
}

fn check_type(errors: &mut Errors, ty: &Type, role: &str) {
    match ty {
        Type::Reference(r) => errors.at(r, format!(
            "`#[process]` {role} types must be owned: a reference cannot cross a process \
             boundary; use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)"
        )),
        Type::ImplTrait(t) => errors.at(t, format!(
            "`#[process]` {role} types cannot be `impl Trait`: the child must know the concrete \
             type; name it"
        )),
        Type::Paren(p) => check_type(errors, &p.elem, role),
        Type::Group(g) => check_type(errors, &g.elem, role),
        _ => {}
    }
}
