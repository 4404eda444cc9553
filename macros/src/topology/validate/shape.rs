//! Checks of single statements: counts that cannot be zero, a simplex pipe's type, the
//! callee's form, and a topology with nothing to run.

use proc_macro2::Span;
use syn::{Expr, Lit, PathArguments};

use super::super::ast::Topology;
use super::super::resolve::Wiring;
use crate::error::Errors;

/// `* 0`: a process that would never start.
pub(super) fn zero_replicas(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    for process in &topology.processes {
        if let Some(replicas) = &process.replicas
            && is_literal_zero(&replicas.count)
        {
            let (star, count) = (&replicas.star, &replicas.count);
            errors.at(
                quote::quote!(#star #count),
                format!(
                    "`* 0` starts no `{}` process: the replica count must be at least 1",
                    process.name
                ),
            );
        }
    }
}

/// `bounded(0)`: a queue that could never hold an item.
pub(super) fn zero_capacity(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    for queue in &topology.queues {
        if let Some(bounded) = &queue.bounded
            && is_literal_zero(&bounded.capacity)
        {
            errors.at(
                &bounded.capacity,
                format!(
                    "`bounded(0)` leaves no room in queue `{}`: the capacity must be at least 1",
                    queue.name
                ),
            );
        }
    }
}

/// `Pipe<S, R>, simplex`: a simplex pipe carries one type, one way.
pub(super) fn simplex_with_two_types(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    for pipe in &topology.pipes {
        if let (Some(_), Some(second)) = (pipe.simplex, &pipe.second) {
            errors.at(
                second,
                "a simplex pipe carries one type, one way: write `Pipe<T>, simplex`, or drop \
                 `simplex` for a duplex pipe with a type each way",
            );
        }
    }
}

/// A callee that is not a plain function name: generic arguments, or a `<T as Trait>::`
/// prefix.
pub(super) fn callee_not_a_function_name(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    for process in &topology.processes {
        let callee = &process.callee;
        if callee.qself.is_some() {
            errors.at(
                callee,
                "expected the name of a function, found a qualified path: name a free \
                 function that calls it",
            );
        }
        for segment in &callee.path.segments {
            if !matches!(segment.arguments, PathArguments::None) {
                errors.at(
                    &segment.arguments,
                    "a process's function takes no generic arguments: remove them, or name \
                     a function that is not generic",
                );
            }
        }
    }
}

/// A topology without processes would start nothing.
pub(super) fn no_processes(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    if topology.processes.is_empty() {
        errors.push(syn::Error::new(
            Span::call_site(),
            "a topology needs at least one process: `name: function(arguments);`",
        ));
    }
}

/// A literal `0` (any suffix, any base).
fn is_literal_zero(expr: &Expr) -> bool {
    match expr {
        Expr::Lit(lit) => match &lit.lit {
            Lit::Int(int) => int.base10_parse::<u128>().is_ok_and(|n| n == 0),
            _ => false,
        },
        Expr::Paren(inner) => is_literal_zero(&inner.expr),
        Expr::Group(inner) => is_literal_zero(&inner.expr),
        _ => false,
    }
}
