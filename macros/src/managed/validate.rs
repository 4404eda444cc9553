//! Checks a `#[managed]` block: every problem is reported, each at its own token.
//!
//! Whether a type can travel (`Serialize + DeserializeOwned`) is a trait question the compiler
//! answers on the expansion, at the user's type. Here are the shapes no bound could rescue:
//! borrowed data, `impl Trait`, generics, `async`, and receivers other than `&self` and
//! `&mut self`.

use syn::visit::Visit;
use syn::{Lifetime, Type, TypeImplTrait, TypeReference};

use super::parse::{Callable, ManagedImpl, Receiver};
use crate::error::Errors;

/// The most arguments a method may take: they travel as one tuple, and serde implements
/// tuples of up to 16 elements.
const MAX_ARGS: usize = 16;

/// Validates the block.
///
/// # Errors
/// All problems found, combined.
pub(crate) fn validate(block: &ManagedImpl) -> syn::Result<()> {
    let mut errors = Errors::default();
    if let Some(path) = &block.trait_ {
        errors.at(
            path,
            "`#[managed]` applies to an inherent `impl` block (`impl Counter { .. }`), not to a \
             trait implementation",
        );
    }
    for param in &block.generics.params {
        errors.at(
            param,
            "`#[managed]` types cannot be generic: the manager must know the concrete type it \
             creates; write the block for a concrete type",
        );
    }
    if let Some(new) = &block.constructor {
        check_signature(&mut errors, new, "`new`");
        check_constructor_output(&mut errors, block, new);
    }
    for method in &block.methods {
        if let Receiver::Other(span) = method.receiver {
            errors.push(syn::Error::new(
                span,
                "`#[managed]` methods take `&self` or `&mut self`: the object stays in the \
                 manager, so a proxy cannot move it out; take `&mut self` and return what you \
                 need",
            ));
        }
        check_signature(&mut errors, method, "method");
        if let Some(ty) = &method.output {
            TypeShape {
                errors: &mut errors,
                role: Role::Result,
            }
            .visit_type(ty);
        }
    }
    errors.finish()
}

/// The checks every proxied function shares: `async`, `unsafe`, generics, argument types and
/// count.
fn check_signature(errors: &mut Errors, f: &Callable, what: &str) {
    let sig = &f.sig;
    if let Some(token) = &sig.asyncness {
        errors.at(
            token,
            format!(
                "`#[managed]` {what}s cannot be `async`: the manager runs each call to \
                 completion; block inside the method instead"
            ),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(
            token,
            format!(
                "`#[managed]` {what}s cannot be `unsafe`: a proxy would call them from another \
                 process without an `unsafe` block"
            ),
        );
    }
    for param in &sig.generics.params {
        let kind = crate::signature::param_kind(param);
        errors.at(
            param,
            format!(
                "`#[managed]` {what}s cannot have {kind} parameters: the manager must know the \
                 concrete types of the arguments it decodes; write a non-generic method"
            ),
        );
    }
    if let Some(clause) = &sig.generics.where_clause {
        errors.at(
            clause,
            format!("`#[managed]` {what}s cannot have a `where` clause; remove it"),
        );
    }
    for arg in &f.args {
        TypeShape {
            errors,
            role: Role::Argument,
        }
        .visit_type(&arg.ty);
    }
    if let Some(extra) = f.args.get(MAX_ARGS) {
        errors.at(
            &extra.ty,
            format!(
                "`#[managed]` {what}s take at most {MAX_ARGS} arguments (they travel as one \
                 tuple); group some of them into a struct"
            ),
        );
    }
}

/// `new` must return the type itself: the manager keeps what it returns.
fn check_constructor_output(errors: &mut Errors, block: &ManagedImpl, new: &Callable) {
    let is_self = match &new.output {
        Some(Type::Path(p)) if p.qself.is_none() => {
            p.path.is_ident("Self")
                || p.path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == block.ident)
        }
        _ => false,
    };
    if !is_self {
        let message = "`new` of a `#[managed]` type must return `Self`: the manager keeps the \
                       value it returns; handle failures inside `new`, or give the type no \
                       `new` and create it from a value";
        match &new.output {
            Some(ty) => errors.at(ty, message),
            None => errors.at(&new.sig, message),
        }
    }
}

#[derive(Clone, Copy)]
enum Role {
    Argument,
    Result,
}

/// Finds, wherever nested (`Vec<&str>` as well as `&str`), what no trait bound could accept.
struct TypeShape<'e> {
    errors: &'e mut Errors,
    role: Role,
}

impl<'ast> Visit<'ast> for TypeShape<'_> {
    fn visit_type_reference(&mut self, r: &'ast TypeReference) {
        let message = match self.role {
            Role::Argument => {
                "`#[managed]` argument types must be owned: a reference cannot travel to the \
                 manager; use an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)"
            }
            Role::Result => {
                "`#[managed]` methods cannot return references: the object lives in the \
                 manager, in another process; return an owned copy (`String` for `&str`, \
                 `.clone()` of a field)"
            }
        };
        self.errors.at(r, message);
    }

    fn visit_type_impl_trait(&mut self, t: &'ast TypeImplTrait) {
        self.errors.at(
            t,
            "`#[managed]` signatures cannot use `impl Trait`: the other side must know the \
             concrete type to decode it; name the type",
        );
    }

    fn visit_lifetime(&mut self, lifetime: &'ast Lifetime) {
        if lifetime.ident != "static" {
            self.errors.at(
                lifetime,
                "`#[managed]` signature types must be `'static`: borrowed data cannot travel \
                 between processes; use an owned type",
            );
        }
    }
}
