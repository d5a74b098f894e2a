//! The `#[concurrent_map]` attribute of [mapsafe](https://docs.rs/mapsafe). Use it through the
//! `mapsafe` crate, which re-exports it and the runtime the generated code names.
//!
//! The expansion runs in stages, each in its own module: `args` parses the attribute's
//! arguments, `ast` models the struct and `valid` cross-checks the two, then `expand` generates
//! code. Errors are collected across the stages (`ctxt`) so that one build shows every mistake,
//! each spanned on the user's tokens.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use quote::quote;
use syn::DeriveInput;

mod args;
mod ast;
mod ctxt;
mod expand;
mod valid;

#[cfg(test)]
mod expansions;
#[cfg(test)]
mod tests;

/// Turns a struct with named fields and one `#[key]` field into a typed sharded concurrent map.
/// See the `mapsafe` crate for the arguments and the generated API.
#[proc_macro_attribute]
pub fn concurrent_map(args: TokenStream, input: TokenStream) -> TokenStream {
    concurrent_map_impl(args.into(), input.into()).into()
}

/// The whole macro on `proc_macro2` tokens, so it can run outside the compiler (in tests and to
/// produce the committed expansions). Never panics: every problem becomes a
/// `compile_error!` beside the struct, re-emitted so the user's other code still resolves.
pub(crate) fn concurrent_map_impl(args: TokenStream2, input: TokenStream2) -> TokenStream2 {
    let derive = match syn::parse2::<DeriveInput>(input.clone()) {
        Ok(derive) => derive,
        Err(err) => {
            let error = syn::Error::new(
                err.span(),
                "`#[concurrent_map]` goes on a struct with named fields and a `#[key]` field",
            )
            .to_compile_error();
            return quote!(#input #error);
        }
    };
    let cx = ctxt::Ctxt::new();
    let mut args = args::Args::parse(&cx, args);
    // Generate whatever can be generated even when an argument is wrong (the bad argument falls
    // back to its default), so that the user's uses of the map do not pile up more errors.
    let generated = ast::Input::from_syn(&cx, &derive).and_then(|input| {
        let key = valid::check(&cx, &mut args, &input)?;
        Some(expand::expand(&args, &input, key))
    });
    let errors = cx.finish().err().map(|err| err.to_compile_error());
    let user_struct = ast::strip_helpers(derive);
    quote! {
        #user_struct
        #generated
        #errors
    }
}
