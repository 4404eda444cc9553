use quote::quote;

use super::{derive, parse, validate};

fn errors(item: proc_macro2::TokenStream) -> Vec<String> {
    let parsed = parse::parse(item).expect("parses");
    match validate::validate(&parsed) {
        Ok(()) => Vec::new(),
        Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
    }
}

#[test]
fn a_repr_c_struct_of_plain_fields_is_accepted() {
    assert!(
        errors(quote!(
            #[repr(C)]
            struct Point {
                x: f64,
                y: f64,
                tag: [u8; 4],
            }
        ))
        .is_empty()
    );
    assert!(
        errors(quote!(
            #[repr(C, align(16))]
            struct Wrapped<T>(T, u32);
        ))
        .is_empty()
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let errs = errors(quote!(
        struct Bad<'a> {
            name: &'a str,
            raw: *const u8,
        }
    ));
    assert_eq!(errs.len(), 4, "{errs:#?}");
    assert!(errs[0].contains("a reference cannot live in shared memory"));
    assert!(errs[1].contains("a pointer cannot live in shared memory"));
    assert!(errs[2].contains("add `#[repr(C)]`"));
    assert!(errs[3].contains("lifetime parameters are not allowed"));
}

#[test]
fn types_not_valid_for_every_bit_pattern_are_refused_at_their_token() {
    let errs = errors(quote!(
        #[repr(C)]
        struct Bad {
            alive: bool,
            letter: char,
            flags: [bool; 4],
            pair: (u32, ::core::primitive::char),
            run: fn(u32) -> bool,
        }
    ));
    assert_eq!(errs.len(), 5, "{errs:#?}");
    assert!(errs[0].starts_with("`bool` is not valid for every bit pattern"));
    assert!(errs[0].contains("use `mproc::ShmBool`"));
    assert!(errs[1].starts_with("`char` is not valid for every bit pattern"));
    assert!(errs[2].starts_with("`bool` is not valid"));
    assert!(errs[3].starts_with("`char` is not valid"));
    // The function pointer is reported once, not again for the `bool` it returns.
    assert!(errs[4].starts_with("a function pointer cannot live in shared memory"));
}

#[test]
fn paths_that_only_end_in_bool_are_left_to_the_trait_bound() {
    // A path that merely ends in `bool` (a user's `flags::bool`) is not the primitive: the
    // trait bound judges it. A `bool` among generic arguments (`Wrapper<bool>`) is refused.
    assert!(
        errors(quote!(
            #[repr(C)]
            struct Fine {
                a: flags::bool,
                b: std::primitive::u8,
            }
        ))
        .is_empty()
    );
    let errs = errors(quote!(
        #[repr(C)]
        struct Wrapped {
            a: Wrapper<bool>,
        }
    ));
    assert_eq!(errs.len(), 1, "{errs:#?}");
}

#[test]
fn enums_and_unions_are_refused() {
    let errs = errors(quote!(
        #[repr(u8)]
        enum E {
            A,
        }
    ));
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("cannot be derived for an enum"));
    let errs = errors(quote!(
        #[repr(C)]
        union U {
            a: u32,
        }
    ));
    assert!(errs[0].contains("cannot be derived for a union"));
}

#[test]
fn the_expansion_checks_each_field_and_bounds_type_parameters() {
    let out = derive(quote!(
        #[repr(C)]
        struct P<T> {
            a: T,
            b: u64,
        }
    ))
    .to_string();
    assert!(out.contains("__mproc_assert_shm_safe :: < T >"), "{out}");
    assert!(out.contains("__mproc_assert_shm_safe :: < u64 >"), "{out}");
    assert!(
        out.contains("unsafe impl < T : :: mproc :: __private :: ShmSafe >"),
        "{out}"
    );
}

#[test]
fn bad_input_gives_errors_not_a_panic() {
    let out = derive(quote!(
        fn not_a_type() {}
    ))
    .to_string();
    assert!(out.contains("compile_error"), "{out}");
}
