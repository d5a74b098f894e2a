//! Static checks, each spanned on the user's tokens so a failure points there with mapsafe's
//! message (see the `on_unimplemented` traits in the facade's `__private`).

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::{Context, field_ty, replace_self};

pub(super) fn assertions(cx: &Context) -> TokenStream {
    let p = &cx.private;
    let record = cx.record;
    // A type that names the record's parameters is checked where the map is used, through
    // the bounds the map puts on them (see `Params::needs`).
    let checkable = |ty: &TokenStream| !cx.mentions_params(ty);
    let fields = cx.input.fields.iter().filter_map(|field| {
        let ty = replace_self(field_ty(field), &cx.record_ty);
        if !checkable(&ty) {
            return None;
        }
        let cfgs = &field.cfgs;
        let span = field.ty.span();
        Some(quote_spanned! {span=>
            #(#cfgs)*
            let _: fn() = #p::assert_field_sized::<#ty>;
            #(#cfgs)*
            let _: fn() = #p::assert_field_send::<#ty>;
            #(#cfgs)*
            let _: fn() = #p::assert_field_sync::<#ty>;
        })
    });
    let key_ty = &cx.key_ty;
    let key = checkable(key_ty)
        .then(|| quote_spanned!(cx.key.ty.span()=> let _: fn() = #p::assert_key::<#key_ty>;));
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
