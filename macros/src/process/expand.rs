//! Generates the spawn API beside a validated `#[process]` function. Cannot fail.
//!
//! For `fn f(a: A, b: B) -> R` it emits, in the same scope as `f`:
//! - `f` itself, unchanged but for an `allow` of `clippy::needless_pass_by_value` (its arguments
//!   must be owned);
//! - `struct f {}`: a braced struct lives only in the type namespace, so it coexists with the
//!   function `f` (value namespace) and makes `f::spawn(a, b)` and `f::builder()` resolve,
//!   also when `f` is declared inside a function body;
//! - a builder type, `__mproc_process_builder_f`, whose `spawn(a, b)` starts the process. It is
//!   documented, not `#[doc(hidden)]`: `f::builder()`'s return type then links to a page with
//!   `.name`, `.daemon`, `.start_method` and `.spawn`, where a reader of the docs looks for
//!   them; the `__` prefix keeps the name clear of the user's own items.
//!
//! The builder's `spawn` starts the child through a local helper, `__mproc_start`, generic over
//! each argument type and the return type, each bounded by `ProcessValue`, and called with the
//! user's types as explicit generic arguments. Inside the helper the bounds make every
//! serialization requirement hold, so a type that cannot cross the boundary fails exactly one
//! obligation, `T: ProcessValue`, which rustc reports at the generic argument: the user's type,
//! as written in the signature, with `ProcessValue`'s message. (Checking the types separately
//! and then passing the argument tuple to `Process` would add errors about the tuple at the
//! attribute for the same mistake.)

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::paths;
use crate::signature::SignatureFn;

pub(crate) fn expand(f: &SignatureFn) -> TokenStream {
    let private = paths::private();
    let item = &f.item;
    let vis = &item.vis;
    let name = &item.sig.ident;
    let builder = format_ident!("__mproc_process_builder_{}", name);
    let idents: Vec<_> = f.args.iter().map(|a| &a.ident).collect();
    let types: Vec<_> = f.args.iter().map(|a| &a.ty).collect();
    let ret = f.output.as_ref().map_or_else(|| quote!(()), |t| quote!(#t));
    let Docs {
        spawn: spawn_doc,
        builder: builder_doc,
        builder_type: builder_type_doc,
        builder_spawn: builder_spawn_doc,
        unit: struct_doc,
    } = docs(&name.to_string());
    let builder_impl = builder_impl(f, &builder, &builder_spawn_doc);
    quote! {
        // Arguments must be owned to cross the boundary, so clippy's advice to take one by
        // reference cannot be followed here.
        #[allow(clippy::needless_pass_by_value)]
        #item

        #[doc = #struct_doc]
        #[allow(non_camel_case_types)]
        #vis struct #name {}

        #[doc = #builder_type_doc]
        #[allow(non_camel_case_types)]
        #[derive(Debug)]
        #vis struct #builder {
            __options: #private::Options,
        }

        impl #name {
            #[doc = #spawn_doc]
            #[allow(clippy::too_many_arguments)]
            #vis fn spawn(#(#idents: #types),*)
                -> ::core::result::Result<#private::Child<#ret>, #private::SpawnError>
            {
                Self::builder().spawn(#(#idents),*)
            }

            #[doc = #builder_doc]
            #[must_use]
            #vis fn builder() -> #builder {
                #builder { __options: ::core::default::Default::default() }
            }
        }

        #builder_impl
    }
}

