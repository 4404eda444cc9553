//! Unit tests of the topology macro on `proc_macro2` tokens: the parser, each validation pass,
//! and snapshots of the expansion.

mod expand;
mod parse;
mod validate;

use proc_macro2::TokenStream;

use super::ast::Topology;
use super::{parse as parser, resolve, validate as validator};

/// Parses tokens that must parse.
fn parsed(tokens: TokenStream) -> Topology {
    match parser::parse(tokens) {
        Ok(topology) => topology,
        Err(e) => panic!("does not parse: {e}"),
    }
}

/// The messages of every error, syntax or validation, in order.
fn errors(tokens: TokenStream) -> Vec<String> {
    let result = parser::parse(tokens).and_then(|topology| {
        let wiring = resolve::Wiring::new(&topology);
        validator::validate(&topology, &wiring)
    });
    match result {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

/// Asserts there is exactly one error, containing `expected`.
#[track_caller]
fn one_error(tokens: TokenStream, expected: &str) {
    let errors = errors(tokens);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(expected),
        "expected an error containing {expected:?}, got {:?}",
        errors[0]
    );
}
