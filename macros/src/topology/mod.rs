//! `process!`: a topology of processes wired by queues and pipes, checked at compile time.
//!
//! Four phases, each in its own file: `parse` builds the typed AST of `ast` (statement by
//! statement, so each statement's syntax error is reported); `resolve` works out which process
//! uses which channel end how; `validate` runs independent passes over both, every error at its
//! own DSL token; `expand` writes the code, and cannot fail. The grammar is documented on the
//! macro itself (`macros/src/lib.rs`), for users.
//!
//! # The runtime interface the expansion calls
//!
//! Everything lives in `::mproc::__private::topology` (see `expand` for how it is called):
//!
//! ```text
//! Topology<F>                     (public as mproc::topology::Topology)
//!   impl<F, J, T> Topology<F> where F: FnOnce(&mut Launcher) -> Result<J, TopologyError>,
//!                                   J: FnOnce(&Finish) -> T
//!     fn new(build: F) -> Self    (the bounds on `new` are what infer the closures' types)
//! Launcher
//!   fn queue<T: ChannelItem>(&mut self, name: &'static str, capacity: Option<usize>)
//!       -> Result<(ChannelId, Queue<T>), TopologyError>
//!   fn joinable_queue<T: ChannelItem>(&mut self, name: &'static str, capacity: Option<usize>)
//!       -> Result<(ChannelId, JoinableQueue<T>), TopologyError>
//!   fn pipe<S: ChannelItem, R: ChannelItem>(&mut self, name: &'static str)
//!       -> Result<(Connection<S, R>, Connection<R, S>), TopologyError>
//!   fn simplex<T: ChannelItem>(&mut self, name: &'static str)
//!       -> Result<(Receiver<T>, Sender<T>), TopologyError>
//!   fn single<R, F>(&mut self, member: Member<'_>, start: F) -> Result<Child<R>, TopologyError>
//!       where F: FnOnce(Replica) -> Result<Child<R>, SpawnError>
//!   fn replicated<R, F>(&mut self, member: Member<'_>, replicas: usize, start: F)
//!       -> Result<Vec<Child<R>>, TopologyError>
//!       where F: FnMut(Replica) -> Result<Child<R>, SpawnError>
//! ChannelId                       (Copy)
//! Member<'a> { name: &'static str, daemon: bool, writes: &'a [ChannelId], reads: &'a [ChannelId] }
//! Replica: fn index(&self) -> usize; fn name(&self) -> String; fn daemon(&self) -> bool
//! trait ChannelItem: Serialize + DeserializeOwned   (blanket impl; `on_unimplemented` message)
//! Finish
//!   fn result<R: DeserializeOwned>(&self, Child<R>) -> Result<R, ProcessError>
//!   fn results<R: DeserializeOwned>(&self, Vec<Child<R>>) -> Vec<Result<R, ProcessError>>
//!   fn daemon_result<R: DeserializeOwned>(&self, Child<R>) -> Option<Result<R, ProcessError>>
//!   fn daemon_results<R: DeserializeOwned>(&self, Vec<Child<R>>)
//!       -> Vec<Option<Result<R, ProcessError>>>
//! Failure<'a> { process: &'static str, replica: Option<usize>, error: &'a ProcessError }
//! fn failures_of<'a, O: Outcome>(into: &mut Vec<Failure<'a>>, process: &'static str, outcome: &'a O)
//!   (Outcome: for Result<R, ProcessError>, Option<Result<R, ProcessError>>, Vec<O: Outcome>)
//! ProcessError                    (re-exported: the results' field types name it)
//! ```
//!
//! The launcher creates each channel, starts each replica through the closure it is given
//! (registering the child's handle with the queues its member writes), starts closing queues
//! only once `build` has returned (a writer that ends early must not close a queue another
//! writer has yet to get), closes each queue once its last writer has ended, crashed ones
//! included, and calls the closure `build` returned, with a `Finish`, once every process has
//! ended (daemons stopped); `Finish` tells a daemon stopped by the topology (`None`) from one
//! that ended on its own.

mod ast;
mod expand;
mod parse;
mod resolve;
mod suggest;
mod validate;

use proc_macro2::TokenStream;

/// The whole macro: never panics, always returns tokens (on error, every error found; the
/// expression then has no value for the compiler to check further).
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    match checked(input) {
        Ok(tokens) => tokens,
        Err(e) => {
            let errors = e.to_compile_error();
            quote::quote!({ #errors })
        }
    }
}

/// Parses, resolves and validates, then expands.
///
/// # Errors
/// Every syntax error (then nothing is validated), or every validation error.
fn checked(input: TokenStream) -> syn::Result<TokenStream> {
    let topology = parse::parse(input)?;
    let wiring = resolve::Wiring::new(&topology);
    validate::validate(&topology, &wiring)?;
    Ok(expand::expand(&topology, &wiring))
}

#[cfg(test)]
mod tests;
