//! Builds the typed AST from the macro's input.
//!
//! The input is cut into statements at each top-level `;` first, and each statement is parsed
//! on its own: a syntax error ends only its statement, so every statement's first error is
//! reported in one compilation. Options given twice are reported without stopping the parse.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, ExprMethodCall, ExprPath, Ident, Token, parenthesized};

use super::ast::{
    Arg, Bounded, Endpoint, PipeDecl, ProcessDecl, QueueDecl, QueueKind, Replicas, Side, Topology,
};
use crate::error::Errors;

/// The DSL's keywords, all contextual: a process may be named `queue` or `daemon`. (`reader` and
/// `writer` are method names, recognized in parsed expressions.)
mod kw {
    syn::custom_keyword!(queue);
    syn::custom_keyword!(pipe);
    syn::custom_keyword!(Queue);
    syn::custom_keyword!(JoinableQueue);
    syn::custom_keyword!(Pipe);
    syn::custom_keyword!(bounded);
    syn::custom_keyword!(simplex);
    syn::custom_keyword!(daemon);
    syn::custom_keyword!(start_method);
}

/// Parses a whole topology.
///
/// # Errors
/// Every statement's syntax error, and every option given twice, combined.
pub(crate) fn parse(input: TokenStream) -> syn::Result<Topology> {
    let mut errors = Errors::default();
    let mut topology = Topology::default();
    for statement in statements(input) {
        if let Some(last) = statement.unterminated {
            errors.push(syn::Error::new(
                last,
                "expected `;` after the last statement",
            ));
        }
        let parser = |input: ParseStream| statement_into(input, &mut topology, &mut errors);
        if let Err(e) = parser.parse2(statement.tokens) {
            errors.push(e);
        }
    }
    errors.finish().map(|()| topology)
}

/// The tokens of one statement, without its `;`.
struct Statement {
    tokens: TokenStream,
    /// For a last statement missing its `;`: the span of its last token.
    unterminated: Option<Span>,
}

/// Cuts the input at each top-level `;` (a `;` inside a group belongs to an expression). Empty
/// statements are skipped.
fn statements(input: TokenStream) -> Vec<Statement> {
    let mut out = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    for token in input {
        match &token {
            TokenTree::Punct(p) if p.as_char() == ';' => {
                if !current.is_empty() {
                    out.push(Statement {
                        tokens: current.drain(..).collect(),
                        unterminated: None,
                    });
                }
            }
            _ => current.push(token),
        }
    }
    if let Some(last) = current.last() {
        let unterminated = Some(last.span());
        out.push(Statement {
            tokens: current.into_iter().collect(),
            unterminated,
        });
    }
    out
}

/// Parses one statement and adds it to `topology`.
fn statement_into(
    input: ParseStream,
    topology: &mut Topology,
    errors: &mut Errors,
) -> syn::Result<()> {
    if input.peek(kw::queue) && input.peek2(Ident) {
        topology.queues.push(queue(input, errors)?);
    } else if input.peek(kw::pipe) && input.peek2(syn::token::Paren) {
        topology.pipes.push(pipe(input, errors)?);
    } else if input.peek(kw::pipe) && input.peek2(Ident) {
        input.parse::<kw::pipe>()?;
        return Err(input.error(
            "name the two ends of a pipe: `pipe (left, right): Pipe<T>;`, then give `left` \
             to one process and `right` to another",
        ));
    } else if input.peek(Ident) {
        topology.processes.push(process(input, errors)?);
    } else {
        return Err(input.error(
            "expected a statement: `queue name: Queue<T>;`, `pipe (left, right): Pipe<T>;` \
             or `name: function(arguments);`",
        ));
    }
    if input.is_empty() {
        Ok(())
    } else {
        Err(input.error("expected `,` or `;`"))
    }
}

/// `queue NAME: (Queue | JoinableQueue)<TYPE> (, bounded(EXPR))*`
fn queue(input: ParseStream, errors: &mut Errors) -> syn::Result<QueueDecl> {
    input.parse::<kw::queue>()?;
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let lookahead = input.lookahead1();
    let kind = if lookahead.peek(kw::Queue) {
        input.parse::<kw::Queue>()?;
        QueueKind::Plain
    } else if lookahead.peek(kw::JoinableQueue) {
        input.parse::<kw::JoinableQueue>()?;
        QueueKind::Joinable
    } else {
        return Err(lookahead.error());
    };
    input.parse::<Token![<]>()?;
    let item = input.parse()?;
    input.parse::<Token![>]>()?;
    let mut bounded = None;
    while input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::bounded) {
            let keyword = input.parse::<kw::bounded>()?.span;
            let content;
            parenthesized!(content in input);
            let capacity = content.parse()?;
            set_once(
                errors,
                &mut bounded,
                Bounded { capacity },
                keyword,
                "bounded",
            );
        } else {
            return Err(lookahead.error());
        }
    }
    Ok(QueueDecl {
        name,
        kind,
        item,
        bounded,
    })
}

