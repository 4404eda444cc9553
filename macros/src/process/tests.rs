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
fn every_problem_is_reported_at_once() {
    let errs = errors(quote!(
        async unsafe fn f<T>(x: &str, y: impl Clone) -> impl Sized {}
    ));
    assert_eq!(errs.len(), 6, "{errs:#?}");
    assert!(errs[0].contains("cannot be `async`"));
    assert!(errs[1].contains("cannot be `unsafe`"));
    assert!(errs[2].contains("type parameters"));
    assert!(errs[3].contains("must be owned"));
    assert!(errs[4].contains("argument types cannot be `impl Trait`"));
    assert!(errs[5].contains("return types cannot be `impl Trait`"));
}

#[test]
fn borrowed_and_impl_types_are_refused_wherever_nested() {
    let errs = errors(quote!(
        fn f(a: Vec<&str>, b: Cow<'_, str>, c: Option<Vec<impl Clone>>) -> Box<dyn Fn(&u8)> {}
    ));
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(errs[0].contains("must be owned"));
    assert!(errs[1].contains("must be `'static`"));
    assert!(errs[2].contains("argument types cannot be `impl Trait`"));
}

#[test]
fn a_lifetime_parameter_is_reported_once() {
    let errs = errors(quote!(
        fn f<'a>(a: Cow<'a, str>) -> Cow<'a, str> {}
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert!(errs[0].contains("lifetime parameters"));
}

#[test]
fn static_lifetimes_are_accepted() {
    assert!(
        errors(quote!(
            fn f(a: Cow<'static, str>) -> Vec<Cow<'static, [u8]>> {
                vec![]
            }
        ))
        .is_empty()
    );
}

#[test]
fn at_most_sixteen_arguments() {
    let args = (0..17).map(|i| quote::format_ident!("a{i}"));
    let seventeen = errors(quote!(fn f(#(#args: u8),*) {}));
    assert_eq!(seventeen.len(), 1, "{seventeen:#?}");
    assert!(seventeen[0].contains("at most 16 arguments"));
    let args = (0..16).map(|i| quote::format_ident!("a{i}"));
    assert!(errors(quote!(fn f(#(#args: u8),*) {})).is_empty());
}

#[test]
fn methods_are_refused() {
    let errs = errors(quote!(
        fn f(&self, x: u32) {}
    ));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("cannot be used on a method"));
}

#[test]
fn the_attribute_takes_no_arguments() {
    let err = signature::parse(
        &RULES,
        &quote!(name = "x"),
        quote!(
            fn f() {}
        ),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("takes no arguments"));
}

#[test]
fn only_functions_are_accepted() {
    let err = signature::parse(
        &RULES,
        &quote!(),
        quote!(
            struct S;
        ),
    )
    .err()
    .unwrap();
    assert!(
        err.to_string()
            .contains("can only be applied to a function")
    );
}

#[test]
fn on_error_the_function_is_still_emitted() {
    let out = super::expand(
        &quote!(),
        quote!(
            fn f<T>(t: T) {}
        ),
    )
    .to_string();
    assert!(out.contains("fn f"), "{out}");
    assert!(out.contains("compile_error"), "{out}");
}

#[test]
fn pattern_arguments_get_generated_names() {
    let parsed = signature::parse(
        &RULES,
        &quote!(),
        quote!(
            fn f((a, b): (u8, u8), mut c: u8) {}
        ),
    )
    .unwrap();
    let names: Vec<String> = parsed.args.iter().map(|a| a.ident.to_string()).collect();
    assert_eq!(names, ["__arg0", "c"]);
}

/// The expansion of a representative function, pretty-printed; set `MPROC_BLESS=1` to rewrite.
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
    )
    .unwrap();
    let file: syn::File = syn::parse2(expand::expand(&parsed)).expect("expansion parses");
    let text = prettyplease::unparse(&file);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/process/snapshots/add.rs");
    if std::env::var_os("MPROC_BLESS").is_some() {
        std::fs::write(path, &text).unwrap();
    }
    let expected = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        text, expected,
        "expansion changed (MPROC_BLESS=1 to accept); new text:\n{text}"
    );
}
