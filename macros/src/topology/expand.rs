//! The expansion of a validated topology. Cannot fail.
//!
//! `process! { … }` becomes a block that declares the results struct and evaluates to
//! `Topology::new(build)`, where `build` runs at `start()` against a `Launcher`:
//!
//! 1. each channel is created through the launcher (`queue::<T>`, `joinable_queue::<T>`,
//!    `pipe::<S, R>`, `simplex::<T>`), bound to the name the user declared, so the arguments
//!    below are the user's own tokens; the item types are explicit generic arguments, so a type
//!    that cannot travel fails the launcher's bound at the type as written in the DSL;
//! 2. each process is started through `single` or `replicated`, with its name, daemon flag and
//!    the queues it writes and reads (for closing each queue after its last writer), and a
//!    closure that starts one replica with `function::builder()…spawn(arguments)`. Each argument
//!    keeps its DSL spans, so a type mismatch is reported at the argument in the DSL, and
//!    `builder`/`spawn` carry the function name's span, so an unknown function or a wrong
//!    argument count is reported at the name;
//! 3. `build` returns a closure that, once every process has ended, joins them all into the
//!    results struct: one field per process, typed by inference from the function's return
//!    type.
//!
//! Generated locals use `Span::mixed_site()`, out of reach of the user's expressions.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::ast::{Arg, Endpoint, PipeDecl, ProcessDecl, QueueDecl, QueueKind, Topology};
use super::resolve::{Use, Wiring};
use crate::paths;

/// The name of generated locals and parameters (hygienic: invisible to user tokens).
fn internal(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

/// The local holding queue `index`'s id.
fn queue_id(index: usize) -> Ident {
    internal(&format!("__mproc_queue_{index}"))
}

/// The local holding process `index`'s started children, located at the function's name (see
/// the joins in `expand`).
fn children(index: usize, process: &ProcessDecl) -> Ident {
    Ident::new(
        &format!("__mproc_process_{index}"),
        Span::mixed_site().located_at(callee_span(process)),
    )
}

pub(crate) fn expand(topology: &Topology, wiring: &Wiring) -> TokenStream {
    let t = paths::topology();
    let launcher = internal("__launcher");
    let finish = internal("__finish");
    let results = format_ident!("__MprocTopologyResults");
    let params: Vec<Ident> = (0..topology.processes.len())
        .map(|i| format_ident!("__P{}", i))
        .collect();
    let fields: Vec<&Ident> = topology.processes.iter().map(|p| &p.name).collect();
    let field_types = topology
        .processes
        .iter()
        .zip(&params)
        .map(|(p, param)| field_type(p, param));
    let names: Vec<String> = fields.iter().map(ToString::to_string).collect();
    let queues = topology
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| create_queue(q, i, &launcher));
    let pipes = topology.pipes.iter().map(|p| create_pipe(p, &launcher));
    let starts = topology
        .processes
        .iter()
        .enumerate()
        .map(|(i, p)| start(p, i, wiring, &launcher));
    let joins = topology.processes.iter().enumerate().map(|(i, p)| {
        let children = children(i, p);
        let method = match (p.replicas.is_some(), p.daemon.is_some()) {
            (false, false) => "result",
            (true, false) => "results",
            (false, true) => "daemon_result",
            (true, true) => "daemon_results",
        };
        // At the function's name, where a return type that cannot travel is already reported
        // (`TopologyValue`, see `spawn_call`): rustc then drops this call's weaker
        // `DeserializeOwned` error for the same type as implied.
        let at_name = callee_span(p);
        let method = Ident::new(method, at_name);
        quote!(#finish.#method(#children))
    });
    quote! {
        {
            /// What each process of the topology returned, one field per process.
            #[derive(Debug)]
            #[allow(dead_code)]
            struct #results<#(#params),*> {
                #(#fields: #field_types,)*
            }

            #[allow(dead_code)]
            impl<#(#params),*> #results<#(#params),*> {
                /// The processes that failed, in declaration order (replicas in index order).
                fn failures(&self) -> ::std::vec::Vec<#t::Failure<'_>> {
                    let mut failures = ::std::vec::Vec::new();
                    #(#t::failures_of(&mut failures, #names, &self.#fields);)*
                    failures
                }
            }

            #t::Topology::new(|#launcher: &mut #t::Launcher| {
                #(#queues)*
                #(#pipes)*
                #(#starts)*
                ::core::result::Result::Ok(move |#finish: &#t::Finish| #results {
                    #(#fields: #joins,)*
                })
            })
        }
    }
}

