//! Code generation: the record impl, `{Struct}Mut`, `{Struct}Map` and the compile-time checks.
//! The map is a thin typed shell: every method forwards to `mapsafe_core::ShardedMap`.

use proc_macro2::{Group, Ident, Literal, Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use crate::args::Args;
use crate::ast::{Field, Input};
use crate::valid;

/// Everything the macro generates beside the struct.
pub(crate) fn expand(args: &Args, input: &Input, key: &Field) -> TokenStream {
    let cx = Context::new(args, input, key);
    let record_impl = record_impl(&cx);
    let mut_struct = mut_struct(&cx);
    let map_struct = map_struct(&cx);
    let map_methods = map_methods(&cx);
    let versioned_methods = versioned_methods(&cx);
    let assertions = assertions(&cx);
    let consistency_test = consistency_test(&cx);
    quote! {
        #mut_struct
        #map_struct
        #map_methods
        #versioned_methods
        #record_impl
        #assertions
        #consistency_test
    }
}

/// Names and types shared by the generators.
struct Context<'c, 'a> {
    args: &'c Args,
    input: &'c Input<'a>,
    key: &'c Field<'a>,
    /// The record type: the user's struct.
    record: &'c Ident,
    map: Ident,
    view: Ident,
    /// The key type as written, with `Self` replaced by the struct's name.
    key_ty: TokenStream,
    mode: TokenStream,
    hasher: TokenStream,
    engine: TokenStream,
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

/// The facade's hidden module: the only way generated code names the runtime.
fn private() -> TokenStream {
    quote!(::mapsafe::__private)
}

impl<'c, 'a> Context<'c, 'a> {
    fn new(args: &'c Args, input: &'c Input<'a>, key: &'c Field<'a>) -> Self {
        let p = private();
        let record = input.ident;
        let mode = if args.versioned.is_some() {
            quote!(#p::Revisioned)
        } else {
            quote!(#p::Plain)
        };
        let hasher = match &args.hasher {
            Some(ty) => quote!(#ty),
            None => quote!(#p::DefaultHasher),
        };
        let engine = quote!(#p::ShardedMap<#record, #mode, #hasher>);
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
            record,
            map: valid::map_ident(args, input),
            view,
            key_ty,
            mode,
            hasher,
            engine,
            gate,
            q,
            t,
        }
    }

    fn versioned(&self) -> bool {
        self.args.versioned.is_some()
    }

    /// The fields an update may change: all but the key.
    fn value_fields(&self) -> impl Iterator<Item = &Field<'a>> {
        self.input
            .fields
            .iter()
            .filter(|f| !std::ptr::eq(f.original, self.key.original))
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

/// `Record` for the struct: the key is the `#[key]` field, the view is `{Struct}Mut`.
fn record_impl(cx: &Context) -> TokenStream {
    let p = private();
    let Context {
        record,
        view,
        key_ty,
        ..
    } = cx;
    let key = cx.key.ident;
    // What `Record` demands, deferred like `Context::gate`.
    let record_gate = quote! {
        for<'c> #record: ::core::marker::Send + ::core::marker::Sync,
        for<'c> #key_ty: ::core::hash::Hash
            + ::core::cmp::Eq
            + ::core::clone::Clone
            + ::core::fmt::Debug
            + ::core::marker::Send
            + ::core::marker::Sync,
    };
    let fields = cx.value_fields().map(|field| {
        let (ident, cfgs) = (field.ident, &field.cfgs);
        quote!(#(#cfgs)* #ident: &mut self.#ident,)
    });
    let marker = view_marker_cfg(cx).map(|cfg| {
        quote! {
            #cfg
            _record: ::core::marker::PhantomData,
        }
    });
    quote! {
        impl #p::Record for #record
        where
            #record_gate
        {
            type Key = #key_ty;
            type Mut<'a> = #view<'a>;

            #[inline]
            fn key(&self) -> &Self::Key {
                &self.#key
            }

            #[inline]
            fn as_mut(&mut self) -> #view<'_> {
                #view { #(#fields)* #marker }
            }
        }
    }
}

/// When the view needs a marker field to hold its lifetime: `Some(cfg)` with the `#[cfg]` under
/// which no other field exists (empty: always), `None` if some field exists in every build.
/// Without it a view whose fields are all configured out would not use `'a` (E0392).
fn view_marker_cfg(cx: &Context) -> Option<TokenStream> {
    let mut present = Vec::new();
    for field in cx.value_fields() {
        if field.cfgs.is_empty() {
            return None;
        }
        let predicates = field.cfgs.iter().map(|cfg| match &cfg.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            // A malformed `#[cfg]` is rustc's to report; count it as always true here.
            _ => quote!(all()),
        });
        present.push(quote!(all(#(#predicates),*)));
    }
    Some(if present.is_empty() {
        TokenStream::new()
    } else {
        quote!(#[cfg(not(any(#(#present),*)))])
    })
}

/// `{Struct}Mut<'a>`: a `&'a mut` to every field but the key, with each field's visibility.
fn mut_struct(cx: &Context) -> TokenStream {
    let Context {
        record, view, map, ..
    } = cx;
    let vis = cx.input.vis;
    let struct_doc = doc(format!(
        "Mutable access to the fields of one [`{record}`] except its key `{key}`: what the \
         closure of [`{map}::update`] receives.\n\nThe key is not reachable from here, so an update can \
         never move a record to another key.",
        key = cx.key.ident,
    ));
    let fields = cx.value_fields().map(|field| {
        let (ident, cfgs, field_vis) = (field.ident, &field.cfgs, &field.original.vis);
        let ty = replace_self(field_ty(field), record);
        // The field's own docs say what it means; without any, say where it points.
        let own_docs: Vec<_> = field
            .original
            .attrs
            .iter()
            .filter(|attr| attr.path().is_ident("doc"))
            .collect();
        let field_doc = if own_docs.is_empty() {
            doc(format!("The record's `{ident}`."))
        } else {
            quote!(#(#own_docs)*)
        };
        quote! {
            #field_doc
            #(#cfgs)*
            #field_vis #ident: &'a mut #ty,
        }
    });
    let marker = view_marker_cfg(cx).map(|cfg| {
        quote! {
            // No field of this build holds the lifetime.
            #cfg
            _record: ::core::marker::PhantomData<&'a mut #record>,
        }
    });
    let name = view.to_string();
    quote! {
        #struct_doc
        #[allow(dead_code)] // The user decides which fields an update touches.
        #vis struct #view<'a> {
            #(#fields)*
            #marker
        }

        impl ::core::fmt::Debug for #view<'_> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name).finish_non_exhaustive()
            }
        }
    }
}

/// `{Struct}Map` with `Debug`, `Default` and the engine access the checker uses.
fn map_struct(cx: &Context) -> TokenStream {
    let p = private();
    let Context {
        record,
        map,
        mode,
        hasher,
        engine,
        gate,
        ..
    } = cx;
    let vis = cx.input.vis;
    let shards = match &cx.args.shards {
        Some(shards) => format!("{} shards", shards.value),
        None => "a shard count derived from the machine's parallelism".to_string(),
    };
    let revisions = if cx.versioned() {
        "\n\nVersioned: every write is stamped with the map's next revision, so reads can be \
         paired with [`compare_and_swap`](Self::compare_and_swap) to refuse lost updates."
    } else {
        ""
    };
    let struct_doc = doc(format!(
        "A sharded concurrent map of [`{record}`] records, keyed by their `{key}` field, with \
         {shards}.{revisions}\n\nEvery method takes `&self`: share the map with `Arc` or scoped \
         threads. No method returns a guard or a reference into the map; reads return owned \
         values or run a closure under the shard's lock. Calling the map from inside one of its \
         own `read`, `update` or `retain` closures panics instead of deadlocking.\n\nGenerated \
         by `#[mapsafe::concurrent_map]`.",
        key = cx.key.ident,
    ));
    let name = map.to_string();
    let version = cx
        .versioned()
        .then(|| quote!(.field("version", &self.version())));
    quote! {
        #struct_doc
        #[allow(dead_code)] // A private map need not use every method it is given.
        #vis struct #map
        where
            #gate
        {
            engine: #engine,
        }

        impl ::core::default::Default for #map
        where
            #gate
        {
            /// An empty map, as [`new`](Self::new).
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::core::fmt::Debug for #map
        where
            #gate
        {
            /// Shows the size and the shard count; takes no lock and prints no record.
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name)
                    .field("len", &self.len())
                    .field("shards", &self.shard_count())
                    #version
                    .finish_non_exhaustive()
            }
        }

        #[doc(hidden)]
        impl #p::AsEngine for #map
        where
            #gate
        {
            type Record = #record;
            type Mode = #mode;
            type Hasher = #hasher;

            #[inline]
            fn engine(&self) -> &#engine {
                &self.engine
            }
        }
    }
}

/// A where-clause item requiring the record to be `Clone`. The higher-ranked form defers the
/// check to the call, so the methods that need it simply do not exist for records that are not.
fn clone_bound(record: &Ident) -> TokenStream {
    quote!(for<'c> #record: ::core::clone::Clone)
}

/// The lookup bound of every by-key method: any `&Q` the key can be borrowed as.
fn lookup_bound(key_ty: &TokenStream, q: &Ident) -> TokenStream {
    quote!(#key_ty: ::core::borrow::Borrow<#q>, #q: ::core::hash::Hash + ::core::cmp::Eq + ?Sized)
}

/// The methods of every map.
fn map_methods(cx: &Context) -> TokenStream {
    let p = private();
    let Context {
        record,
        map,
        view,
        key_ty,
        mode,
        hasher,
        gate,
        ..
    } = cx;
    let clone = clone_bound(record);
    let (q, t) = (&cx.q, &cx.t);
    let lookup = lookup_bound(key_ty, q);
    let shards = match &cx.args.shards {
        Some(shards) => {
            let lit = Literal::usize_unsuffixed(shards.value);
            let lit = TokenTree::from({
                let mut lit = lit;
                lit.set_span(shards.lit.span());
                lit
            });
            quote!(#lit)
        }
        None => quote!(#p::default_shard_count()),
    };
    let shards_doc = match &cx.args.shards {
        Some(shards) => format!("{} shards (`shards = {}`)", shards.value, shards.value),
        None => "the default shard count (four per hardware thread, a power of two)".to_string(),
    };
    let new_doc = doc(format!(
        "An empty map with {shards_doc}. Allocates no table until the first insert."
    ));
    let with_capacity_doc = doc(format!(
        "An empty map with {shards_doc} and room for `capacity` records before any shard grows."
    ));
    let update_doc = doc(format!(
        "Atomically updates the record with this key in place and returns what `f` returns; \
         `None` if the key is absent.\n\n`f` receives [`{view}`]: a `&mut` to every field \
         except the key, under the shard's write lock, so no other write to this record can interleave \
         and the record can never move to another key.{stamp}\n\n# Panics\n\nIf `f` calls into \
         this map (that would deadlock), or if `f` panics; either way the lock is released and \
         the map stays consistent.",
        stamp = if cx.versioned() {
            " The write takes a fresh revision."
        } else {
            ""
        },
    ));
    let get_doc = doc(format!(
        "A clone of the record with this key, or `None`. Needs `{record}: Clone`."
    ));
    let read_doc = doc(
        "Runs `f` on the record with this key under the shard's read lock, without copying \
         it, and returns what `f` returns; `None` if the key is absent. Nothing borrowed from \
         the record can escape `f`.\n\n# Panics\n\nIf `f` calls into this map (that would \
         deadlock), or if `f` panics; the lock is released either way.",
    );
    let load_or_store_doc = doc(format!(
        "Atomic get-or-insert: stores `record` unless a record with its key is present.\n\n\
         Returns [`LoadOrStore::Stored`]({p_doc}::LoadOrStore::Stored) when it stored, or \
         [`LoadOrStore::Loaded`]({p_doc}::LoadOrStore::Loaded) with the present record and \
         yours, unstored. Needs `{record}: Clone`.",
        p_doc = "::mapsafe",
    ));
    let snapshot_doc = doc(format!(
        "An owned, point-in-time copy of the map: exactly the records it held at one instant \
         between this call's start and end, however many threads write meanwhile. Writers \
         stall for at most the copy of one shard. Needs `{record}: Clone`.{version}",
        version = if cx.versioned() {
            "\n\nIts `version()` says which instant: it holds exactly the effects of the writes \
             with revision ≤ `version()`."
        } else {
            ""
        },
    ));
    let write_stamp = if cx.versioned() {
        " Takes a fresh revision."
    } else {
        ""
    };
    let insert_doc = doc(format!(
        "Stores `record` under its key, replacing and returning any record with the same key \
         (an upsert).{write_stamp}"
    ));
    let remove_doc = doc(format!(
        "Removes the record with this key and returns it.{write_stamp}"
    ));
    let retain_doc = doc(format!(
        "Keeps only the records for which `f` returns `true`, one shard at a time (each shard \
         atomically).{}\n\n# Panics\n\nIf `f` calls into this map, or if `f` panics; every lock \
         is released either way.",
        if cx.versioned() {
            " Each removed record takes a fresh revision."
        } else {
            ""
        },
    ));
    let clear_doc = doc(format!(
        "Removes every record, one shard at a time.{}",
        if cx.versioned() {
            " Each removed record takes a fresh revision."
        } else {
            ""
        },
    ));
    quote! {
        #[allow(dead_code)]
        impl #map
        where
            #gate
        {
            #new_doc
            #[must_use]
            pub fn new() -> Self {
                Self::with_capacity(0)
            }

            #with_capacity_doc
            #[must_use]
            pub fn with_capacity(capacity: usize) -> Self {
                #map {
                    engine: #p::ShardedMap::with_shards_capacity_and_hasher(
                        #shards,
                        capacity,
                        <#hasher as ::core::default::Default>::default(),
                    ),
                }
            }

            /// The number of records. O(shards) and lock-free: while other threads write, it is
            /// the count at some recent moment.
            #[inline]
            pub fn len(&self) -> usize {
                self.engine.len()
            }

            /// `true` if the map holds no record (same caveat as [`len`](Self::len)).
            #[inline]
            pub fn is_empty(&self) -> bool {
                self.engine.is_empty()
            }

            /// The number of shards, fixed at construction.
            #[inline]
            pub fn shard_count(&self) -> usize {
                self.engine.shard_count()
            }

            /// `true` if a record with this key is present.
            #[track_caller]
            #[inline]
            pub fn contains_key<#q>(&self, key: &#q) -> bool
            where
                #lookup
            {
                self.engine.contains_key(key)
            }

            #get_doc
            #[track_caller]
            #[inline]
            pub fn get<#q>(&self, key: &#q) -> ::core::option::Option<#record>
            where
                #lookup,
                #clone,
            {
                self.engine.get(key)
            }

            #read_doc
            #[track_caller]
            #[inline]
            pub fn read<#q, #t>(
                &self,
                key: &#q,
                f: impl ::core::ops::FnOnce(&#record) -> #t,
            ) -> ::core::option::Option<#t>
            where
                #lookup
            {
                self.engine.read(key, f)
            }

            #insert_doc
            #[track_caller]
            #[inline]
            pub fn insert(&self, record: #record) -> ::core::option::Option<#record> {
                self.engine.insert(record)
            }

            #load_or_store_doc
            #[track_caller]
            #[inline]
            pub fn load_or_store(&self, record: #record) -> #p::LoadOrStore<#record>
            where
                #clone,
            {
                self.engine.load_or_store(record)
            }

            #update_doc
            #[track_caller]
            #[inline]
            pub fn update<#q, #t>(
                &self,
                key: &#q,
                f: impl ::core::ops::FnOnce(#view<'_>) -> #t,
            ) -> ::core::option::Option<#t>
            where
                #lookup
            {
                self.engine.update(key, f)
            }

            #remove_doc
            #[track_caller]
            #[inline]
            pub fn remove<#q>(&self, key: &#q) -> ::core::option::Option<#record>
            where
                #lookup
            {
                self.engine.remove(key)
            }

            #retain_doc
            #[track_caller]
            pub fn retain(&self, f: impl ::core::ops::FnMut(&#record) -> bool) {
                self.engine.retain(f);
            }

            #clear_doc
            #[track_caller]
            pub fn clear(&self) {
                self.engine.clear();
            }

            #snapshot_doc
            #[track_caller]
            pub fn snapshot(&self) -> #p::Snapshot<#record, #mode>
            where
                #clone,
            {
                self.engine.snapshot()
            }

            /// Checks the map's invariants over a consistent cut (safe while other threads
            /// write): every record sits in the shard its key hashes to and is the one a lookup
            /// by its key finds (so a key that changed after insertion is caught), `len()` adds
            /// up, and on a versioned map revisions are unique and not ahead of `version()`.
            ///
            /// `Ok` carries the entry count, the shard count and the shard-size range.
            ///
            /// # Errors
            ///
            /// A `ConsistencyError` naming every violated invariant with its shard and key.
            #[must_use = "the result says whether the map is consistent"]
            #[track_caller]
            pub fn verify_consistency(
                &self,
            ) -> ::core::result::Result<#p::ConsistencyReport, #p::ConsistencyError> {
                self.engine.verify_consistency()
            }
        }
    }
}

/// `version`, `get_versioned` and `compare_and_swap`: only on versioned maps, so calling them on
/// a plain map does not compile.
fn versioned_methods(cx: &Context) -> TokenStream {
    if !cx.versioned() {
        return TokenStream::new();
    }
    let p = private();
    let Context {
        record,
        map,
        key_ty,
        gate,
        ..
    } = cx;
    let clone = clone_bound(record);
    let q = &cx.q;
    let lookup = lookup_bound(key_ty, q);
    let get_versioned_doc = doc(format!(
        "A clone of the record with this key and the revision of its last write, or `None`. \
         Pass that revision to [`compare_and_swap`](Self::compare_and_swap) to write back only \
         if nobody wrote in between. Needs `{record}: Clone`."
    ));
    quote! {
        #[allow(dead_code)]
        impl #map
        where
            #gate
        {
            /// The latest revision issued; 0 for a new map. Revisions totally order all writes.
            #[inline]
            pub fn version(&self) -> u64 {
                self.engine.version()
            }

            #get_versioned_doc
            #[track_caller]
            #[inline]
            pub fn get_versioned<#q>(&self, key: &#q) -> ::core::option::Option<#p::Versioned<#record>>
            where
                #lookup,
                #clone,
            {
                self.engine.get_versioned(key)
            }

            /// Stores `record` only if its key's current revision is `expected` (0: the key must
            /// be absent) and returns the write's new revision. Otherwise nothing changes and
            /// the record comes back in a `Conflict` with the key's actual revision (0: absent):
            /// re-read with [`get_versioned`](Self::get_versioned), decide again and retry.
            ///
            /// # Errors
            ///
            /// A `Conflict` when the key's revision is not `expected`; it hands `record` back.
            #[must_use = "a `Conflict` means nothing was stored: it hands back your record to retry"]
            #[track_caller]
            #[inline]
            pub fn compare_and_swap(
                &self,
                expected: u64,
                record: #record,
            ) -> ::core::result::Result<u64, #p::Conflict<#record>> {
                self.engine.compare_and_swap(expected, record)
            }
        }
    }
}

/// Static checks, each spanned on the user's tokens so a failure points there with mapsafe's
/// message (see the `on_unimplemented` traits in the facade's `__private`).
fn assertions(cx: &Context) -> TokenStream {
    let p = private();
    let record = cx.record;
    let fields = cx.input.fields.iter().map(|field| {
        let ty = replace_self(field_ty(field), record);
        let cfgs = &field.cfgs;
        let span = field.ty.span();
        quote_spanned! {span=>
            #(#cfgs)*
            let _: fn() = #p::assert_field_sized::<#ty>;
            #(#cfgs)*
            let _: fn() = #p::assert_field_send::<#ty>;
            #(#cfgs)*
            let _: fn() = #p::assert_field_sync::<#ty>;
        }
    });
    let key_ty = &cx.key_ty;
    let key = quote_spanned!(cx.key.ty.span()=> let _: fn() = #p::assert_key::<#key_ty>;);
    let hasher = cx.args.hasher.as_ref().map(|ty| {
        let span = ty.span();
        let bounds = quote_spanned!(span=> let _: fn() = #p::assert_hasher::<#ty>;);
        let probe = quote_spanned! {span=>
            #p::assert_hasher_send_sync((&#p::HasherProbe::<#ty>::NEW).thread_safety());
        };
        quote! {
            #bounds
            let _ = || {
                // One of the two is picked, depending on the hasher.
                #[allow(unused_imports)]
                use #p::{NotThreadSafeHasher as _, ThreadSafeHasher as _};
                #probe
            };
        }
    });
    let make = cx.args.consistency_test.as_ref().map(|path| {
        let span = path.span();
        // The record named at the path, so a record the checker cannot handle is reported there.
        let mut record_here = record.clone();
        record_here.set_span(span);
        quote_spanned! {span=>
            #p::assert_checkable_record::<#record_here>();
            #p::assert_make_record::<#record, _>(&#path);
        }
    });
    quote! {
        const _: () = {
            #(#fields)*
            #key
            #hasher
            #make
        };
    }
}

/// `#[cfg(test)] fn {snake_struct}_map_consistency()`, with `consistency_test = path`.
fn consistency_test(cx: &Context) -> TokenStream {
    let Some(path) = &cx.args.consistency_test else {
        return TokenStream::new();
    };
    let p = private();
    let map = &cx.map;
    let name = format_ident!(
        "{}_map_consistency",
        snake_case(&cx.record.to_string()),
        span = Span::call_site()
    );
    let map_name = map.to_string();
    quote! {
        #[cfg(test)]
        #[test]
        fn #name() {
            #p::generated_consistency_test::<#map>(#map_name, #map::new, #path);
        }
    }
}

/// `OrderLine` -> `order_line`, `HTTPRequest` -> `http_request`.
pub(crate) fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(prev) if prev.is_lowercase() || prev.is_ascii_digit() => true,
                Some(_) => next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("OrderLine"), "order_line");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Line"), "order2_line");
        assert_eq!(snake_case("A"), "a");
    }
}
