//! `version`, `get_versioned` and `compare_and_swap`: only on versioned maps, so calling them on
//! a plain map does not compile.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Context, clone_bound, lookup_bound};

pub(super) fn methods(cx: &Context) -> TokenStream {
    if !cx.versioned() {
        return TokenStream::new();
    }
    let Context {
        private: p,
        record,
        record_ty,
        map_ty,
        gate,
        q,
        ..
    } = cx;
    let impl_generics = cx.impl_generics(None);
    let clone = clone_bound(record_ty);
    let lookup = lookup_bound(cx);
    let version_doc = cx.method_doc("version", "The latest revision issued; 0 for a new map.");
    let get_versioned_doc = cx.method_doc(
        "get_versioned",
        format!(
            "A clone of the record with this key and the revision of its last write, or \
             `None`: pass that revision to [`compare_and_swap`](Self::compare_and_swap) to \
             write back only if nobody wrote in between. Needs `{record}: Clone`."
        ),
    );
    let compare_and_swap_doc = cx.method_doc_with(
        "compare_and_swap",
        "Stores `record` only if its key's current revision is `expected` (0: the key must be \
         absent) and returns the write's new revision.",
        "\n\n# Errors\n\nA `Conflict` with the key's actual revision when it is not \
         `expected`; it hands `record` back.",
    );
    quote! {
        #[allow(dead_code)]
        impl #impl_generics #map_ty
        where
            #gate
        {
            #version_doc
            #[inline]
            pub fn version(&self) -> u64 {
                self.engine.version()
            }

            #get_versioned_doc
            #[track_caller]
            #[inline]
            pub fn get_versioned<#q>(&self, key: &#q) -> ::core::option::Option<#p::Versioned<#record_ty>>
            where
                #lookup,
                #clone,
            {
                self.engine.get_versioned(key)
            }

            #compare_and_swap_doc
            #[must_use = "a `Conflict` means nothing was stored: it hands back your record to retry"]
            #[track_caller]
            #[inline]
            pub fn compare_and_swap(
                &self,
                expected: u64,
                record: #record_ty,
            ) -> ::core::result::Result<u64, #p::Conflict<#record_ty>> {
                self.engine.compare_and_swap(expected, record)
            }
        }
    }
}
