//! Code generation, one module per generated item: the record's `Record` impl (`record`), the
//! view `{Struct}Mut` (`view`), the map `{Struct}Map` (`map`) and its versioned methods
//! (`versioned`), the compile-time checks (`assertions`) and the generated consistency test
//! (`consistency_test`). The map is a thin typed shell: every method forwards to the engine,
//! whose docs carry the costs, panics and guarantees.
//!
//! Everything the generators share is derived once, in [`Context`].

mod assertions;
mod consistency_test;
mod map;
mod record;
mod versioned;
mod view;

use proc_macro2::{Group, Ident, Literal, TokenStream, TokenTree};
use quote::{format_ident, quote};

use crate::args::Args;
use crate::ast::{Field, Input};
use crate::valid;

/// Everything the macro generates beside the struct.
pub(crate) fn expand(args: &Args, input: &Input, key: &Field) -> TokenStream {
    let cx = Context::new(args, input, key);
    let view = view::view(&cx);
    let map = map::map(&cx);
    let versioned = versioned::methods(&cx);
    let record = record::record_impl(&cx);
    let assertions = assertions::assertions(&cx);
    let consistency_test = consistency_test::consistency_test(&cx);
    quote! {
        #view
        #map
        #versioned
        #record
        #assertions
        #consistency_test
    }
}

/// Whether the map stamps its writes (`versioned`) or not.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Plain,
    Versioned,
}

/// The shard count every constructor passes to the engine, and how its docs say it.
struct ShardCount {
    /// A literal spanned on the user's `shards = N`, or the runtime's default.
    expr: TokenStream,
    /// "32 shards (`shards = 32`)", or a link to the default.
    doc: String,
}

/// Names, types and facts shared by the generators, each derived once.
struct Context<'c, 'a> {
    args: &'c Args,
    input: &'c Input<'a>,
    key: &'c Field<'a>,
    /// The facade's hidden module: the only way generated code names the runtime.
    private: TokenStream,
    /// The facade's path as doc links write it.
    docs: String,
    /// The record type: the user's struct.
    record: &'c Ident,
    map: Ident,
    view: Ident,
    /// The key type as written, with `Self` replaced by the struct's name.
    key_ty: TokenStream,
    mode: Mode,
    /// `Plain` or `Revisioned`, as the engine's type parameter.
    mode_ty: TokenStream,
    hasher: TokenStream,
    engine: TokenStream,
    shards: ShardCount,
    /// The where-clause of every item that names the engine: the record is a `Record` and the
    /// hasher fits. Written higher-ranked (`for<'c>`) so that the compiler checks it where the
    /// map is used rather than here: a record that breaks it is then reported once, by the
    /// assertions at the user's tokens, instead of by every generated item.
    gate: TokenStream,
    /// The methods' type parameters: `Q` (a borrowed key) and `T` (a closure's result), unless
    /// the user's record or key type is itself called that.
    q: Ident,
    t: Ident,
}

