//! `Record` for the struct: the key is the `#[key]` field, the view is `{Struct}Mut`.

use proc_macro2::TokenStream;
use quote::quote;

use super::Context;
use super::view::marker_cfg;

pub(super) fn record_impl(cx: &Context) -> TokenStream {
    let Context {
        private: p,
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
    let marker = marker_cfg(cx).map(|cfg| {
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
