//! The attribute arguments: `#[concurrent_map(shards = 32, versioned, name = ..., hasher = ...,
//! consistency_test = ..., crate = ...)]`. Every argument keeps its span so later errors can point at it.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitInt, LitStr, Path, Token, Type};

use crate::ctxt::Ctxt;

/// The largest shard count, as in `mapsafe_core::MAX_SHARDS` (the macro cannot depend on the
/// runtime crate; `tests/generated_map.rs` checks that the two agree).
pub(crate) const MAX_SHARDS: u64 = 1024;

/// `shards = N`.
pub(crate) const SHARDS: &str = "shards";
/// `versioned`.
pub(crate) const VERSIONED: &str = "versioned";
/// `name = Ident`.
pub(crate) const NAME: &str = "name";
/// `hasher = Path`.
pub(crate) const HASHER: &str = "hasher";
/// `consistency_test = path`.
pub(crate) const CONSISTENCY_TEST: &str = "consistency_test";
/// `crate = path`.
pub(crate) const CRATE: &str = "crate";

/// The accepted argument names, in the order the documentation lists them.
pub(crate) const ACCEPTED: &[&str] = &[SHARDS, VERSIONED, NAME, HASHER, CONSISTENCY_TEST, CRATE];

/// The parsed arguments. Anything absent takes its documented default.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) shards: Option<Shards>,
    pub(crate) versioned: Option<Span>,
    pub(crate) name: Option<Ident>,
    pub(crate) hasher: Option<Type>,
    pub(crate) consistency_test: Option<Path>,
    /// The path of the facade, where a crate re-exports or renames mapsafe.
    pub(crate) krate: Option<Path>,
}

/// `shards = N`, already checked to be a power of two in `1..=1024`.
pub(crate) struct Shards {
    pub(crate) value: usize,
    pub(crate) lit: LitInt,
}

impl Args {
    /// Parses the arguments, recording every error in `cx` and carrying on past it, so the user
    /// sees all bad arguments at once.
    pub(crate) fn parse(cx: &Ctxt, tokens: TokenStream) -> Args {
        let mut args = Args::default();
        let parser = syn::meta::parser(|meta| {
            args.parse_one(cx, &meta);
            Ok(())
        });
        if let Err(err) = parser.parse2(tokens) {
            cx.push(err);
        }
        args
    }

    fn parse_one(&mut self, cx: &Ctxt, meta: &ParseNestedMeta) {
        let Some(ident) = meta.path.get_ident() else {
            cx.error(&meta.path, unknown_message(&path_to_string(&meta.path)));
            skip_value(meta.input);
            return;
        };
        let name = ident.to_string();
        let duplicate = match name.as_str() {
            SHARDS => self.shards.is_some(),
            VERSIONED => self.versioned.is_some(),
            NAME => self.name.is_some(),
            HASHER => self.hasher.is_some(),
            CONSISTENCY_TEST => self.consistency_test.is_some(),
            CRATE => self.krate.is_some(),
            _ => {
                cx.error(ident, unknown_message(&name));
                skip_value(meta.input);
                return;
            }
        };
        if duplicate {
            cx.error(ident, format!("duplicate argument `{name}`: give it once"));
            skip_value(meta.input);
            return;
        }
        match name.as_str() {
            VERSIONED => {
                if !at_end(meta.input) {
                    let value = skip_value(meta.input);
                    cx.error(
                        &value,
                        "`versioned` is a flag and takes no value: write `versioned`, or leave \
                         it out for a plain map",
                    );
                }
                self.versioned = Some(ident.span());
            }
            SHARDS => {
                if let Some(value) = value_tokens(cx, meta, SHARDS, "32") {
                    self.shards = parse_shards(cx, value);
                }
            }
            NAME => {
                if let Some(value) = value_tokens(cx, meta, NAME, "OrderStore") {
                    match syn::parse2::<Ident>(value.clone()) {
                        Ok(ident) => self.name = Some(ident),
                        Err(_) => cx.error(
                            &value,
                            format!(
                                "`name` must be an identifier, found `{value}`: write e.g. \
                                 `name = OrderStore`"
                            ),
                        ),
                    }
                }
            }
            HASHER => {
                if let Some(value) = value_tokens(cx, meta, HASHER, "std::hash::RandomState") {
                    match syn::parse2::<Type>(value.clone()) {
                        Ok(ty @ Type::Path(_)) => self.hasher = Some(ty),
                        _ => cx.error(
                            &value,
                            format!(
                                "`hasher` must be the path of a `BuildHasher` type, found `{value}`: \
                                 write e.g. `hasher = std::hash::RandomState`"
                            ),
                        ),
                    }
                }
            }
            CONSISTENCY_TEST => {
                if let Some(value) = value_tokens(cx, meta, CONSISTENCY_TEST, "make_order") {
                    match syn::parse2::<Path>(value.clone()) {
                        Ok(path) => self.consistency_test = Some(path),
                        Err(_) => cx.error(
                            &value,
                            format!(
                                "`consistency_test` must name a function \
                                 `fn(key: u64, nonce: u64) -> Record` by its path, found \
                                 `{value}`: write e.g. `consistency_test = make_record`"
                            ),
                        ),
                    }
                }
            }
            CRATE => {
                if let Some(value) = value_tokens(cx, meta, CRATE, "::my_crate::mapsafe") {
                    // serde's `crate = "..."` spelling is accepted too.
                    let path = match syn::parse2::<LitStr>(value.clone()) {
                        Ok(lit) => lit.parse::<Path>(),
                        Err(_) => syn::parse2::<Path>(value.clone()),
                    };
                    match path {
                        Ok(path) => self.krate = Some(path),
                        Err(_) => cx.error(
                            &value,
                            format!(
                                "`crate` must be the path mapsafe is reachable under, found \
                                 `{value}`: write e.g. `crate = ::my_crate::mapsafe`"
                            ),
                        ),
                    }
                }
            }
            // Unknown names were reported above.
            _ => {}
        }
    }
}

