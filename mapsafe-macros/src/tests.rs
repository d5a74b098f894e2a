//! Unit tests of the whole expansion on `proc_macro2` tokens.

use proc_macro2::TokenStream;

use crate::concurrent_map_impl;
use crate::expansions::ORDER;

fn run(args: &str, input: &str) -> String {
    let args: TokenStream = args.parse().expect("test arguments are tokens");
    let input: TokenStream = input.parse().expect("test input is tokens");
    concurrent_map_impl(args, input).to_string()
}

/// The `compile_error!` messages in an expansion.
fn errors(expansion: &str) -> Vec<String> {
    expansion
        .split("compile_error ! {")
        .skip(1)
        .map(|rest| {
            rest.split(" }")
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect()
}

#[test]
fn a_valid_struct_expands_without_errors() {
    let out = run("shards = 32, versioned", ORDER);
    assert!(errors(&out).is_empty(), "{out}");
    assert!(out.contains("pub struct OrderMap"));
    assert!(out.contains("pub struct OrderMut < 'a >"));
    assert!(out.contains("fn compare_and_swap"));
    assert!(
        !out.contains("# [key]"),
        "the helper attribute is stripped: {out}"
    );
}

#[test]
fn plain_maps_hide_their_versioned_methods_behind_an_unmet_bound() {
    let out = run("", ORDER);
    assert!(errors(&out).is_empty(), "{out}");
    assert!(out.contains(":: Plain"));
    let methods = [
        "version",
        "get_versioned",
        "compare_and_swap",
        "compare_and_remove",
    ];
    for method in methods {
        let attributes = method_attributes(&out, method);
        assert!(
            attributes.contains("# [doc (hidden)]"),
            "{method}: {attributes}"
        );
    }
    let bound =
        "for < 'c > :: mapsafe :: __private :: Plain : :: mapsafe :: __private :: VersionedOnly";
    assert_eq!(out.matches(bound).count(), methods.len(), "{out}");
    let out = run("versioned", ORDER);
    for method in methods {
        let attributes = method_attributes(&out, method);
        assert!(
            !attributes.contains("# [doc (hidden)]"),
            "{method}: {attributes}"
        );
    }
}

#[test]
fn every_bad_argument_is_reported_at_once() {
    let out = run(
        "shard = 32, shards = 24, shards = 8, versioned = true, name = \"X\", colour",
        ORDER,
    );
    let errors = errors(&out);
    assert_eq!(errors.len(), 5, "{errors:#?}");
    assert!(errors[0].contains("did you mean `shards`"));
    assert!(errors[1].contains("power of two, found 24: use 16 or 32"));
    assert!(errors[2].contains("`versioned` is a flag"));
    assert!(errors[3].contains("`name` must be an identifier"));
    assert!(errors[4].contains("unknown argument `colour` (accepted:"));
}

#[test]
fn shards_accepts_plain_and_usize_literals_only() {
    for ok in [
        "shards = 1",
        "shards = 32usize",
        "shards = 1_024",
        "shards = 0x10",
    ] {
        assert!(errors(&run(ok, ORDER)).is_empty(), "{ok}");
    }
    let cases = [
        (
            "shards = 8u8",
            "takes a plain integer, found the suffix `u8`",
        ),
        ("shards = 1025", "at most 1024, found 1025"),
        ("shards = 99999999999999999999999", "at most 1024"),
        ("shards = 3", "power of two, found 3: use 2 or 4"),
        ("shards = -1", "at least 1, found -1"),
        ("shards = \"32\"", "integer literal"),
        ("shards =", "needs a value"),
    ];
    for (arg, message) in cases {
        let errors = errors(&run(arg, ORDER));
        assert_eq!(errors.len(), 1, "{arg}: {errors:?}");
        assert!(errors[0].contains(message), "{arg}: {errors:?}");
    }
}

#[test]
fn errors_still_re_emit_the_struct_and_the_map() {
    let out = run("shards = 0", ORDER);
    assert_eq!(errors(&out).len(), 1);
    assert!(out.contains("pub struct Order {"));
    assert!(
        out.contains("pub struct OrderMap"),
        "a bad argument falls back to its default"
    );
    let out = run("", "struct NoKey { a: u8 }");
    assert_eq!(errors(&out).len(), 1);
    assert!(out.contains("struct NoKey { a : u8 }"));
}

#[test]
fn malformed_input_never_panics() {
    let inputs = [
        "",
        "fn f() {}",
        "struct",
        "enum E { A { #[key] a: u8 } }",
        "union U { #[key] a: u8 }",
        "struct T(#[key] u8);",
        "struct U;",
        "struct G<T> { #[key] a: T }",
        "struct G<'a, T: Clone = u8, const N: usize = 2> where T: Copy { #[key] a: [T; N] }",
        "struct K { #[key(x)] a: u8, #[key = 1] b: u8, #[key] #[key] c: u8 }",
        "struct C { #[cfg(x)] #[key] a: u8 }",
        "struct S { #[key] a: Box<Self>, b: Option<Box<Self>> }",
        "struct E {}",
        "struct r#type { #[key] r#match: u8, r#fn: Option<Box<Self>> }",
    ];
    let args = [
        "",
        "shards",
        "shards =",
        "shards = ,",
        "shards = 99999999999999999999999",
        "shards = 8u8",
        "shards = -1",
        "shards = N",
        "name",
        "name = Order",
        "name = OrderMut",
        "hasher = 1",
        "consistency_test = 1",
        ",,",
        "a::b = 1",
        "versioned(x)",
        "versioned versioned",
        "consistency_test = make",
    ];
    for input in inputs {
        for arg in args {
            let Ok(tokens) = arg.parse::<TokenStream>() else {
                continue;
            };
            let out = concurrent_map_impl(tokens, input.parse().unwrap());
            assert!(!out.is_empty() || input.is_empty(), "{arg} / {input}");
        }
    }
}

#[test]
fn misplaced_or_doubled_keys_are_errors() {
    let two = errors(&run("", "struct K { #[key] a: u8, #[key] b: u8 }"));
    assert_eq!(two.len(), 1);
    assert!(two[0].contains("exactly one `#[key]`"), "{two:?}");
    let args = errors(&run("", "struct K { #[key(x)] a: u8 }"));
    assert!(args[0].contains("`#[key]` takes no arguments"), "{args:?}");
    let cfg = errors(&run("", "struct K { #[cfg(x)] #[key] a: u8 }"));
    assert!(cfg[0].contains("cannot be under `#[cfg(...)]`"), "{cfg:?}");
    let borrowing = errors(&run("", "struct G<'a> { #[key] a: &'a str }"));
    assert!(
        borrowing[0].contains("cannot have lifetime parameters"),
        "{borrowing:?}"
    );
}

#[test]
fn packed_records_are_refused_at_packed() {
    for repr in ["packed", "packed(2)", "C, packed"] {
        let out = run(
            "",
            &format!("#[repr({repr})] struct P {{ #[key] id: u64, n: u8 }}"),
        );
        let errors = errors(&out);
        assert_eq!(errors.len(), 1, "{repr}: {errors:?}");
        assert!(
            errors[0].contains("cannot be `#[repr(packed)]`"),
            "{errors:?}"
        );
        assert!(!out.contains("struct PMap"), "{out}");
    }
    assert!(errors(&run("", "#[repr(C)] struct P { #[key] id: u64 }")).is_empty());
}

#[test]
fn the_view_keeps_its_lifetime_when_every_field_is_configured_out() {
    let out = run(
        "",
        "struct C { #[key] id: u8, #[cfg(a)] x: u8, #[cfg(b)] #[cfg(c)] y: u8 }",
    );
    assert!(
        out.contains(
            "# [cfg (not (any (all (a) , all (b , c))))] _record : :: core :: marker :: PhantomData"
        ),
        "{out}"
    );
    let out = run("", "struct C { #[key] id: u8, #[cfg(a)] x: u8, y: u8 }");
    assert!(
        !out.contains("_record"),
        "a field in every build holds it: {out}"
    );
}

/// The attributes written right before `pub fn {method}` in an expansion.
fn method_attributes<'e>(expansion: &'e str, method: &str) -> &'e str {
    let at = expansion
        .find(&format!("pub fn {method} "))
        .unwrap_or_else(|| panic!("no method `{method}` in {expansion}"));
    let before = &expansion[..at];
    let start = before.rfind(['}', ';']).map_or(0, |i| i + 1);
    &before[start..]
}

