//! Names declared twice, and names that would hide a channel.

use std::collections::HashMap;

use super::super::ast::Topology;
use super::super::resolve::{Channel, Wiring};
use crate::error::Errors;

/// Two channels (queues or pipe ends) of the same name: every later one is reported.
pub(super) fn duplicate_channels(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    let mut seen: HashMap<String, &'static str> = HashMap::new();
    let queues = topology.queues.iter().map(|q| (&q.name, "queue"));
    let ends = topology
        .pipes
        .iter()
        .flat_map(|p| p.ends.iter().map(|end| (end, "pipe end")));
    for (name, kind) in queues.chain(ends) {
        match seen.get(&name.to_string()) {
            None => {
                seen.insert(name.to_string(), kind);
            }
            Some(&first) if first == kind => errors.at(
                name,
                format!(
                    "a {kind} named `{name}` is already declared: channel names must be unique"
                ),
            ),
            Some(&first) => errors.at(
                name,
                format!("`{name}` names both a {first} and a {kind}: channel names must be unique"),
            ),
        }
    }
}

/// Two processes of the same name: they would name the same field of the results.
pub(super) fn duplicate_processes(topology: &Topology, _: &Wiring, errors: &mut Errors) {
    let mut seen = Vec::new();
    for process in &topology.processes {
        if seen.contains(&&process.name) {
            errors.at(
                &process.name,
                format!(
                    "a process named `{}` is already declared: process names must be unique, \
                     each names a field of the results",
                    process.name
                ),
            );
        } else {
            seen.push(&process.name);
        }
    }
}

/// `worker[jobs]: …` where `jobs` is a channel: the index would hide it in the arguments.
pub(super) fn index_hides_channel(topology: &Topology, wiring: &Wiring, errors: &mut Errors) {
    for process in &topology.processes {
        let Some(index) = &process.index else {
            continue;
        };
        if let Some(channel) = wiring.names.get(index) {
            let kind = match channel {
                Channel::Queue(_) => "queue",
                Channel::PipeEnd { .. } => "pipe end",
            };
            errors.at(
                index,
                format!(
                    "the replica index `{index}` would hide the {kind} `{index}` in the \
                     arguments of `{}`: give the index another name",
                    process.name
                ),
            );
        }
    }
}
