//! Code generation, one module per generated item: the record's `Record` impl (`record`), the
//! view `{Struct}Mut` (`view`), the map `{Struct}Map` (`map`) and its versioned methods
//! (`versioned`), the compile-time checks (`assertions`), the generated consistency test
//! (`consistency_test`) and the conversion and feature impls (`conversions`). The map is a thin typed shell: every method forwards to the engine,
//! whose docs carry the costs, panics and guarantees.
//!
//! Everything the generators share is derived once, in [`Context`].

mod assertions;
mod consistency_test;
mod conversions;
mod map;
mod record;
mod versioned;
mod view;

use proc_macro2::{Group, Ident, Literal, TokenStream, TokenTree};
use quote::{format_ident, quote};
use syn::GenericParam;

use crate::args::Args;
use crate::ast::{Field, Input};
use crate::valid;

/// Everything the macro generates beside the struct.
pub(crate) fn expand(args: &Args, input: &Input, key: &Field) -> TokenStream {
    let cx = Context::new(args, input, key);
    let view = view::view(&cx);
    let map = map::map(&cx);
    let versioned = versioned::methods(&cx);
    let conversions = conversions::conversions(&cx);
    let record = record::record_impl(&cx);
    let assertions = assertions::assertions(&cx);
    let consistency_test = consistency_test::consistency_test(&cx);
    quote! {
        #view
        #map
        #versioned
        #conversions
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
    /// The facade's hidden module (`::mapsafe::__private`, or under `crate = path`): the only
    /// way generated code names the runtime.
    private: TokenStream,
    /// The facade's path as doc links write it.
    docs: String,
    /// The record's name: the user's struct.
    record: &'c Ident,
    /// The record as a type: `Order`, or `CacheEntry<V>` for a generic record.
    record_ty: TokenStream,
    map: Ident,
    /// The map as a type, with the record's parameters.
    map_ty: TokenStream,
    view: Ident,
    /// The record's type and const parameters, as the generated items repeat them.
    params: Params,
    /// The key type as written, with `Self` replaced by the struct's name.
    key_ty: TokenStream,
    mode: Mode,
    /// `Plain` or `VersionedMode`, as the engine's type parameter.
    mode_ty: TokenStream,
    hasher: TokenStream,
    engine: TokenStream,
    shards: ShardCount,
    /// The where-clause of every item that names the engine: the record is a `Record` and the
    /// hasher fits. Written higher-ranked (`for<'c>`) so that the compiler checks it where the
    /// map is used rather than here: a record that breaks it is then reported once, by the
    /// assertions at the user's tokens, instead of by every generated item.
    gate: TokenStream,
    /// The methods' type parameters: `Q` (a borrowed key), `T` (a closure's result) and `E` (a
    /// transaction's error), unless the user's record or key type is itself called that.
    q: Ident,
    t: Ident,
    e: Ident,
}

impl<'c, 'a> Context<'c, 'a> {
    fn new(args: &'c Args, input: &'c Input<'a>, key: &'c Field<'a>) -> Self {
        let (p, docs) = match &args.krate {
            Some(krate) => {
                // Doc links resolve in the user's module, where a path without `::` does too.
                let docs = quote!(#krate).to_string().replace(' ', "");
                (
                    quote!(#krate::__private),
                    docs.trim_start_matches("::").to_string(),
                )
            }
            None => (quote!(::mapsafe::__private), "mapsafe".to_string()),
        };
        let record = input.ident;
        let mode = if args.versioned.is_some() {
            Mode::Versioned
        } else {
            Mode::Plain
        };
        let mode_ty = match mode {
            Mode::Versioned => quote!(#p::VersionedMode),
            Mode::Plain => quote!(#p::Plain),
        };
        let hasher = match &args.hasher {
            Some(ty) => quote!(#ty),
            None => quote!(#p::DefaultHasher),
        };
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
        let params = Params::new(input.generics, &p);
        let param_args = &params.args;
        let record_ty = if param_args.is_empty() {
            quote!(#record)
        } else {
            quote!(#record<#(#param_args),*>)
        };
        let map = valid::map_ident(args, input);
        let map_ty = if param_args.is_empty() {
            quote!(#map)
        } else {
            quote!(#map<#(#param_args),*>)
        };
        let engine = quote!(#p::ShardedMap<#record_ty, #mode_ty, #hasher>);
        let view = valid::mut_ident(record);
        let key_ty = replace_self(field_ty(key), &record_ty);
        let q = free_ident("Q", record, &key_ty, &params.names);
        let t = free_ident("T", record, &key_ty, &params.names);
        let e = free_ident("E", record, &key_ty, &params.names);
        let view_ty = quote!(#view<'c #(, #param_args)*>);
        // The engine sits behind a bound that the record is a `Record`, deferred as explained
        // above; its associated types are spelled out because inside the gated items the
        // compiler resolves them from this bound, not from the impl. A generic record's type
        // parameters come first with what the map needs of them, so that a use with an argument
        // that breaks it fails on that argument (rustc folds the `Record` bound's failure, which
        // has the same cause, into the same error).
        let (user_bounds, param_bounds) = (&params.where_predicates, &params.needs);
        let record_gate = quote! {
            #param_bounds
            for<'c> #record_ty: ::core::marker::Sized
                + #p::Record<Key = #key_ty, Mut<'c> = #view_ty>,
        };
        let gate = quote! {
            #user_bounds
            #record_gate
            #hasher_gate
        };
        Context {
            args,
            input,
            key,
            private: p,
            docs,
            record,
            record_ty,
            map,
            map_ty,
            view,
            params,
            key_ty,
            mode,
            mode_ty,
            hasher,
            engine,
            shards,
            gate,
            q,
            t,
            e,
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

    /// The view as a type with the lifetime `lifetime`: `OrderMut<'a>`, `CacheEntryMut<'a, V>`.
    fn view_ty(&self, lifetime: TokenStream) -> TokenStream {
        let (view, args) = (&self.view, &self.params.args);
        quote!(#view<#lifetime #(, #args)*>)
    }

    /// `<params>` for an impl (with `lifetime` first, if given), or nothing.
    fn impl_generics(&self, lifetime: Option<TokenStream>) -> TokenStream {
        let params = lifetime
            .into_iter()
            .chain(self.params.for_impl.iter().cloned());
        let params: Vec<TokenStream> = params.collect();
        if params.is_empty() {
            TokenStream::new()
        } else {
            quote!(<#(#params),*>)
        }
    }

    /// `<params>` as declared, for a generated struct, or nothing.
    fn struct_generics(&self) -> TokenStream {
        let params = &self.params.declared;
        if params.is_empty() {
            TokenStream::new()
        } else {
            quote!(<#(#params),*>)
        }
    }

    /// `true` if `ty` names one of the record's parameters, so it cannot be checked on its own.
    fn mentions_params(&self, ty: &TokenStream) -> bool {
        mentions(ty.clone(), &self.params.names)
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

/// The record's type and const parameters (never lifetimes, which the parser refuses), in each
/// form the generated items need.
struct Params {
    /// As declared, with bounds and defaults: `V: Clone = u8, const N: usize`.
    declared: Vec<TokenStream>,
    /// The same without defaults, which impls may not repeat.
    for_impl: Vec<TokenStream>,
    /// As arguments: `V`, `N`.
    args: Vec<TokenStream>,
    /// Their names, to tell which types mention them.
    names: Vec<Ident>,
    /// The record's where-clause predicates, each followed by a comma.
    where_predicates: TokenStream,
    /// What the map needs of each type parameter, which the user need not write:
    /// `V: RecordParam` (`Send + Sync + 'static`).
    needs: TokenStream,
}

impl Params {
    fn new(generics: &syn::Generics, p: &TokenStream) -> Self {
        let mut params = Params {
            declared: Vec::new(),
            for_impl: Vec::new(),
            args: Vec::new(),
            names: Vec::new(),
            where_predicates: TokenStream::new(),
            needs: TokenStream::new(),
        };
        for param in &generics.params {
            let (name, for_impl) = match param {
                GenericParam::Type(ty) => {
                    let (ident, colon, bounds) = (&ty.ident, &ty.colon_token, &ty.bounds);
                    params.needs.extend(quote!(#ident: #p::RecordParam,));
                    (ident, quote!(#ident #colon #bounds))
                }
                GenericParam::Const(konst) => {
                    let (ident, ty) = (&konst.ident, &konst.ty);
                    (ident, quote!(const #ident: #ty))
                }
                GenericParam::Lifetime(_) => continue,
            };
            params.declared.push(quote!(#param));
            params.for_impl.push(for_impl);
            params.args.push(quote!(#name));
            params.names.push(name.clone());
        }
        if let Some(where_clause) = &generics.where_clause {
            let predicates = where_clause.predicates.iter();
            params.where_predicates = quote!(#(#predicates,)*);
        }
        params
    }

    fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// `true` if `tokens` contain one of `names`.
fn mentions(tokens: TokenStream, names: &[Ident]) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => names.contains(&ident),
        TokenTree::Group(group) => mentions(group.stream(), names),
        _ => false,
    })
}

/// `name`, or `Mapsafe{name}` if the record, its parameters or the key type already use `name`.
fn free_ident(name: &str, record: &Ident, key_ty: &TokenStream, params: &[Ident]) -> Ident {
    let candidate = format_ident!("{}", name);
    let taken = record == name
        || params.contains(&candidate)
        || mentions(key_ty.clone(), std::slice::from_ref(&candidate));
    if taken {
        format_ident!("Mapsafe{}", name)
    } else {
        candidate
    }
}

fn field_ty(field: &Field) -> TokenStream {
    let ty = field.ty;
    quote!(#ty)
}

/// `Self` in a field type means the record; in the generated items it would mean something else.
fn replace_self(tokens: TokenStream, record_ty: &TokenStream) -> TokenStream {
    let mut out = TokenStream::new();
    for tt in tokens {
        match tt {
            TokenTree::Ident(ident) if ident == "Self" => {
                out.extend(record_ty.clone().into_iter().map(|mut tt| {
                    tt.set_span(ident.span());
                    tt
                }));
            }
            TokenTree::Group(group) => {
                let mut replaced =
                    Group::new(group.delimiter(), replace_self(group.stream(), record_ty));
                replaced.set_span(group.span());
                out.extend([TokenTree::Group(replaced)]);
            }
            other => out.extend([other]),
        }
    }
    out
}

fn doc(text: impl AsRef<str>) -> TokenStream {
    let text = text.as_ref();
    quote!(#[doc = #text])
}

/// `where predicates`, or nothing when there are none.
fn where_clause(predicates: &TokenStream) -> TokenStream {
    if predicates.is_empty() {
        TokenStream::new()
    } else {
        quote!(where #predicates)
    }
}

/// A where-clause item requiring the record to be `Clone`. The higher-ranked form defers the
/// check to the call, so the methods that need it simply do not exist for records that are not.
fn clone_bound(record_ty: &TokenStream) -> TokenStream {
    quote!(for<'c> #record_ty: ::core::clone::Clone)
}

/// The lookup bound of every by-key method: any `&Q` the key can be borrowed as.
fn lookup_bound(cx: &Context) -> TokenStream {
    let (key_ty, q) = (&cx.key_ty, &cx.q);
    quote!(#key_ty: ::core::borrow::Borrow<#q>, #q: ::core::hash::Hash + ::core::cmp::Eq + ?Sized)
}

/// [`lookup_bound`] for the methods whose panic messages name the key (`entry`,
/// `get_or_insert_with`, `transaction`): `Q` is `Debug` too.
fn named_lookup_bound(cx: &Context) -> TokenStream {
    let (lookup, q) = (lookup_bound(cx), &cx.q);
    quote!(#lookup, #q: ::core::fmt::Debug)
}
