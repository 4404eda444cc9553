use proc_macro2::TokenStream;
use quote::quote;

use super::{expand, parse, validate};

fn errors(item: TokenStream) -> Vec<String> {
    let parsed = parse::parse(&TokenStream::new(), item).expect("parses");
    match validate::validate(&parsed) {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_plain_block_is_valid() {
    let errs = errors(quote!(
        impl Counter {
            pub fn new(start: u64) -> Self {
                Self(start)
            }
            pub fn add(&mut self, by: u64) -> u64 {
                self.0 += by;
                self.0
            }
            pub fn get(&self) -> u64 {
                self.0
            }
            fn private(self) -> u64 {
                self.0
            }
        }
    ));
    assert!(errs.is_empty(), "{errs:?}");
}

#[test]
fn every_unsupported_method_shape_is_reported_at_once() {
    let errs = errors(quote!(
        impl Counter {
            pub async fn a(&self) {}
            pub fn b<T>(&self, x: T) {}
            pub fn c(self) {}
            pub fn d(&self) -> &str {
                ""
            }
            pub fn e(&self, x: &[u8]) {}
            pub unsafe fn f(&self) {}
        }
    ));
    assert_eq!(errs.len(), 6, "{errs:#?}");
    assert!(errs[0].contains("cannot be `async`"));
    assert!(errs[1].contains("cannot have type parameters"));
    assert!(errs[2].contains("take `&self` or `&mut self`"));
    assert!(errs[3].contains("cannot return references"));
    assert!(errs[4].contains("argument types must be owned"));
    assert!(errs[5].contains("cannot be `unsafe`"));
}

#[test]
fn generic_and_trait_blocks_are_refused() {
    let errs = errors(quote!(
        impl<T> Display for Wrapper {}
    ));
    assert_eq!(errs.len(), 2, "{errs:#?}");
    assert!(errs[0].contains("not to a trait implementation"));
    assert!(errs[1].contains("cannot be generic"));
}

#[test]
fn generic_arguments_on_the_type_are_a_parse_error() {
    let e = parse::parse(&TokenStream::new(), quote!(impl Wrapper<u8> {}))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("without generic arguments"));
    let e = parse::parse(&quote!(x), quote!(impl T {}))
        .err()
        .expect("refused");
    assert!(e.to_string().contains("takes no arguments"));
    let e = parse::parse(
        &TokenStream::new(),
        quote!(
            fn f() {}
        ),
    )
    .err()
    .expect("refused");
    assert!(e.to_string().contains("`impl` block"));
}

#[test]
fn a_constructor_must_return_self() {
    let errs = errors(quote!(
        impl Counter {
            pub fn new() -> Option<Self> {
                None
            }
        }
    ));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("must return `Self`"), "{errs:?}");
}

/// The expansion, pretty-printed; `MPROC_BLESS=1` rewrites the snapshot.
#[test]
fn expansion_snapshot() {
    let parsed = parse::parse(
        &TokenStream::new(),
        quote!(
            impl Counter {
                pub fn new(start: u64, step: u64) -> Self {
                    Self { n: start, step }
                }
                /// Adds.
                pub fn add(&mut self, by: u64) -> u64 {
                    self.n += by * self.step;
                    self.n
                }
                pub fn merged(&self, others: Vec<Self>) -> Self {
                    Self { n: self.n, step: self.step }
                }
            }
        ),
    )
    .unwrap();
    let file: syn::File = syn::parse2(expand::expand(&parsed)).expect("expansion parses");
    let text = prettyplease::unparse(&file);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/managed/snapshots/counter.rs"
    );
    if std::env::var_os("MPROC_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap_or_default();
    assert_eq!(
        text, expected,
        "expansion changed (MPROC_BLESS=1 to accept); new text:\n{text}"
    );
}
