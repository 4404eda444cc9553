//! Arguments that name channels: endpoints of undeclared queues, and channels used inside
//! expressions, where the topology could not see who writes and who reads.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::ToTokens;
use syn::{Expr, Ident};

use super::super::ast::{Arg, Endpoint, Topology};
use super::super::parse::lone_name;
use super::super::resolve::{Channel, Names, Use, Wiring};
use super::super::suggest;
use crate::error::Errors;

/// `name.reader()` / `name.writer()` where `name` is no declared queue.
pub(super) fn unknown_queues(topology: &Topology, wiring: &Wiring, errors: &mut Errors) {
    let names = &wiring.names;
    for endpoint in unknown_endpoints(topology, names) {
        let name = &endpoint.queue;
        let method = &endpoint.method;
        let message = if let Some(Channel::PipeEnd { .. }) = names.get(name) {
            format!(
                "`{name}` is a pipe end, not a queue: it has no `{method}()`; pass it as `{name}`"
            )
        } else if let Some(close) = suggest::closest(&name.to_string(), names.queues()) {
            format!("unknown queue `{name}`; did you mean `{close}`?")
        } else {
            format!(
                "unknown queue `{name}`: declare it with `queue {name}: Queue<T>;` (to call \
                 `{method}()` on a variable instead, wrap it in parentheses: `({name}.{method}())`)"
            )
        };
        errors.at(name, message);
    }
}

/// A channel named inside an expression (`Some(jobs.writer())`, `vec![client]`, `jobs.put(..)`):
/// the topology counts writers and readers from whole arguments only, so a channel must be one.
/// Every expression of the topology is searched, token by token (macro arguments included).
pub(super) fn channels_inside_expressions(
    topology: &Topology,
    wiring: &Wiring,
    errors: &mut Errors,
) {
    let names = &wiring.names;
    for expr in expressions(topology) {
        if let Some((receiver, method)) = method_on_queue(expr, names) {
            let message = match likely_endpoint(method) {
                Some(close) => format!(
                    "queue `{receiver}` has no endpoint `{method}()`; did you mean \
                     `{receiver}.{close}()`?"
                ),
                None => format!(
                    "queue `{receiver}` has no endpoint `{method}()`: pass `{receiver}.reader()`, \
                     `{receiver}.writer()`, or `{receiver}` for the whole queue"
                ),
            };
            errors.at(method, message);
            continue;
        }
        let mut found = Vec::new();
        channels_in(expr.0.to_token_stream(), names, &mut found);
        for (ident, channel) in found {
            let message = match channel {
                Channel::Queue(_) => format!(
                    "queue `{ident}` cannot be used inside an expression: pass \
                     `{ident}.reader()`, `{ident}.writer()` or `{ident}` as a whole argument, \
                     so the topology knows who writes it and who reads it"
                ),
                Channel::PipeEnd { .. } => format!(
                    "pipe end `{ident}` cannot be used inside an expression: pass `{ident}` as a \
                     whole argument, so the topology knows who holds it"
                ),
            };
            errors.at(ident, message);
        }
    }
}

/// The channels the two passes above report a mistake about: a misspelt endpoint's likely
/// queue, a pipe end used as a queue, a queue method that is no endpoint, a channel inside an
/// expression. The wiring passes leave these channels alone, so one mistake gives one message
/// (not also "queue `jobs` has writers but no reader").
pub(super) fn misused(topology: &Topology, names: &Names) -> Vec<Channel> {
    let mut channels = Vec::new();
    for endpoint in unknown_endpoints(topology, names) {
        let name = &endpoint.queue;
        let likely = names.get(name).or_else(|| {
            suggest::closest(&name.to_string(), names.queues()).and_then(|q| names.get(q))
        });
        channels.extend(likely);
    }
    for expr in expressions(topology) {
        if let Some((receiver, _)) = method_on_queue(expr, names) {
            channels.extend(names.get(receiver));
        } else {
            let mut found = Vec::new();
            channels_in(expr.0.to_token_stream(), names, &mut found);
            channels.extend(found.into_iter().map(|(_, channel)| channel));
        }
    }
    channels
}