/// A results field's type: `Result<R, ProcessError>`, in a `Vec` for a replicated process, in
/// an `Option` for a daemon (`None`: still running when the topology ended, so stopped).
fn field_type(process: &ProcessDecl, param: &Ident) -> TokenStream {
    let t = paths::topology();
    let mut ty = quote!(::core::result::Result<#param, #t::ProcessError>);
    if process.daemon.is_some() {
        ty = quote!(::core::option::Option<#ty>);
    }
    if process.replicas.is_some() {
        ty = quote!(::std::vec::Vec<#ty>);
    }
    ty
}

/// `let (id, name) = launcher.queue::<T>("name", capacity)?;`
fn create_queue(queue: &QueueDecl, index: usize, launcher: &Ident) -> TokenStream {
    let id = queue_id(index);
    let name = &queue.name;
    let label = name.to_string();
    let item = &queue.item;
    let method = match queue.kind {
        QueueKind::Plain => quote!(queue),
        QueueKind::Joinable => quote!(joinable_queue),
    };
    let capacity = if let Some(bounded) = &queue.bounded {
        let capacity = &bounded.capacity;
        quote_spanned!(capacity.span()=> ::core::option::Option::Some(#capacity))
    } else {
        quote!(::core::option::Option::None)
    };
    quote! {
        let (#id, #name) = #launcher.#method::<#item>(#label, #capacity)?;
    }
}

/// `let (first, second) = launcher.pipe::<S, R>("(first, second)")?;` (or `simplex::<T>`).
fn create_pipe(pipe: &PipeDecl, launcher: &Ident) -> TokenStream {
    let [first, second] = &pipe.ends;
    let label = format!("({first}, {second})");
    let sent = &pipe.first;
    let received = pipe.received();
    let create = if pipe.simplex.is_some() {
        quote!(simplex::<#sent>)
    } else {
        quote!(pipe::<#sent, #received>)
    };
    quote! {
        let (#first, #second) = #launcher.#create(#label)?;
    }
}

/// Starts process `index`: `let children = launcher.single(member, |replica| …)?;` (or
/// `replicated(member, count, …)`).
fn start(process: &ProcessDecl, index: usize, wiring: &Wiring, launcher: &Ident) -> TokenStream {
    let t = paths::topology();
    let children = children(index, process);
    let replica = internal("__replica");
    let label = process.name.to_string();
    let daemon = process.daemon.is_some();
    let writes = wiring.writes(index).into_iter().map(queue_id);
    let reads = wiring.reads(index).into_iter().map(queue_id);
    let member = quote! {
        #t::Member {
            name: #label,
            daemon: #daemon,
            writes: &[#(#writes),*],
            reads: &[#(#reads),*],
        }
    };
    let index_binding = process
        .index
        .as_ref()
        .map(|index| quote!(let #index: ::core::primitive::usize = #replica.index();));
    let spawn = spawn_call(process, wiring, &replica);
    // At the process's name, so borrow errors about the closure ("captured by this `FnMut`
    // closure") point at the process, not at the whole macro.
    let body = quote_spanned!(process.name.span()=> |#replica| { #index_binding #spawn });
    match &process.replicas {
        None => quote! {
            let #children = #launcher.single(#member, #body)?;
        },
        Some(replicas) => {
            // Typed where the user wrote `*`, so a count of another type is reported at the
            // count, "expected due to" the `*`.
            let count = internal("__count");
            let usize_at_star = quote_spanned!(replicas.star.span=> ::core::primitive::usize);
            let expr = &replicas.count;
            quote! {
                let #count: #usize_at_star = #expr;
                let #children = #launcher.replicated(#member, #count, #body)?;
            }
        }
    }
}

/// Starts one replica of `process`: its function, called through the value namespace, so any
/// function works, `#[process]` or not.
///
/// ```text
/// fn __mproc_start<__A0: TopologyValue, …, __R: TopologyValue>(
///     entry: fn((__A0, …)) -> __R, args: (__A0, …), options: Options,
/// ) -> Result<Child<__R>, SpawnError> { Process::with_options(entry, args, options).start() }
/// let __mproc_entry = |(__mproc_arg0, …)| function(identity(__mproc_arg0), …);
/// __mproc_start(__mproc_entry, (argument0, …), Options::default().name(..).daemon(..)…)
/// ```
///
/// The entry is a non-capturing closure (so it coerces to the `fn` pointer a child finds again),
/// bound before the call, so its parameter types come from the function's signature; the
/// arguments, a tuple the helper expects of those types, are then each checked against the
/// type the function expects, a mismatch reported at the argument. The call of the function has
/// the function name's span and the user's parentheses, and each of its arguments the span of
/// the user's argument (`identity(..)` lets it cover several tokens): an unknown function or a
/// wrong argument count is reported at the name, with rustc's note at the user's function. A type
/// that cannot travel fails the helper's `TopologyValue` bound, reported at the function name
/// with `TopologyValue`'s message, the "required by this bound" note at the argument (the return
/// type's at the name).
fn spawn_call(process: &ProcessDecl, wiring: &Wiring, replica: &Ident) -> TokenStream {
    let private = paths::private();
    let callee = &process.callee;
    let at_name = callee_span(process);
    let helper = Ident::new("__mproc_start", Span::mixed_site().located_at(at_name));
    let entry = Ident::new("__mproc_entry", Span::mixed_site().located_at(at_name));
    let options = internal("__mproc_options");
    let args_param = internal("__mproc_args");
    let spans: Vec<(Span, Span)> = process.args.iter().map(arg_spans).collect();
    let params: Vec<Ident> = (0..spans.len())
        .map(|i| format_ident!("__A{}", i))
        .collect();
    let values: Vec<Ident> = spans
        .iter()
        .enumerate()
        .map(|(i, (first, _))| {
            Ident::new(
                &format!("__mproc_arg{i}"),
                Span::mixed_site().located_at(*first),
            )
        })
        .collect();
    let bounds = params.iter().zip(&spans).map(
        |(param, (first, _))| quote_spanned!(*first=> #param: ::mproc::__private::TopologyValue),
    );
    let result_bound = quote_spanned!(at_name=> __R: ::mproc::__private::TopologyValue);
    // `::core::convert::identity(value)`, from the argument's first token to its last, so
    // rustc's suggestions quote the whole argument.
    let passed = values.iter().zip(&spans).map(|(value, (first, last))| {
        let path = quote_spanned!(*first=> ::core::convert::identity);
        let mut parens =
            proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, value.to_token_stream());
        parens.set_span(*last);
        quote!(#path #parens)
    });
    let mut call = TokenStream::new();
    callee.to_tokens(&mut call);
    process.paren.surround(&mut call, |tokens| {
        tokens.extend(quote!(#(#passed),*));
    });
    let closure = quote_spanned!(at_name=> |(#(#values,)*)| #call);
    let start_method = process
        .start_method
        .as_ref()
        .map(|method| quote!(.start_method(#method)));
    let args = process.args.iter().map(|arg| argument(arg, wiring));
    let call_helper = quote_spanned!(at_name=> #helper);
    quote! {
        fn #helper<#(#bounds,)* #result_bound>(
            #entry: fn((#(#params,)*)) -> __R,
            #args_param: (#(#params,)*),
            #options: #private::Options,
        ) -> ::core::result::Result<#private::Child<__R>, #private::SpawnError> {
            #private::Process::with_options(#entry, #args_param, #options).start()
        }
        let #entry = #closure;
        #call_helper(
            #entry,
            (#(#args,)*),
            <#private::Options as ::core::default::Default>::default()
                .name(#replica.name())
                .daemon(#replica.daemon())
                #start_method,
        )
    }
}

/// The span of the function's name (its last path segment).
fn callee_span(process: &ProcessDecl) -> Span {
    process
        .callee
        .path
        .segments
        .last()
        .map_or_else(Span::call_site, |segment| segment.ident.span())
}

/// The spans of an argument's first and last tokens, for the errors about it.
fn arg_spans(arg: &Arg) -> (Span, Span) {
    let tokens = match arg {
        Arg::Endpoint(endpoint) => endpoint_call(endpoint),
        Arg::Name(name) => name.to_token_stream(),
        Arg::Expr(expr) => expr.to_token_stream(),
    };
    let mut spans = tokens.into_iter().map(|token| token.span());
    let first = spans.next().unwrap_or_else(Span::call_site);
    let last = spans.last().unwrap_or(first);
    (first, last)
}

/// One argument, as the user wrote it: an endpoint is the call itself on the queue's binding,
/// a whole queue is cloned (every replica gets a handle; by method call, so a type mismatch
/// names the queue's type, not a reference to it), a pipe end is moved, anything else is
/// passed unchanged.
fn argument(arg: &Arg, wiring: &Wiring) -> TokenStream {
    match (arg, wiring.names.resolve(arg)) {
        (Arg::Endpoint(endpoint), _) => endpoint_call(endpoint),
        (Arg::Name(name), Use::Handle { .. }) => {
            quote_spanned!(name.span()=> #name.clone())
        }
        (Arg::Name(name), _) => name.to_token_stream(),
        (Arg::Expr(expr), _) => expr.to_token_stream(),
    }
}

/// `queue.reader()` rebuilt from the user's own tokens, so the expression's span is the
/// endpoint as written.
fn endpoint_call(endpoint: &Endpoint) -> TokenStream {
    let mut tokens = TokenStream::new();
    endpoint.queue.to_tokens(&mut tokens);
    endpoint.dot.to_tokens(&mut tokens);
    endpoint.method.to_tokens(&mut tokens);
    endpoint.paren.surround(&mut tokens, |_| {});
    tokens
}
