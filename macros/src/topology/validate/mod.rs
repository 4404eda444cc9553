//! The checks of a parsed topology, as independent passes over the AST and its wiring. Each
//! pass adds what it finds to the accumulator and never stops the others, so every mistake is
//! reported in one compilation, each at its own token.
//!
//! What only the compiler can judge is left to it, on the expansion: whether a callee is a
//! function (and its name's "did you mean"), whether an argument has the type the
//! function expects, whether an item type can travel. The expansion places those errors on the
//! DSL's tokens.

mod endpoints;
mod names;
mod shape;
mod wiring;

use super::ast::Topology;
use super::resolve::Wiring;
use crate::error::Errors;

/// One check: reads the topology and its wiring, records what is wrong.
type Pass = fn(&Topology, &Wiring, &mut Errors);

/// Every check, roughly in the order a reader meets the problems: declarations, then each
/// process, then how the whole is wired.
const PASSES: &[Pass] = &[
    names::duplicate_channels,
    shape::zero_capacity,
    shape::simplex_with_two_types,
    names::duplicate_processes,
    names::index_hides_channel,
    shape::callee_not_a_function_name,
    shape::zero_replicas,
    endpoints::unknown_queues,
    endpoints::channels_inside_expressions,
    wiring::pipe_end_shared,
    wiring::queue_sides,
    wiring::pipe_end_unused,
    shape::no_processes,
];

/// Runs every pass over `topology`.
///
/// # Errors
/// Everything the passes found, combined.
pub(crate) fn validate(topology: &Topology, wiring: &Wiring) -> syn::Result<()> {
    let mut errors = Errors::default();
    for pass in PASSES {
        pass(topology, wiring, &mut errors);
    }
    errors.finish()
}

/// `` `a`, `b` and `c` `` for the names of the processes at `indices`.
fn process_list(topology: &Topology, indices: &[usize]) -> String {
    let names: Vec<String> = indices
        .iter()
        .filter_map(|&i| topology.processes.get(i))
        .map(|p| format!("`{}`", p.name))
        .collect();
    match names.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
