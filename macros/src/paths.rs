//! The one place that spells the runtime paths generated code uses.

use proc_macro2::TokenStream;
use quote::quote;

/// `::mproc::__private`: everything generated code calls goes through here.
pub(crate) fn private() -> TokenStream {
    quote!(::mproc::__private)
}

/// `::mproc::__private::topology`: the runtime side of `process!`.
pub(crate) fn topology() -> TokenStream {
    quote!(::mproc::__private::topology)
}

/// `::mproc::__private::manager`: what `#[managed]` expansions call.
pub(crate) fn manager() -> TokenStream {
    quote!(::mproc::__private::manager)
}
