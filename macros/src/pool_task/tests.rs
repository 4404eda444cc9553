use quote::quote;

use super::{RULES, expand};
use crate::signature;

fn errors(item: proc_macro2::TokenStream) -> Vec<String> {
    signature::errors_of(&RULES, item)
}

#[test]
fn a_plain_function_is_valid() {
    assert!(
        errors(quote!(
            fn f(a: u32, b: String) -> Vec<u8> {
                vec![]
            }
        ))
        .is_empty()
    );
}

#[test]
fn messages_name_the_pool_task_attribute_and_its_worker() {
    let errs = errors(quote!(
        async fn f<T>(x: &str) -> impl Sized {}
    ));
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(errs[0].starts_with("`#[pool_task]` functions cannot be `async`: a pool worker"));
    assert!(errs[1].contains("the worker must know"));
    assert!(errs[2].starts_with("`#[pool_task]` argument types must be owned"));
    assert!(errs[3].contains("the worker must know the concrete type"));
}

#[test]
fn more_than_eight_arguments_is_an_error_at_the_ninth() {
    let errs = errors(quote!(
        fn f(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8, g: u8, h: u8, i: u8) {}
    ));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("at most 8 arguments"), "{errs:?}");
}

#[test]
fn methods_are_refused() {
    let errs = errors(quote!(
        fn f(self) -> u8 {
            0
        }
    ));
    assert!(
        errs[0].contains("a worker process cannot receive `self`"),
        "{errs:?}"
    );
}

/// The expansion, pretty-printed; `MPROC_BLESS=1` rewrites the snapshot.
#[test]
fn expansion_snapshot() {
    let parsed = signature::parse(
        &RULES,
        &quote!(),
        quote!(
            pub fn add(a: u32, b: u32) -> u64 {
                0
            }
        ),
    );
    let file: syn::File = syn::parse2(expand::expand(&parsed.unwrap())).expect("expansion parses");
    let text = prettyplease::unparse(&file);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/pool_task/snapshots/add.rs"
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

/// The emitted function's signature, as text.
fn signature_of(item: proc_macro2::TokenStream) -> String {
    let parsed = signature::parse(&RULES, &quote!(), item).expect("parses");
    let file: syn::File = syn::parse2(expand::expand(&parsed)).expect("expansion parses");
    let syn::Item::Fn(f) = &file.items[0] else {
        panic!("the function comes first")
    };
    let sig = &f.sig;
    quote!(#sig).to_string()
}

#[test]
fn one_argument_is_kept_and_none_or_several_become_one_tuple() {
    assert_eq!(
        signature_of(quote!(
            fn f(x: u8) -> u8 {
                x
            }
        )),
        "fn f (x : u8) -> u8"
    );
    assert_eq!(
        signature_of(quote!(
            fn f() -> u8 {
                1
            }
        )),
        "fn f (() : ()) -> u8"
    );
    assert_eq!(
        signature_of(quote!(
            fn f(mut a: u8, (b, c): (u8, u8), _: String) {}
        )),
        "fn f ((mut a , (b , c) , _) : (u8 , (u8 , u8) , String))"
    );
}
