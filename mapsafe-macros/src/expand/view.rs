//! `{Struct}Mut<'a>`: a `&'a mut` to every field but the key, with each field's visibility.

use proc_macro2::TokenStream;
use quote::quote;

use super::{Context, doc, field_ty, replace_self, where_clause};

pub(super) fn view(cx: &Context) -> TokenStream {
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
        let ty = replace_self(field_ty(field), &cx.record_ty);
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
    let record_ty = &cx.record_ty;
    let marker = marker_cfg(cx).map(|cfg| {
        quote! {
            // No field of this build holds the lifetime (or every parameter).
            #cfg
            _record: ::core::marker::PhantomData<&'a mut #record_ty>,
        }
    });
    let name = view.to_string();
    let params = &cx.params.declared;
    let bounds = where_clause(&cx.params.where_predicates);
    let impl_generics = cx.impl_generics(None);
    let view_ty = cx.view_ty(quote!('_));
    quote! {
        #struct_doc
        #[allow(dead_code)] // The user decides which fields an update touches.
        #vis struct #view<'a #(, #params)*> #bounds {
            #(#fields)*
            #marker
        }

        impl #impl_generics ::core::fmt::Debug for #view_ty #bounds {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name).finish_non_exhaustive()
            }
        }
    }
}

/// When the view needs a marker field to hold its lifetime and parameters: `Some(cfg)` with the `#[cfg]` under
/// which no other field exists (empty: always), `None` if some field exists in every build.
/// Without it a view whose fields are all configured out would not use `'a` (E0392).
pub(super) fn marker_cfg(cx: &Context) -> Option<TokenStream> {
    if !cx.params.is_empty() {
        // The fields need not use every parameter.
        return Some(TokenStream::new());
    }
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