#[test]
fn every_method_that_can_panic_reports_the_callers_line() {
    let out = run("versioned", ORDER);
    for method in [
        "contains_key",
        "get",
        "read",
        "insert",
        "load_or_store",
        "update",
        "remove",
        "retain",
        "clear",
        "snapshot",
        "verify_consistency",
        "get_versioned",
        "compare_and_swap",
    ] {
        let attributes = method_attributes(&out, method);
        assert!(
            attributes.contains("# [track_caller]"),
            "{method}: {attributes}"
        );
    }
    // Lock-free, so they cannot meet the re-entrancy panic.
    for method in ["len", "is_empty", "shard_count", "version"] {
        let attributes = method_attributes(&out, method);
        assert!(
            !attributes.contains("track_caller"),
            "{method}: {attributes}"
        );
    }
}

#[test]
fn view_fields_carry_the_fields_own_docs() {
    let out = run(
        "",
        "struct D { #[key] id: u8, /// How many.\n count: u8, plain: u8 }",
    );
    assert!(
        out.contains("# [doc = \" How many.\"] count : & 'a mut u8"),
        "{out}"
    );
    assert!(out.contains("The record's `plain`."), "{out}");
}

#[test]
fn self_in_field_types_means_the_record() {
    let out = run("", "struct Node { #[key] id: u8, next: Option<Box<Self>> }");
    assert!(errors(&out).is_empty(), "{out}");
    assert!(
        out.contains("next : & 'a mut Option < Box < Node > >"),
        "{out}"
    );
}