fn parse_shards(cx: &Ctxt, value: TokenStream) -> Option<Shards> {
    let lit = match syn::parse2::<LitInt>(value.clone()) {
        Ok(lit) => lit,
        Err(_) => {
            cx.error(
                &value,
                format!(
                    "`shards` must be an integer literal, found `{value}`: write e.g. \
                     `shards = 32`"
                ),
            );
            return None;
        }
    };
    if !matches!(lit.suffix(), "" | "usize") {
        cx.error(
            &lit,
            format!(
                "`shards` takes a plain integer, found the suffix `{}`: write `shards = {}`",
                lit.suffix(),
                lit.base10_digits()
            ),
        );
        return None;
    }
    let Ok(n) = lit.base10_parse::<u64>() else {
        // Either negative (syn reads `-1` as one literal) or too large for any shard count.
        let digits = lit.base10_digits();
        let bound = if digits.starts_with('-') {
            "at least 1".to_string()
        } else {
            format!("at most {MAX_SHARDS}")
        };
        cx.error(&lit, format!("`shards` must be {bound}, found {digits}"));
        return None;
    };
    let message = if n == 0 {
        "`shards` must be at least 1, found 0".to_string()
    } else if n > MAX_SHARDS {
        format!("`shards` must be at most {MAX_SHARDS}, found {n}")
    } else if !n.is_power_of_two() {
        let (below, above) = (1_u64 << n.ilog2(), n.next_power_of_two());
        format!("`shards` must be a power of two, found {n}: use {below} or {above}")
    } else {
        return Some(Shards {
            value: n as usize,
            lit,
        });
    };
    cx.error(&lit, message);
    None
}

/// The tokens after `name =`, or an error (and `None`) if there is no `=` or no value.
fn value_tokens(
    cx: &Ctxt,
    meta: &ParseNestedMeta,
    name: &str,
    example: &str,
) -> Option<TokenStream> {
    let missing = || format!("`{name}` needs a value: write `{name} = {example}`");
    if meta.input.peek(Token![=]) {
        let eq: Token![=] = match meta.input.parse() {
            Ok(eq) => eq,
            Err(err) => {
                cx.push(err);
                return None;
            }
        };
        let value = skip_value(meta.input);
        if value.is_empty() {
            cx.error(eq, missing());
            return None;
        }
        Some(value)
    } else {
        let value = skip_value(meta.input);
        if value.is_empty() {
            cx.error(&meta.path, missing());
        } else {
            cx.error(&value, missing());
        }
        None
    }
}

/// Consumes everything up to the next top-level `,` (or the end) and returns it.
fn skip_value(input: ParseStream) -> TokenStream {
    input
        .step(|cursor| {
            let mut rest = *cursor;
            let mut taken = TokenStream::new();
            while let Some((tt, next)) = rest.token_tree() {
                if matches!(&tt, TokenTree::Punct(p) if p.as_char() == ',') {
                    break;
                }
                taken.extend([tt]);
                rest = next;
            }
            Ok((taken, rest))
        })
        .unwrap_or_default()
}

fn at_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,])
}

fn path_to_string(path: &Path) -> String {
    let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    segments.join("::")
}

fn unknown_message(found: &str) -> String {
    let accepted = ACCEPTED
        .iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ");
    match did_you_mean(found) {
        Some(near) => {
            format!("unknown argument `{found}`: did you mean `{near}`? (accepted: {accepted})")
        }
        None => format!("unknown argument `{found}` (accepted: {accepted})"),
    }
}

/// The accepted argument nearest to `found`, if it is near enough to be a typo.
pub(crate) fn did_you_mean(found: &str) -> Option<&'static str> {
    let found = found.to_ascii_lowercase();
    ACCEPTED
        .iter()
        .map(|name| (edit_distance(&found, name), *name))
        .filter(|(distance, name)| *distance <= (name.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, name)| name)
}

/// Levenshtein distance (insertions, deletions and substitutions each cost 1).
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_single_edits() {
        assert_eq!(edit_distance("shards", "shards"), 0);
        assert_eq!(edit_distance("shard", "shards"), 1);
        assert_eq!(edit_distance("sharsd", "shards"), 2);
        assert_eq!(edit_distance("", "name"), 4);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn did_you_mean_suggests_near_misses_only() {
        assert_eq!(did_you_mean("shard"), Some("shards"));
        assert_eq!(did_you_mean("version"), Some("versioned"));
        assert_eq!(did_you_mean("Versioned"), Some("versioned"));
        assert_eq!(did_you_mean("hash"), Some("hasher"));
        assert_eq!(did_you_mean("shard_count"), None);
        assert_eq!(did_you_mean("hashers"), Some("hasher"));
        assert_eq!(did_you_mean("consistency_tests"), Some("consistency_test"));
        assert_eq!(did_you_mean("capacity"), None);
    }

    #[test]
    fn span_helpers_do_not_panic_on_empty_input() {
        let cx = Ctxt::new();
        let args = Args::parse(&cx, TokenStream::new());
        assert!(args.shards.is_none() && cx.finish().is_ok());
    }
}
