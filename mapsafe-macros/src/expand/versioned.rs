//! The versioned-only methods: `version`, `get_versioned`, `compare_and_swap` and
//! `compare_and_remove`.
//!
//! Every map has them, each behind the bound `Mode: VersionedOnly`, which only the versioned
//! mode meets: on a versioned map they forward to the engine; on a plain map they are hidden
//! from the docs, and calling one fails to compile with a message that says to add
//! `versioned`, instead of "no method named ...". A new versioned method is one more
//! `versioned_method` call below.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Context, clone_bound, lookup_bound};

pub(super) fn methods(cx: &Context) -> TokenStream {
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
    let version = cx.versioned_method(
        "version",
        "The latest revision issued; 0 for a new map.",
        "",
        quote! {
            #[inline]
            pub fn version(&self) -> u64
        },
        quote!(),
        quote!(version()),
    );
    let get_versioned = cx.versioned_method(
        "get_versioned",
        &format!(
            "A clone of the record with this key and the revision of its last write, or \
             `None`: pass that revision to [`compare_and_swap`](Self::compare_and_swap) to \
             write back only if nobody wrote in between. Needs `{record}: Clone`."
        ),
        "",
        quote! {
            #[track_caller]
            #[inline]
            pub fn get_versioned<#q>(&self, key: &#q) -> ::core::option::Option<#p::Versioned<#record_ty>>
        },
        quote!(#lookup, #clone,),
        quote!(get_versioned(key)),
    );
    let compare_and_swap = cx.versioned_method(
        "compare_and_swap",
        "Stores `record` only if its key's current revision is `expected` (0: the key must be \
         absent) and returns the write's new revision.",
        "\n\n# Errors\n\nA `Conflict` with the key's actual revision when it is not `expected`; \
         it hands `record` back.",
        quote! {
            #[must_use = "a `Conflict` means nothing was stored: it hands back your record to retry"]
            #[track_caller]
            #[inline]
            pub fn compare_and_swap(
                &self,
                expected: u64,
                record: #record_ty,
            ) -> ::core::result::Result<u64, #p::Conflict<#record_ty>>
        },
        quote!(),
        quote!(compare_and_swap(expected, record)),
    );
    let compare_and_remove = cx.versioned_method(
        "compare_and_remove",
        "Removes the record with this key only if its current revision is `expected`, and \
         returns it with the revision the removal takes.",
        "\n\n# Errors\n\nThe key's actual revision (0: absent) when it is not `expected`; \
         nothing is removed.",
        quote! {
            #[must_use = "`Err` means the key was not removed: it holds the key's actual revision"]
            #[track_caller]
            #[inline]
            pub fn compare_and_remove<#q>(
                &self,
                expected: u64,
                key: &#q,
            ) -> ::core::result::Result<#p::Versioned<#record_ty>, u64>
        },
        quote!(#lookup,),
        quote!(compare_and_remove(expected, key)),
    );
    quote! {
        #[allow(dead_code)]
        impl #impl_generics #map_ty
        where
            #gate
        {
            #version
            #get_versioned
            #compare_and_swap
            #compare_and_remove
        }
    }
}

impl Context<'_, '_> {
    /// One versioned-only method: its docs (`particular`, the link to the engine, `sections`),
    /// `signature` (attributes and everything up to the where-clause), its own `bounds`, and the
    /// engine `call` it forwards to.
    fn versioned_method(
        &self,
        method: &str,
        particular: &str,
        sections: &str,
        signature: TokenStream,
        bounds: TokenStream,
        call: TokenStream,
    ) -> TokenStream {
        let (p, mode_ty) = (&self.private, &self.mode_ty);
        let docs = self.method_doc_with(method, particular, sections);
        // A plain map documents none of them: they exist only to say what to change.
        let hidden = (!self.versioned()).then(|| quote!(#[doc(hidden)]));
        quote! {
            #docs
            #hidden
            #signature
            where
                #bounds
                for<'c> #mode_ty: #p::VersionedOnly,
            {
                <#mode_ty as #p::VersionedOnly>::versioned(&self.engine).#call
            }
        }
    }
}