/// The builder's methods: the options, and `spawn` with the function's arguments.
fn builder_impl(f: &SignatureFn, builder: &proc_macro2::Ident, spawn_doc: &str) -> TokenStream {
    let private = paths::private();
    let vis = &f.item.vis;
    let name = &f.item.sig.ident;
    let idents: Vec<_> = f.args.iter().map(|a| &a.ident).collect();
    let types: Vec<_> = f.args.iter().map(|a| &a.ty).collect();
    let ret = f.output.as_ref().map_or_else(|| quote!(()), |t| quote!(#t));
    let params: Vec<_> = (0..f.args.len())
        .map(|i| format_ident!("__A{}", i))
        .collect();
    quote! {
    impl #builder {
        /// Names the process (default `Process-N`, as in Python); in the child,
        /// `current_process().name()` returns it.
        #[must_use]
        #vis fn name(self, name: impl ::core::convert::Into<::std::string::String>) -> Self {
            Self { __options: self.__options.name(name) }
        }

        /// Makes the process a daemon (or not): a daemon is terminated when this process
        /// exits, and killed if this process dies abruptly. Default: this process's own
        /// flag, as in Python.
        #[must_use]
        #vis fn daemon(self, daemon: bool) -> Self {
            Self { __options: self.__options.daemon(daemon) }
        }

        /// Chooses how the process is created: `Fork`, `Spawn` or `ForkServer`. Default:
        /// the program's (`mproc::get_start_method()`).
        #[must_use]
        #vis fn start_method(self, method: #private::StartMethod) -> Self {
            Self { __options: self.__options.start_method(method) }
        }

        /// Connects the child's stdout (default `Stdio::Inherit`); `Stdio::Piped` makes it
        /// readable through `Child::stdout`, as `Process::stdout` does.
        #[must_use]
        #vis fn stdout(self, stdio: #private::Stdio) -> Self {
            Self { __options: self.__options.stdout(stdio) }
        }

        /// Connects the child's stderr (default `Stdio::Inherit`); `Stdio::Piped` makes it
        /// readable through `Child::stderr`. A panic's message goes there too.
        #[must_use]
        #vis fn stderr(self, stdio: #private::Stdio) -> Self {
            Self { __options: self.__options.stderr(stdio) }
        }

        #[doc = #spawn_doc]
        #[allow(clippy::too_many_arguments)]
        #vis fn spawn(self, #(#idents: #types),*)
            -> ::core::result::Result<#private::Child<#ret>, #private::SpawnError>
        {
            fn __mproc_entry((#(#idents,)*): (#(#types,)*)) -> #ret {
                #name(#(#idents),*)
            }
            fn __mproc_start<#(#params: #private::ProcessValue,)* __R: #private::ProcessValue>(
                entry: fn((#(#params,)*)) -> __R,
                args: (#(#params,)*),
                options: #private::Options,
            ) -> ::core::result::Result<#private::Child<__R>, #private::SpawnError> {
                #private::Process::with_options(entry, args, options).start()
            }
            __mproc_start::<#(#types,)* #ret>(
                __mproc_entry,
                (#(#idents,)*),
                self.__options,
            )
        }
    }
    }
}

/// The documentation of everything generated for the function `name_str`.
struct Docs {
    /// `f::spawn`.
    spawn: String,
    /// `f::builder`.
    builder: String,
    /// The builder type.
    builder_type: String,
    /// The builder's `spawn`.
    builder_spawn: String,
    /// `struct f {}`.
    unit: String,
}

fn docs(name_str: &str) -> Docs {
    let spawn_doc = format!(
        "Starts [`{name_str}()`] in a new child process with default options, and returns its \
         handle: `join()` gives the value `{name_str}` returned, or the `ProcessError` it \
         ended with (a panic, `exit(n)`, a signal). Generated by `#[process]`.\n\n\
         Default options: the program's start method, a name like `Process-N`, this process's \
         daemon flag; `{name_str}::builder()` sets them.\n\n\
         # Errors\n\
         `SpawnError` when the arguments cannot be serialized, when `{name_str}` is not in the \
         main executable under `Spawn` or `ForkServer`, or when the OS refuses to start a \
         process."
    );
    let builder_doc = format!(
        "The options of one start of [`{name_str}()`] in a child process, as Python's \
         `Process(target={name_str}, name=..., daemon=...)`: chain `.name(..)`, `.daemon(..)` \
         and `.start_method(..)`, then `.spawn(..)` with the arguments. Generated by \
         `#[process]`.\n\n\
         For example `{name_str}::builder().name(\"worker\").daemon(true).spawn(..)`."
    );
    let builder_type_doc = format!(
        "The options of one start of [`{name_str}()`] in a child process; made by \
         `{name_str}::builder()` (generated by `#[process]`, which also documents why it is \
         named this way: refer to it only through `{name_str}::builder()`)."
    );
    let builder_spawn_doc = format!(
        "Starts [`{name_str}()`] in a new child process with these options, and returns its \
         handle (see `{name_str}::spawn`).\n\n\
         # Errors\n\
         `SpawnError` when the arguments cannot be serialized, when `{name_str}` is not in the \
         main executable under `Spawn` or `ForkServer`, or when the OS refuses to start a \
         process."
    );
    let struct_doc = format!(
        "Starts [`{name_str}()`] in child processes: `{name_str}::spawn(..)` with default \
         options, `{name_str}::builder()` to set the name, daemon flag or start method first \
         (generated by `#[process]`; `{name_str}` itself stays an ordinary function)."
    );
    Docs {
        spawn: spawn_doc,
        builder: builder_doc,
        builder_type: builder_type_doc,
        builder_spawn: builder_spawn_doc,
        unit: struct_doc,
    }
}