impl<'c, 'a> Context<'c, 'a> {
    fn new(args: &'c Args, input: &'c Input<'a>, key: &'c Field<'a>) -> Self {
        let p = quote!(::mapsafe::__private);
        let docs = "mapsafe".to_string();
        let record = input.ident;
        let mode = if args.versioned.is_some() {
            Mode::Versioned
        } else {
            Mode::Plain
        };
        let mode_ty = match mode {
            Mode::Versioned => quote!(#p::Revisioned),
            Mode::Plain => quote!(#p::Plain),
        };
        let hasher = match &args.hasher {
            Some(ty) => quote!(#ty),
            None => quote!(#p::DefaultHasher),
        };
        let engine = quote!(#p::ShardedMap<#record, #mode_ty, #hasher>);
        let shards = match &args.shards {
            Some(shards) => {
                let mut lit = Literal::usize_unsuffixed(shards.value);
                lit.set_span(shards.lit.span());
                ShardCount {
                    expr: TokenTree::from(lit).into(),
                    doc: format!("{n} shards (`shards = {n}`)", n = shards.value),
                }
            }
            None => ShardCount {
                expr: quote!(#p::default_shard_count()),
                doc: format!("the [default shard count]({docs}::default_shard_count)"),
            },
        };
        let hasher_gate = args.hasher.as_ref().map(|ty| {
            quote!(for<'c> #ty: ::core::hash::BuildHasher + ::core::default::Default + ::core::clone::Clone,)
        });
        let view = valid::mut_ident(record);
        let key_ty = replace_self(field_ty(key), record);
        let q = free_ident("Q", record, &key_ty);
        let t = free_ident("T", record, &key_ty);
        // The associated types are spelled out: inside the gated items the compiler resolves
        // them from this bound, not from the impl.
        let gate = quote! {
            for<'c> #record: ::core::marker::Sized + #p::Record<Key = #key_ty, Mut<'c> = #view<'c>>,
            #hasher_gate
        };
        Context {
            args,
            input,
            key,
            private: p,
            docs,
            record,
            map: valid::map_ident(args, input),
            view,
            key_ty,
            mode,
            mode_ty,
            hasher,
            engine,
            shards,
            gate,
            q,
            t,
        }
    }

    fn versioned(&self) -> bool {
        self.mode == Mode::Versioned
    }

    /// `text` on versioned maps, nothing on plain ones.
    fn if_versioned(&self, text: &'static str) -> &'static str {
        if self.versioned() { text } else { "" }
    }

    /// The fields an update may change: all but the key.
    fn value_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.input
            .fields
            .iter()
            .filter(|f| !std::ptr::eq(f.original, self.key.original))
    }

    /// A doc link to an item of the facade, e.g. `ShardedMap::update`.
    fn link(&self, item: &str) -> String {
        format!("[`{item}`]({}::{item})", self.docs)
    }

    /// The docs of a method that forwards to the engine's method of the same name: what is
    /// particular to this map, then where the rest is documented.
    fn method_doc(&self, method: &str, particular: impl AsRef<str>) -> TokenStream {
        self.method_doc_with(method, particular, "")
    }

    /// [`method_doc`](Self::method_doc) followed by `sections` (`# Errors`, `# Note`).
    fn method_doc_with(
        &self,
        method: &str,
        particular: impl AsRef<str>,
        sections: &str,
    ) -> TokenStream {
        doc(format!(
            "{}\n\nAs {}, which documents its cost, panics and guarantees.{sections}",
            particular.as_ref(),
            self.link(&format!("ShardedMap::{method}")),
        ))
    }
}

/// `name`, or `Mapsafe{name}` if the record or the key type already uses `name`.
fn free_ident(name: &str, record: &Ident, key_ty: &TokenStream) -> Ident {
    fn uses(tokens: TokenStream, name: &str) -> bool {
        tokens.into_iter().any(|tt| match tt {
            TokenTree::Ident(ident) => ident == name,
            TokenTree::Group(group) => uses(group.stream(), name),
            _ => false,
        })
    }
    if record == name || uses(key_ty.clone(), name) {
        format_ident!("Mapsafe{}", name)
    } else {
        format_ident!("{}", name)
    }
}

fn field_ty(field: &Field) -> TokenStream {
    let ty = field.ty;
    quote!(#ty)
}

/// `Self` in a field type means the record; in the generated items it would mean something else.
fn replace_self(tokens: TokenStream, record: &Ident) -> TokenStream {
    tokens
        .into_iter()
        .map(|tt| match tt {
            TokenTree::Ident(ident) if ident == "Self" => {
                let mut record = record.clone();
                record.set_span(ident.span());
                TokenTree::Ident(record)
            }
            TokenTree::Group(group) => {
                let mut replaced =
                    Group::new(group.delimiter(), replace_self(group.stream(), record));
                replaced.set_span(group.span());
                TokenTree::Group(replaced)
            }
            other => other,
        })
        .collect()
}

fn doc(text: impl AsRef<str>) -> TokenStream {
    let text = text.as_ref();
    quote!(#[doc = #text])
}

/// A where-clause item requiring the record to be `Clone`. The higher-ranked form defers the
/// check to the call, so the methods that need it simply do not exist for records that are not.
fn clone_bound(record: &Ident) -> TokenStream {
    quote!(for<'c> #record: ::core::clone::Clone)
}

/// The lookup bound of every by-key method: any `&Q` the key can be borrowed as.
fn lookup_bound(cx: &Context) -> TokenStream {
    let (key_ty, q) = (&cx.key_ty, &cx.q);
    quote!(#key_ty: ::core::borrow::Borrow<#q>, #q: ::core::hash::Hash + ::core::cmp::Eq + ?Sized)
}
