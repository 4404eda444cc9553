//! Compile-time behaviour of the macros: what must compile (and run), and the exact message
//! each mistake gets. `TRYBUILD=overwrite cargo test -p ui-tests` rewrites the `.stderr` files.
//!
//! trybuild runs `cargo build` when the run includes a pass case and `cargo check` otherwise;
//! every fail case here fails under `cargo check` (none is a post-monomorphization error).

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