/// Every `name.reader()` / `name.writer()` argument whose `name` is no declared queue.
fn unknown_endpoints<'a>(
    topology: &'a Topology,
    names: &'a Names,
) -> impl Iterator<Item = &'a Endpoint> {
    topology
        .processes
        .iter()
        .flat_map(|p| &p.args)
        .filter_map(|arg| match names.resolve(arg) {
            Use::Unknown(endpoint) => Some(endpoint),
            _ => None,
        })
}

/// Every expression of the topology, and whether it is a whole argument: arguments that are no
/// channel, replica counts, start methods and capacities.
fn expressions(topology: &Topology) -> impl Iterator<Item = (&Expr, bool)> {
    let capacities = topology
        .queues
        .iter()
        .filter_map(|q| q.bounded.as_ref().map(|b| (&b.capacity, false)));
    let of_processes = topology.processes.iter().flat_map(|p| {
        let args = p.args.iter().filter_map(|arg| match arg {
            Arg::Expr(expr) => Some((expr, true)),
            Arg::Endpoint(_) | Arg::Name(_) => None,
        });
        let options = p.replicas.as_ref().map(|r| &r.count).into_iter();
        args.chain(options.chain(&p.start_method).map(|expr| (expr, false)))
    });
    capacities.chain(of_processes)
}

/// `queue.method(..)` as a whole argument, where `queue` is a declared queue: the user likely
/// meant an endpoint.
fn method_on_queue<'e>(
    (expr, argument): (&'e Expr, bool),
    names: &Names,
) -> Option<(&'e Ident, &'e Ident)> {
    let (Expr::MethodCall(call), true) = (expr, argument) else {
        return None;
    };
    let Expr::Path(path) = &*call.receiver else {
        return None;
    };
    let receiver = lone_name(path)?;
    matches!(names.get(receiver), Some(Channel::Queue(_))).then_some((receiver, &call.method))
}

/// The endpoint a mistaken method name most likely meant: a close spelling, a prefix
/// (`read`), or a word of the same side (`get`, `recv`, `put`, `send`…).
fn likely_endpoint(method: &Ident) -> Option<&'static str> {
    const READS: &[&str] = &[
        "get", "recv", "receive", "receiver", "rx", "consumer", "iter",
    ];
    const WRITES: &[&str] = &["put", "send", "sender", "tx", "producer"];
    let method = method.to_string().to_lowercase();
    let span = Span::call_site();
    let candidates = [Ident::new("reader", span), Ident::new("writer", span)];
    if let Some(close) = suggest::closest(&method, &candidates) {
        return Some(if close == "reader" {
            "reader"
        } else {
            "writer"
        });
    }
    if "reader".starts_with(&method) && method.len() >= 3 || READS.contains(&method.as_str()) {
        Some("reader")
    } else if "writer".starts_with(&method) && method.len() >= 3
        || WRITES.contains(&method.as_str())
    {
        Some("writer")
    } else {
        None
    }
}

/// Every identifier in `tokens` that names a channel, except where it cannot be a use of a
/// variable: after `.` (a field or method), after `'` (a label), after `::` (a path segment),
/// before `:` (a path's first segment, or a field name) and before `!` (a macro).
fn channels_in(tokens: TokenStream, names: &Names, found: &mut Vec<(Ident, Channel)>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, token) in tokens.iter().enumerate() {
        match token {
            TokenTree::Group(group) => channels_in(group.stream(), names, found),
            TokenTree::Ident(ident) => {
                let back = |n: usize| i.checked_sub(n).and_then(|j| tokens.get(j));
                let after_path_separator = is_punct(back(1), &[':']) && is_punct(back(2), &[':']);
                let not_a_use = is_punct(back(1), &['.', '\''])
                    || after_path_separator
                    || is_punct(tokens.get(i + 1), &[':', '!']);
                if let (false, Some(channel)) = (not_a_use, names.get(ident)) {
                    found.push((ident.clone(), channel));
                }
            }
            TokenTree::Punct(_) | TokenTree::Literal(_) => {}
        }
    }
}

/// Whether `token` is one of these punctuation characters.
fn is_punct(token: Option<&TokenTree>, chars: &[char]) -> bool {
    matches!(token, Some(TokenTree::Punct(p)) if chars.contains(&p.as_char()))
}