/// `pipe (END, END): Pipe<TYPE (, TYPE)?> (, simplex)*`
fn pipe(input: ParseStream, errors: &mut Errors) -> syn::Result<PipeDecl> {
    input.parse::<kw::pipe>()?;
    let content;
    parenthesized!(content in input);
    let first_end: Ident = content.parse()?;
    content.parse::<Token![,]>()?;
    let second_end: Ident = content.parse()?;
    if !content.is_empty() {
        return Err(content.error("a pipe has two ends: expected `)`"));
    }
    input.parse::<Token![:]>()?;
    input.parse::<kw::Pipe>()?;
    input.parse::<Token![<]>()?;
    let first = input.parse()?;
    let second = if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        Some(input.parse()?)
    } else {
        None
    };
    input.parse::<Token![>]>()?;
    let mut simplex = None;
    while input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::simplex) {
            let span = input.parse::<kw::simplex>()?.span;
            set_once(errors, &mut simplex, span, span, "simplex");
        } else {
            return Err(lookahead.error());
        }
    }
    Ok(PipeDecl {
        ends: [first_end, second_end],
        first,
        second,
        simplex,
    })
}

/// `NAME ([INDEX])?: PATH(ARGS) (* EXPR)? (, daemon | , start_method(EXPR))*`
fn process(input: ParseStream, errors: &mut Errors) -> syn::Result<ProcessDecl> {
    let name: Ident = input.parse()?;
    let index = if input.peek(syn::token::Bracket) {
        let content;
        syn::bracketed!(content in input);
        let index: Ident = content.parse()?;
        if !content.is_empty() {
            return Err(content.error("expected `]`: the replica index is one name"));
        }
        Some(index)
    } else {
        None
    };
    input.parse::<Token![:]>()?;
    if !(input.peek(Ident) || input.peek(Token![::]) || input.peek(Token![<])) {
        return Err(input.error("expected the name of a function"));
    }
    let callee: ExprPath = input.parse()?;
    if !input.peek(syn::token::Paren) {
        let message = "expected `(`: a process is a call of a function, `function(arguments)`";
        // At the end of the statement, the next token is past it: point at the function.
        return Err(if input.is_empty() {
            syn::Error::new_spanned(&callee, message)
        } else {
            input.error(message)
        });
    }
    let content;
    let paren = parenthesized!(content in input);
    let args = Punctuated::<Expr, Token![,]>::parse_terminated(&content)?
        .into_iter()
        .map(classify)
        .collect();
    let replicas = if input.peek(Token![*]) {
        Some(Replicas {
            star: input.parse()?,
            count: input.parse()?,
        })
    } else {
        None
    };
    let mut daemon = None;
    let mut start_method = None;
    while input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::daemon) {
            let span = input.parse::<kw::daemon>()?.span;
            set_once(errors, &mut daemon, span, span, "daemon");
        } else if lookahead.peek(kw::start_method) {
            let span = input.parse::<kw::start_method>()?.span;
            let content;
            parenthesized!(content in input);
            let method: Expr = content.parse()?;
            set_once(errors, &mut start_method, method, span, "start_method");
        } else {
            return Err(lookahead.error());
        }
    }
    Ok(ProcessDecl {
        name,
        index,
        callee,
        paren,
        args,
        replicas,
        daemon,
        start_method,
    })
}

/// Sorts an argument by its syntax: `name.reader()` / `name.writer()` are endpoints, a lone
/// name may be a channel, anything else is an expression.
fn classify(expr: Expr) -> Arg {
    match expr {
        Expr::Path(path) => match lone_name(&path) {
            Some(name) => Arg::Name(name.clone()),
            None => Arg::Expr(Expr::Path(path)),
        },
        Expr::MethodCall(call) => match endpoint(&call) {
            Some(endpoint) => Arg::Endpoint(endpoint),
            None => Arg::Expr(Expr::MethodCall(call)),
        },
        other => Arg::Expr(other),
    }
}

/// `name.reader()` or `name.writer()` exactly (no arguments, no turbofish, no attributes).
fn endpoint(call: &ExprMethodCall) -> Option<Endpoint> {
    let side = if call.method == "reader" {
        Side::Reader
    } else if call.method == "writer" {
        Side::Writer
    } else {
        return None;
    };
    if !call.args.is_empty() || call.turbofish.is_some() || !call.attrs.is_empty() {
        return None;
    }
    let Expr::Path(receiver) = &*call.receiver else {
        return None;
    };
    Some(Endpoint {
        queue: lone_name(receiver)?.clone(),
        dot: call.dot_token,
        side,
        method: call.method.clone(),
        paren: call.paren_token,
    })
}

/// The single identifier an expression path consists of, if it is one.
pub(crate) fn lone_name(path: &ExprPath) -> Option<&Ident> {
    if path.attrs.is_empty() && path.qself.is_none() {
        path.path.get_ident()
    } else {
        None
    }
}

/// Stores an option, or reports it as given twice (at the second one).
fn set_once<T>(errors: &mut Errors, slot: &mut Option<T>, value: T, span: Span, name: &str) {
    if slot.is_some() {
        errors.push(syn::Error::new(
            span,
            format!("duplicate option `{name}`: give it once"),
        ));
    } else {
        *slot = Some(value);
    }
}
