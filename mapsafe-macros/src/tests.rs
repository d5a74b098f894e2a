//! Unit tests of the whole expansion on `proc_macro2` tokens, and the generator of
//! `examples/orders-expanded.rs`.

use std::path::Path;
use std::process::{Command, Stdio};

use proc_macro2::TokenStream;

use crate::concurrent_map_impl;

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

const ORDER: &str = "
    #[derive(Clone, Debug, PartialEq)]
    pub struct Order {
        #[key]
        pub id: u64,
        pub status: Status,
        pub updated_at: u64,
    }
";

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
fn plain_maps_have_no_versioned_methods() {
    let out = run("", ORDER);
    assert!(errors(&out).is_empty(), "{out}");
    assert!(out.contains(":: Plain"));
    for method in ["fn version", "fn get_versioned", "fn compare_and_swap"] {
        assert!(!out.contains(method), "{method} on a plain map");
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
    let generic = errors(&run("", "struct G<T> { #[key] a: T }"));
    assert!(
        generic[0].contains("does not support generic structs"),
        "{generic:?}"
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
}

// ---- examples/orders-expanded.rs ------------------------------------------------------------

const EXPANDED_HEADER: &str = "\
//! What `#[concurrent_map(shards = 32, versioned)]` generates for the `Order` record of the design
//! contract, written out so it can be read without tools. The input was:
//!
//! ```ignore
//! #[concurrent_map(shards = 32, versioned)]
//! #[derive(Clone, Debug, PartialEq)]
//! pub struct Order {
//!     #[key]
//!     pub id: u64,
//!     pub status: Status,
//!     pub updated_at: u64,
//! }
//! ```
//!
//! Generated by the test `orders_expanded_is_current` in `mapsafe-macros/src/tests.rs`, which
//! fails when this file is stale. Do not edit it by hand; regenerate it with
//! `MAPSAFE_BLESS=1 cargo test -p mapsafe-macros orders_expanded`.
//!
//! It compiles and runs as it stands: `cargo run --example orders-expanded`.
//!
//! A note on the `for<'c> T: Trait` bounds: they hold for every valid record, and written
//! higher-ranked they are checked where the map is used instead of here. A record that breaks one
//! (a field that is not `Send`, a key that is not `Hash`) is then reported once, by the
//! assertions in the `const _` block at the end, at the field the user wrote, instead of by every
//! generated item.

/// Where an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Accepted, not yet shipped.
    Placed,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
}

// ---- everything below up to `main` is the expansion ----
";

const EXPANDED_MAIN: &str = "
// ---- end of the expansion ----

fn main() {
    let orders = OrderMap::new();
    let _ = orders.insert(Order {
        id: 1,
        status: Status::Placed,
        updated_at: 1,
    });
    let seen = orders.get_versioned(&1).expect(\"just inserted\");
    let shipped = Order {
        status: Status::Shipped,
        updated_at: 2,
        ..seen.value
    };
    let revision = orders
        .compare_and_swap(seen.version, shipped)
        .expect(\"no other writer\");
    orders.update(&1, |order| {
        *order.status = Status::Delivered;
        *order.updated_at = 3;
    });
    println!(\"{orders:?}: revision {revision} then {}\", orders.version());
    println!(\"{:?}\", orders.get(&1));
    println!(\"{}\", orders.verify_consistency().expect(\"consistent\"));
}
";

/// The committed expansion of DESIGN.md's `Order`, formatted by the toolchain's `rustfmt`.
fn orders_expanded() -> String {
    let generated = run("shards = 32, versioned", ORDER);
    let source = format!("{EXPANDED_HEADER}\n{generated}\n{EXPANDED_MAIN}");
    let formatted = rustfmt(&source);
    let out: String = formatted.lines().map(doc_attr_to_comment).fold(
        String::with_capacity(formatted.len()),
        |mut out, line| {
            out.push_str(&line);
            out.push('\n');
            out
        },
    );
    let out = space_items(&out);
    // A second pass settles anything the rewrites changed.
    rustfmt(&out)
}

fn rustfmt(source: &str) -> String {
    let rustfmt = std::env::var("RUSTFMT").unwrap_or_else(|_| "rustfmt".to_string());
    let mut child = Command::new(rustfmt)
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("rustfmt runs (it ships with the toolchain)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let source = source.to_string();
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        stdin.write_all(source.as_bytes())
    });
    let output = child.wait_with_output().expect("rustfmt finishes");
    writer
        .join()
        .expect("writer thread")
        .expect("rustfmt reads its input");
    assert!(output.status.success(), "rustfmt failed");
    String::from_utf8(output.stdout).expect("rustfmt writes UTF-8")
}

/// `#[doc = " text"]` -> `/// text`, wrapped at 100 columns, so the generated docs read as
/// they would be written.
fn doc_attr_to_comment(line: &str) -> String {
    let trimmed = line.trim_start();
    let indent = &line[..line.len() - trimmed.len()];
    let text = if let Some(raw) = trimmed
        .strip_prefix("#[doc = r\"")
        .and_then(|rest| rest.strip_suffix("\"]"))
    {
        raw.to_string()
    } else if let Some(text) = trimmed
        .strip_prefix("#[doc = \"")
        .and_then(|rest| rest.strip_suffix("\"]"))
        .and_then(unescape)
    {
        text
    } else {
        return line.to_string();
    };
    let width = 100 - indent.len() - 4;
    let mut out = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !current.is_empty() && current.len() + 1 + word.len() > width {
                out.push(format!("{indent}/// {current}"));
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        if current.is_empty() {
            out.push(format!("{indent}///"));
        } else {
            out.push(format!("{indent}/// {current}"));
        }
    }
    out.join("\n")
}

/// A blank line after each item or method that closes with `}`, as a person would write it.
fn space_items(source: &str) -> String {
    let lines: Vec<&str> = source.lines().collect();
    let mut out = String::with_capacity(source.len() + lines.len());
    for (i, line) in lines.iter().enumerate() {
        out.push_str(line);
        out.push('\n');
        let closes = matches!(line.trim(), "}" | "};");
        let next = lines.get(i + 1).map_or("", |next| next.trim());
        if closes && !next.is_empty() && !next.starts_with('}') && !next.starts_with(')') {
            out.push('\n');
        }
    }
    out
}

/// The value of a string literal's body, for the escapes `quote` produces; `None` for others.
fn unescape(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next()? {
            'n' => out.push('\n'),
            '"' => out.push('"'),
            '\'' => out.push('\''),
            '\\' => out.push('\\'),
            _ => return None,
        }
    }
    Some(out)
}

#[test]
fn orders_expanded_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/orders-expanded.rs");
    let expected = orders_expanded();
    if std::env::var_os("MAPSAFE_BLESS").is_some() {
        std::fs::write(&path, &expected).expect("write examples/orders-expanded.rs");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "examples/orders-expanded.rs is stale: regenerate it with \
         `MAPSAFE_BLESS=1 cargo test -p mapsafe-macros orders_expanded`"
    );
}
