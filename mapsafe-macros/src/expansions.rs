//! The committed expansions: what the macro generates for one record per feature, written out
//! so it can be read without tools, and checked here so it cannot go stale. Regenerate them
//! with `MAPSAFE_BLESS=1 cargo test -p mapsafe-macros expansions`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proc_macro2::TokenStream;

use crate::concurrent_map_impl;

/// One committed expansion.
struct Expansion {
    /// Relative to the workspace root.
    file: &'static str,
    /// What the file shows, completing "What `#[concurrent_map(...)]` generates for ...".
    shows: &'static str,
    args: &'static str,
    /// The struct as the user writes it, without the attribute.
    input: &'static str,
    /// Items the record needs, written before the expansion.
    before: &'static str,
    /// Code after the expansion (a `main` for the one that is an example).
    after: &'static str,
}

/// The record the examples and the docs start from.
pub(crate) const ORDER: &str = "\
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    #[key]
    pub id: u64,
    pub status: Status,
    pub updated_at: u64,
}
";

const STATUS: &str = "
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
";

const ORDERS_MAIN: &str = "
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
    let delivered = orders.update(&1, |order| {
        *order.status = Status::Delivered;
        *order.updated_at = 3;
    });
    assert!(delivered.is_some(), \"order 1 is present\");
    println!(\"{orders:?}: revision {revision} then {}\", orders.version());
    println!(\"{:?}\", orders.get(&1));
    println!(\"{}\", orders.verify_consistency().expect(\"consistent\"));
}
";

const EXPANSIONS: &[Expansion] = &[
    Expansion {
        file: "examples/orders-expanded.rs",
        shows: "a versioned `Order` record with 32 shards. It compiles and runs as it stands: \
                `cargo run --example orders-expanded`",
        args: "shards = 32, versioned",
        input: ORDER,
        before: STATUS,
        after: ORDERS_MAIN,
    },
    Expansion {
        file: "mapsafe-macros/expanded/plain.rs",
        shows: "a plain record with every argument left at its default",
        args: "",
        input: "\
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    #[key]
    pub token: u64,
    pub user: String,
}
",
        before: "",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/name.rs",
        shows: "a map named by `name = ...`",
        args: "name = Inventory",
        input: "\
#[derive(Clone, Debug)]
pub struct Item {
    #[key]
    pub sku: String,
    pub count: u32,
}
",
        before: "",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/hasher.rs",
        shows: "a map with its own hasher",
        args: "hasher = std::hash::RandomState",
        input: "\
#[derive(Clone, Debug)]
pub struct Word {
    #[key]
    pub word: String,
    pub count: u64,
}
",
        before: "",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/consistency_test.rs",
        shows: "a record with a generated consistency test",
        args: "consistency_test = make_account",
        input: "\
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    #[key]
    pub id: u64,
    pub balance: u64,
}
",
        before: "
fn make_account(key: u64, nonce: u64) -> Account {
    Account { id: key, balance: nonce }
}
",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/cfg_fields.rs",
        shows: "a record whose fields other than the key exist only in some builds",
        args: "",
        input: "\
#[derive(Clone, Debug)]
pub struct Probe {
    #[key]
    pub id: u32,
    #[cfg(feature = \"timing\")]
    pub nanos: u64,
    #[cfg(test)]
    pub label: String,
}
",
        before: "",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/generic.rs",
        shows: "a generic record: the map takes the same parameters",
        args: "",
        input: "\
#[derive(Clone, Debug)]
pub struct CacheEntry<V: Clone, const N: usize = 4>
where
    V: Default,
{
    #[key]
    pub id: u64,
    pub value: V,
    pub history: [u64; N],
}
",
        before: "",
        after: "",
    },
    Expansion {
        file: "mapsafe-macros/expanded/key_only.rs",
        shows: "a record that is nothing but its key",
        args: "",
        input: "\
#[derive(Clone, Debug)]
pub struct Seen {
    #[key]
    pub id: u64,
}
",
        before: "",
        after: "",
    },
];

impl Expansion {
    fn path(&self) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(self.file)
    }

    /// The file's text, formatted by the toolchain's `rustfmt`.
    fn render(&self) -> String {
        let args: TokenStream = self.args.parse().expect("expansion arguments are tokens");
        let input: TokenStream = self.input.parse().expect("expansion input is tokens");
        let generated = concurrent_map_impl(args, input);
        let attribute = if self.args.is_empty() {
            "#[concurrent_map]".to_string()
        } else {
            format!("#[concurrent_map({})]", self.args)
        };
        let written = format!("{attribute}\n{}", self.input);
        let quoted: String = written
            .lines()
            .map(|line| format!("//! {line}\n"))
            .collect();
        let header = format!(
            "{what}\n\
             //!\n//! ```ignore\n{quoted}//! ```\n//!\n\
             //! Generated by the test `committed_expansions_are_current` in\n\
             //! `mapsafe-macros/src/expansions.rs`, which fails when this file is stale. Do not \
             edit it by\n//! hand; regenerate it with `MAPSAFE_BLESS=1 cargo test -p mapsafe-macros \
             expansions`.\n//!\n\
             //! A note on the `for<'c> T: Trait` bounds: they hold for every valid record, and \
             written\n//! higher-ranked they are checked where the map is used instead of here. \
             A record that breaks one\n//! (a field that is not `Send`, a key that is not \
             `Hash`) is then reported once, by the\n//! assertions in the `const _` block at the \
             end, at the field the user wrote, instead of by every\n//! generated item.\n",
            what = wrap(
                "//! ",
                &format!(
                    "What `{attribute}` generates for {}. The input was:",
                    self.shows
                ),
            ),
        );
        let source = format!(
            "{header}{before}\n// ---- the expansion ----\n\n{generated}\n\n// ---- end of the expansion ----\n{after}",
            before = self.before,
            after = self.after,
        );
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
    wrap(&format!("{indent}/// "), &text)
}

/// `text` as comment lines that start with `prefix`, wrapped at 100 columns.
fn wrap(prefix: &str, text: &str) -> String {
    let width = 100 - prefix.len();
    let mut out = Vec::new();
    for paragraph in text.split('\n') {
        let mut current = String::new();
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !current.is_empty() && current.len() + 1 + word.len() > width {
                out.push(format!("{prefix}{current}"));
                current.clear();
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(format!("{prefix}{current}").trim_end().to_string());
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
fn committed_expansions_are_current() {
    let bless = std::env::var_os("MAPSAFE_BLESS").is_some();
    let mut stale = Vec::new();
    for expansion in EXPANSIONS {
        let expected = expansion.render();
        let path = expansion.path();
        if bless {
            std::fs::create_dir_all(path.parent().expect("a file in a folder"))
                .expect("create the expansion's folder");
            std::fs::write(&path, &expected).expect("write the expansion");
        } else if std::fs::read_to_string(&path).unwrap_or_default() != expected {
            stale.push(expansion.file);
        }
    }
    assert!(
        stale.is_empty(),
        "stale expansions: {stale:?}; regenerate them with \
         `MAPSAFE_BLESS=1 cargo test -p mapsafe-macros expansions`"
    );
}
