//! The typed AST of a topology: what `parse` builds and `validate` and `expand` read. Every node
//! keeps the spans its errors point at.

use proc_macro2::Span;
use syn::{Expr, ExprPath, Ident, Type, token};

/// A whole `process! { … }`: its channels and processes, each list in source order.
#[derive(Default)]
pub(crate) struct Topology {
    pub(crate) queues: Vec<QueueDecl>,
    pub(crate) pipes: Vec<PipeDecl>,
    pub(crate) processes: Vec<ProcessDecl>,
}

/// `queue jobs: Queue<Job>, bounded(100);`
pub(crate) struct QueueDecl {
    /// The queue's name, which its endpoints use (`jobs.reader()`).
    pub(crate) name: Ident,
    pub(crate) kind: QueueKind,
    /// The item type.
    pub(crate) item: Type,
    /// `bounded(capacity)`, if given.
    pub(crate) bounded: Option<Bounded>,
}

/// Which queue type a declaration makes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum QueueKind {
    /// `Queue<T>`.
    Plain,
    /// `JoinableQueue<T>`.
    Joinable,
}

/// The `bounded(capacity)` option of a queue.
pub(crate) struct Bounded {
    pub(crate) capacity: Expr,
}

/// `pipe (client, server): Pipe<Request, Response>;` or `pipe (rx, tx): Pipe<T>, simplex;`
pub(crate) struct PipeDecl {
    /// The two ends' names, in the order `Pipe::new()` (or `Pipe::simplex()`) returns them.
    pub(crate) ends: [Ident; 2],
    /// What the first end sends (for a simplex pipe: what travels).
    pub(crate) first: Type,
    /// What the first end receives, if it differs (`Pipe<S, R>`); validation refuses it for a
    /// simplex pipe.
    pub(crate) second: Option<Type>,
    /// The `simplex` option, if given.
    pub(crate) simplex: Option<Span>,
}

impl PipeDecl {
    /// What the first end receives: the second type, or the first if only one is written.
    pub(crate) fn received(&self) -> &Type {
        self.second.as_ref().unwrap_or(&self.first)
    }
}

/// `worker[i]: work(jobs.reader(), i) * 4, daemon;`
pub(crate) struct ProcessDecl {
    /// The process's name: it names the results field and (with a replica suffix) the OS
    /// process.
    pub(crate) name: Ident,
    /// `[i]`: a name bound to the replica index (a `usize`) in the argument expressions.
    pub(crate) index: Option<Ident>,
    /// The function, `#[process]` or not, as a path (validation refuses generic arguments and
    /// `<T as Trait>::` prefixes).
    pub(crate) callee: ExprPath,
    /// The parentheses around the arguments (the expansion reuses them for the `spawn` call,
    /// so "argument missing" errors point here).
    pub(crate) paren: token::Paren,
    pub(crate) args: Vec<Arg>,
    /// `* count`, if given (even `* 1`): the process is replicated and its results are a `Vec`.
    pub(crate) replicas: Option<Replicas>,
    /// The `daemon` option, if given.
    pub(crate) daemon: Option<Span>,
    /// The `start_method(expr)` option, if given.
    pub(crate) start_method: Option<Expr>,
}

/// `* count`.
pub(crate) struct Replicas {
    pub(crate) star: token::Star,
    pub(crate) count: Expr,
}

/// One argument of a process, by its syntax. Which channel (if any) a name refers to is decided
/// against the declarations (see `resolve`), so declarations may come in any order.
pub(crate) enum Arg {
    /// `name.reader()` or `name.writer()`: always a queue endpoint in the DSL.
    Endpoint(Endpoint),
    /// A lone name: a queue (the whole handle), a pipe end, or an ordinary variable.
    Name(Ident),
    /// Any other expression, passed as it is (evaluated once per replica).
    Expr(Expr),
}

/// `jobs.reader()` / `jobs.writer()`, with every token's span so the expansion can rebuild the
/// call where the user wrote it.
pub(crate) struct Endpoint {
    pub(crate) queue: Ident,
    pub(crate) dot: token::Dot,
    pub(crate) side: Side,
    /// `reader` or `writer`.
    pub(crate) method: Ident,
    pub(crate) paren: token::Paren,
}

/// Which side of a queue an endpoint is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Side {
    Reader,
    Writer,
}
