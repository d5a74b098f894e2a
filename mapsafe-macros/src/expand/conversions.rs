//! The trait impls that build, copy and consume a map: `Clone`, `FromIterator`, `Extend`,
//! `IntoIterator`, and behind the facade's features serde's `Serialize`/`Deserialize` and
//! rayon's `FromParallelIterator`/`ParallelExtend`. Each forwards to the engine's impl; the ones
//! that build a map start from the map's `new`, so they keep its shard count and hasher.
//!
//! The feature-gated impls are wrapped in the facade's `if_serde!`/`if_rayon!`, which expand
//! them only when the facade's feature is on: a `#[cfg(feature = ...)]` here would test the
//! user's crate's features instead.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Context, clone_bound, doc};

pub(super) fn conversions(cx: &Context) -> TokenStream {
    let std = std_impls(cx);
    let serde = serde_impls(cx);
    let rayon = rayon_impls(cx);
    quote! {
        #std
        #serde
        #rayon
    }
}

fn std_impls(cx: &Context) -> TokenStream {
    let Context {
        private: p,
        record_ty,
        map_ty,
        mode_ty,
        gate,
        ..
    } = cx;
    let impl_generics = cx.impl_generics(None);
    let clone = clone_bound(record_ty);
    let clone_doc = doc(format!(
        "A point-in-time copy with the same shard count and hasher{}, as {}'s `Clone`, which \
         documents its cost and panics.",
        cx.if_versioned(" (and the same revisions and `version()`)"),
        cx.link("ShardedMap"),
    ));
    let extend = extend_impls(
        cx,
        gate,
        &quote!(::core::iter::Extend),
        &quote!(extend),
        &quote!(::core::iter::IntoIterator),
        [
            "Inserts every record, as `insert` does.",
            "Inserts every record through a shared reference, so a map behind an `Arc` can be \
             bulk-loaded.",
        ],
    );
    quote! {
        impl #impl_generics ::core::clone::Clone for #map_ty
        where
            #gate
            #clone,
        {
            #clone_doc
            #[track_caller]
            fn clone(&self) -> Self {
                Self {
                    engine: ::core::clone::Clone::clone(&self.engine),
                }
            }
        }

        impl #impl_generics ::core::iter::FromIterator<#record_ty> for #map_ty
        where
            #gate
        {
            /// Collects records into a new map with this map's shard count and hasher; a later
            /// record replaces an earlier one with the same key, as `insert` does.
            #[track_caller]
            fn from_iter<__I>(records: __I) -> Self
            where
                __I: ::core::iter::IntoIterator<Item = #record_ty>,
            {
                let map = Self::new();
                ::core::iter::Extend::extend(&mut &map.engine, records);
                map
            }
        }

        #extend

        impl #impl_generics ::core::iter::IntoIterator for #map_ty
        where
            #gate
        {
            type Item = #record_ty;
            type IntoIter = #p::IntoIter<#record_ty, #mode_ty>;

            /// Consumes the map, yielding its records in no particular order.
            fn into_iter(self) -> Self::IntoIter {
                ::core::iter::IntoIterator::into_iter(self.engine)
            }
        }
    }
}

fn serde_impls(cx: &Context) -> TokenStream {
    let Context {
        private: p,
        record_ty,
        map_ty,
        gate,
        ..
    } = cx;
    let impl_generics = cx.impl_generics(None);
    let de_generics = cx.impl_generics(Some(quote!('de)));
    let serde = quote!(#p::serde);
    let clone = clone_bound(record_ty);
    quote! {
        #p::if_serde! {
            impl #impl_generics #serde::Serialize for #map_ty
            where
                #gate
                #clone,
                for<'c> #record_ty: #serde::Serialize,
            {
                /// Serializes the records as a sequence, taken in one point-in-time pass (a
                /// snapshot).
                fn serialize<__S>(
                    &self,
                    serializer: __S,
                ) -> ::core::result::Result<__S::Ok, __S::Error>
                where
                    __S: #serde::Serializer,
                {
                    #serde::Serialize::serialize(&self.engine, serializer)
                }
            }

            impl #de_generics #serde::Deserialize<'de> for #map_ty
            where
                #gate
                for<'c> #record_ty: #serde::Deserialize<'de>,
            {
                /// Reads a sequence of records into a new map (with this map's shard count and
                /// hasher); a key seen twice is an error naming it. A versioned map gets fresh
                /// revisions, in input order.
                fn deserialize<__D>(deserializer: __D) -> ::core::result::Result<Self, __D::Error>
                where
                    __D: #serde::Deserializer<'de>,
                {
                    let map = Self::new();
                    #serde::de::DeserializeSeed::deserialize(&map.engine, deserializer)?;
                    ::core::result::Result::Ok(map)
                }
            }
        }
    }
}

fn rayon_impls(cx: &Context) -> TokenStream {
    let Context {
        private: p,
        record_ty,
        map_ty,
        hasher,
        gate,
        ..
    } = cx;
    let impl_generics = cx.impl_generics(None);
    let iter = quote!(#p::rayon::iter);
    // rayon's threads share the hasher; the assertions report a hasher that is not `Sync` at
    // the user's `hasher = ...`, so here the bound is deferred like the gate.
    let bound = quote! {
        #gate
        for<'c> #hasher: ::core::marker::Sync,
    };
    let par_extend = extend_impls(
        cx,
        &bound,
        &quote!(#iter::ParallelExtend),
        &quote!(par_extend),
        &quote!(#iter::IntoParallelIterator),
        [
            "Inserts every record from every rayon thread, as `insert` does.",
            "Inserts every record from every rayon thread through a shared reference.",
        ],
    );
    quote! {
        #p::if_rayon! {
            impl #impl_generics #iter::FromParallelIterator<#record_ty> for #map_ty
            where
                #bound
            {
                /// Collects records from a parallel iterator, inserting from every rayon thread.
                fn from_par_iter<__I>(records: __I) -> Self
                where
                    __I: #iter::IntoParallelIterator<Item = #record_ty>,
                {
                    let map = Self::new();
                    #iter::ParallelExtend::par_extend(&mut &map.engine, records);
                    map
                }
            }

            #par_extend
        }
    }
}

/// `Extend`-like impls (`trait_` with its `method` taking an `into_iter` of records) for the map
/// and for a shared reference to it, both forwarding to the engine's impl for a shared
/// reference; `docs` are their methods' docs, in that order.
fn extend_impls(
    cx: &Context,
    bounds: &TokenStream,
    trait_: &TokenStream,
    method: &TokenStream,
    into_iter: &TokenStream,
    docs: [&str; 2],
) -> TokenStream {
    let (record_ty, map_ty) = (&cx.record_ty, &cx.map_ty);
    let impl_generics = cx.impl_generics(None);
    let impls = [quote!(#map_ty), quote!(&#map_ty)]
        .into_iter()
        .zip(docs)
        .map(|(self_ty, text)| {
            let docs = doc(text);
            quote! {
                impl #impl_generics #trait_<#record_ty> for #self_ty
                where
                    #bounds
                {
                    #docs
                    #[track_caller]
                    fn #method<__I>(&mut self, records: __I)
                    where
                        __I: #into_iter<Item = #record_ty>,
                    {
                        #trait_::#method(&mut &self.engine, records);
                    }
                }
            }
        });
    quote!(#(#impls)*)
}
