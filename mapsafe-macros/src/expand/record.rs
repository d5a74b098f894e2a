//! `Record` for the struct: the key is the `#[key]` field, the view is `{Struct}Mut`.

use proc_macro2::TokenStream;
use quote::quote;

use super::Context;
use super::view::marker_cfg;

pub(super) fn record_impl(cx: &Context) -> TokenStream {
    let Context {
        private: p,
        record_ty,
        view,
        key_ty,
        ..
    } = cx;
    let (user_bounds, param_bounds) = (&cx.params.where_predicates, &cx.params.needs);
    let key = cx.key.ident;
    // What `Record` demands, deferred like `Context::gate`.
    let record_gate = quote! {
        #user_bounds
        #param_bounds
        for<'c> #record_ty: ::core::marker::Send + ::core::marker::Sync,
        for<'c> #key_ty: #p::RecordKey,
    };
    let impl_generics = cx.impl_generics(None);
    let (view_a, view_elided) = (cx.view_ty(quote!('a)), cx.view_ty(quote!('_)));
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
        impl #impl_generics #p::Record for #record_ty
        where
            #record_gate
        {
            type Key = #key_ty;
            type Mut<'a> = #view_a;

            #[inline]
            fn key(&self) -> &Self::Key {
                &self.#key
            }

            #[inline]
            fn as_mut(&mut self) -> #view_elided {
                #view { #(#fields)* #marker }
            }
        }
    }
}
