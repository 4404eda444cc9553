//! Compile-time behaviour of the macros: what must compile (and run), and the exact message
//! each mistake gets. `TRYBUILD=overwrite cargo test -p ui-tests` rewrites the `.stderr` files.
//!
//! trybuild runs `cargo build` when the run includes a pass case and `cargo check` otherwise;
//! `fail/pool_task/capturing-closure.rs` fails only under `build` (a post-monomorphization
//! error), so filter runs (`-- ui trybuild=NAME`) should keep a pass case in.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/fail/process/*.rs");
    t.compile_fail("tests/fail/pool_task/*.rs");
    t.compile_fail("tests/fail/topology/*.rs");
    t.compile_fail("tests/fail/shm_safe/*.rs");
    t.compile_fail("tests/fail/managed/*.rs");
    t.pass("tests/pass/*.rs");
    t.pass("tests/pass/topology/*.rs");
}
