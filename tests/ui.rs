//! The compile-time safety suite: every misuse of `#[concurrent_map]` and of the maps it
//! generates fails to compile with the message committed beside it, and the pass cases compile
//! (and run) clean. Regenerate the `.stderr` files with `TRYBUILD=overwrite cargo test --test ui`
//! and read the diff.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/fail/*.rs");
    cases.pass("tests/ui/pass/*.rs");
}
