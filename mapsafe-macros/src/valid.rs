//! Cross-checks between the arguments and the struct; simple checks live in the parsers.

use quote::format_ident;
use syn::Ident;

use crate::args::Args;
use crate::ast::{Field, Input};
use crate::ctxt::Ctxt;

/// Checks what no single parser can see and returns the key field if there is exactly one.
pub(crate) fn check<'i, 'a>(
    cx: &Ctxt,
    args: &mut Args,
    input: &'i Input<'a>,
) -> Option<&'i Field<'a>> {
    if !names_are_free(cx, args, input) {
        // Generate under the default name, so the clash is reported once.
        args.name = None;
    }
    let generic = !input.generics.params.is_empty();
    if let Some(path) = args.consistency_test.take_if(|_| generic) {
        cx.error(
            path,
            format!(
                "`consistency_test` needs a record without type or const parameters: the \
                 generated test runs one concrete map; run `mapsafe::check` on `{}Map<...>` at \
                 the types you use instead",
                input.ident
            ),
        );
    }
    let mut keys = input.keys();
    let Some(key) = keys.next() else {
        cx.error(
            input.ident,
            format!(
                "`#[concurrent_map]` needs a `#[key]` field: put `#[key]` on the field that \
                 identifies each `{}`",
                input.ident
            ),
        );
        return None;
    };
    let mut unique = true;
    for extra in key.key_attrs.iter().skip(1) {
        cx.error(
            extra,
            format!("`#[key]` is given twice on `{}`: keep one", key.ident),
        );
        unique = false;
    }
    for other in keys {
        for attr in &other.key_attrs {
            cx.error(
                attr,
                format!(
                    "a record has exactly one `#[key]` field, and `{}` is already the key: \
                     remove this `#[key]` (for a compound key, make the key field a tuple or a \
                     struct)",
                    key.ident
                ),
            );
        }
        unique = false;
    }
    for cfg in &key.cfgs {
        cx.error(
            cfg,
            "the `#[key]` field cannot be under `#[cfg(...)]`: a record must have its key in \
             every build",
        );
        unique = false;
    }
    unique.then_some(key)
}

/// `false` (with an error) if `name = ...` clashes with an item the expansion defines.
fn names_are_free(cx: &Ctxt, args: &Args, input: &Input) -> bool {
    let Some(name) = &args.name else {
        return true;
    };
    let clash = |other: &Ident| {
        cx.error(
            name,
            format!(
                "`name = {name}` clashes with `{other}`, which `#[concurrent_map]` also \
                 defines here: choose another name"
            ),
        );
    };
    if name == input.ident {
        clash(input.ident);
        false
    } else if *name == mut_ident(input.ident) {
        clash(&mut_ident(input.ident));
        false
    } else {
        true
    }
}

/// `{Struct}Map`, or the `name = ...` argument.
pub(crate) fn map_ident(args: &Args, input: &Input) -> Ident {
    match &args.name {
        Some(name) => name.clone(),
        None => format_ident!("{}Map", input.ident),
    }
}

/// `{Struct}Mut`.
pub(crate) fn mut_ident(record: &Ident) -> Ident {
    format_ident!("{}Mut", record)
}
