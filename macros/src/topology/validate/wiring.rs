//! How the whole is wired: every queue needs a writer and a reader, and each pipe end belongs to
//! exactly one process.

use syn::Ident;

use super::super::ast::{Arg, Topology};
use super::super::resolve::{Channel, Use, Wiring};
use super::super::suggest;
use super::{endpoints, process_list};
use crate::error::Errors;

/// A queue nobody reads (its items would be lost), nobody writes (it is closed at once, so its
/// readers get nothing), or nobody uses.
pub(super) fn queue_sides(topology: &Topology, wiring: &Wiring, errors: &mut Errors) {
    let misused = endpoints::misused(topology, &wiring.names);
    for (index, (queue, users)) in topology.queues.iter().zip(&wiring.queues).enumerate() {
        // A misused queue's mistake is reported already; a second declaration of a name is
        // reported as such (its uses resolve to the first).
        let channel = Channel::Queue(index);
        if misused.contains(&channel) || wiring.names.get(&queue.name) != Some(channel) {
            continue;
        }
        let name = &queue.name;
        let message = match (users.writers.is_empty(), users.readers.is_empty()) {
            (false, false) => continue,
            (true, true) => format!(
                "queue `{name}` is not used by any process: pass `{name}.writer()` to the \
                 processes that put items and `{name}.reader()` to those that get them, or \
                 remove it"
            ),
            (false, true) => format!(
                "queue `{name}` has writers ({}) but no reader: pass `{name}.reader()` to the \
                 process that gets its items",
                process_list(topology, &users.writers)
            ),
            (true, false) => format!(
                "queue `{name}` has readers ({}) but no writer: pass `{name}.writer()` to the \
                 process that puts its items (a queue without writers is closed at once)",
                process_list(topology, &users.readers)
            ),
        };
        errors.at(name, message + &misspelling_hint(topology, wiring, name));
    }
}

/// A pipe end given to two processes, twice to one, or to a replicated process: a pipe end
/// belongs to one process. Reported at each use after the first (at the first, for a
/// replicated process).
pub(super) fn pipe_end_shared(topology: &Topology, wiring: &Wiring, errors: &mut Errors) {
    for uses in wiring.ends.iter().flatten() {
        let Some(&(first, name)) = uses.first() else {
            continue;
        };
        let holder = &topology.processes[first];
        if holder.replicas.is_some() {
            errors.at(
                name,
                format!(
                    "pipe end `{name}` cannot go to `{}`, a replicated process (`* n`): a pipe \
                     end belongs to one process; use a queue, or one pipe per process",
                    holder.name
                ),
            );
        }
        for &(other, name) in &uses[1..] {
            let message = if other == first {
                format!(
                    "pipe end `{name}` is passed twice to `{}`: a pipe end belongs to one \
                     process, once",
                    holder.name
                )
            } else {
                format!(
                    "pipe end `{name}` is already given to `{}`: a pipe end belongs to one \
                     process; declare another pipe for `{}`",
                    holder.name, topology.processes[other].name
                )
            };
            errors.at(name, message);
        }
    }
}

/// A pipe end no process holds: its peer would talk to no one.
pub(super) fn pipe_end_unused(topology: &Topology, wiring: &Wiring, errors: &mut Errors) {
    let misused = endpoints::misused(topology, &wiring.names);
    for (index, (pipe, uses)) in topology.pipes.iter().zip(&wiring.ends).enumerate() {
        let [first, second] = &pipe.ends;
        // A misused end counts as used: its mistake is reported already; so does an end whose
        // name is declared twice (reported as such).
        let unused = |end: usize| {
            let channel = Channel::PipeEnd { pipe: index, end };
            uses[end].is_empty()
                && !misused.contains(&channel)
                && wiring.names.get(&pipe.ends[end]) == Some(channel)
        };
        match (unused(0), unused(1)) {
            (false, false) => {}
            (true, true) => errors.at(
                first,
                format!(
                    "pipe `({first}, {second})` is not used by any process: give `{first}` to \
                     one process and `{second}` to another, or remove it"
                ),
            ),
            (unused_first, _) => {
                let (unused, peer, peer_uses) = if unused_first {
                    (first, second, &uses[1])
                } else {
                    (second, first, &uses[0])
                };
                let holder = peer_uses.first().map(|&(p, _)| p);
                errors.at(
                    unused,
                    format!(
                        "pipe end `{unused}` is not given to any process: its peer `{peer}` \
                         (given to {}) would talk to no one; give `{unused}` to a process{}",
                        process_list(topology, holder.as_slice()),
                        misspelling_hint(topology, wiring, unused)
                    ),
                );
            }
        }
    }
}

/// `"; is `jbos`, given to `consumer`, a misspelling of `jobs`?"` when an argument is a lone
/// name that is no channel but close to the channel `name`: it may be an ordinary variable, so
/// it is not an error of its own, but it likely explains this one.
fn misspelling_hint(topology: &Topology, wiring: &Wiring, name: &Ident) -> String {
    for process in &topology.processes {
        for arg in &process.args {
            let (Arg::Name(candidate), Use::Value) = (arg, wiring.names.resolve(arg)) else {
                continue;
            };
            if process.index.as_ref() != Some(candidate)
                && suggest::closest(&candidate.to_string(), [name]).is_some()
            {
                return format!(
                    "; is `{candidate}`, given to `{}`, a misspelling of `{name}`?",
                    process.name
                );
            }
        }
    }
    String::new()
}