#[test]
fn method_type_parameters_avoid_the_users_names() {
    let out = run("", "struct T { #[key] id: Q, n: u8 }");
    assert!(errors(&out).is_empty(), "{out}");
    assert!(out.contains("fn read < MapsafeQ , MapsafeT >"), "{out}");
    let out = run("", ORDER);
    assert!(out.contains("fn read < Q , T >"), "{out}");
    let out = run("", "struct G<Q, T> { #[key] id: u8, q: Q, t: T }");
    assert!(errors(&out).is_empty(), "{out}");
    assert!(out.contains("fn read < MapsafeQ , MapsafeT >"), "{out}");
}

#[test]
fn crate_names_the_facade_in_every_path_and_link() {
    for arg in ["crate = renamed", "crate = \"renamed\""] {
        let out = run(&format!("{arg}, versioned"), ORDER);
        assert!(errors(&out).is_empty(), "{out}");
        assert!(out.contains("renamed :: __private :: ShardedMap"), "{out}");
        assert!(out.contains("(renamed::ShardedMap::update)"), "{out}");
        assert!(!out.contains("mapsafe ::"), "{arg}: {out}");
    }
    let bad = errors(&run("crate = 1", ORDER));
    assert!(bad[0].contains("`crate` must be the path"), "{bad:?}");
}

#[test]
fn a_generic_record_gives_a_map_with_the_same_parameters() {
    let out = run(
        "",
        "struct C<V: Clone = u8, const N: usize = 2> where V: Default { #[key] id: u8, v: [V; N] }",
    );
    assert!(errors(&out).is_empty(), "{out}");
    for expected in [
        "struct CMap < V : Clone = u8 , const N : usize = 2 >",
        "impl < V : Clone , const N : usize > CMap < V , N >",
        "impl < V : Clone , const N : usize > :: mapsafe :: __private :: Record for C < V , N >",
        "type Mut < 'a > = CMut < 'a , V , N >",
        "V : :: mapsafe :: __private :: RecordParam ,",
        "where V : Default ,",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
    // `[V; N]` names the parameters, so it is checked through the map's bounds, not here.
    assert!(!out.contains("assert_field_send :: < [V ; N] >"), "{out}");
}
