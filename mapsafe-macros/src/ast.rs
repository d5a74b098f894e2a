//! A typed model of the annotated struct. It borrows from syn's tree so that every error can
//! point at the user's own tokens.

use syn::{Attribute, Data, DeriveInput, Fields, Generics, Ident, Meta, Type, Visibility};

use crate::ctxt::Ctxt;

/// The struct, as far as the expansion needs it.
pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a Visibility,
    /// Type and const parameters with their bounds and where-clause (never lifetimes).
    pub(crate) generics: &'a Generics,
    pub(crate) fields: Vec<Field<'a>>,
}

/// One named field.
pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// Every `#[key]` attribute on the field (more than one is an error, reported later).
    pub(crate) key_attrs: Vec<&'a Attribute>,
    /// The field's `#[cfg(...)]` attributes, repeated wherever the expansion names the field.
    pub(crate) cfgs: Vec<&'a Attribute>,
}

impl<'a> Input<'a> {
    /// Builds the model, or records why this item cannot be a record and returns `None`.
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Option<Input<'a>> {
        let fields = match &input.data {
            Data::Struct(data) => match &data.fields {
                Fields::Named(named) => &named.named,
                Fields::Unnamed(unnamed) => {
                    cx.error(
                        unnamed,
                        "`#[concurrent_map]` needs a struct with named fields, found a tuple \
                         struct: name the fields and mark the key with `#[key]`",
                    );
                    return None;
                }
                Fields::Unit => {
                    cx.error(
                        &input.ident,
                        "`#[concurrent_map]` needs a struct with named fields, found a unit \
                         struct: add fields and mark the key with `#[key]`",
                    );
                    return None;
                }
            },
            Data::Enum(data) => {
                cx.error(
                    &data.enum_token,
                    "`#[concurrent_map]` goes on a struct with named fields, not an enum: wrap \
                     the enum in a struct with a `#[key]` field",
                );
                return None;
            }
            Data::Union(data) => {
                cx.error(
                    &data.union_token,
                    "`#[concurrent_map]` goes on a struct with named fields, not a union",
                );
                return None;
            }
        };
        if let Some(packed) = input.attrs.iter().find_map(repr_packed) {
            cx.error(
                packed,
                "a `#[concurrent_map]` record cannot be `#[repr(packed)]`: `update` hands out a \
                 `&mut` to each field, and a packed struct's fields may be unaligned; remove \
                 `packed` (`#[repr(C)]` alone keeps a fixed layout)",
            );
            return None;
        }
        let generics = &input.generics;
        if let Some(lifetime) = generics.lifetimes().next() {
            cx.error(
                lifetime,
                "a `#[concurrent_map]` record cannot have lifetime parameters: the map owns its \
                 records and shares them between threads for as long as it lives, so a record \
                 must be `'static`; own the data instead (e.g. `String` for `&'a str`, `Arc<T>` \
                 for `&'a T`)",
            );
            return None;
        }
        let fields = fields
            .iter()
            .filter_map(|field| Field::from_syn(cx, field))
            .collect();
        Some(Input {
            ident: &input.ident,
            vis: &input.vis,
            generics,
            fields,
        })
    }

    /// The fields marked `#[key]`.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &Field<'a>> {
        self.fields.iter().filter(|f| !f.key_attrs.is_empty())
    }
}

impl<'a> Field<'a> {
    fn from_syn(cx: &Ctxt, field: &'a syn::Field) -> Option<Field<'a>> {
        // Named fields always have an ident; a field without one is skipped, not a panic.
        let ident = field.ident.as_ref()?;
        let key_attrs: Vec<&Attribute> = field.attrs.iter().filter(|a| is_key(a)).collect();
        for attr in &key_attrs {
            match &attr.meta {
                Meta::Path(_) => {}
                Meta::List(list) => cx.push(syn::Error::new(
                    list.delimiter.span().join(),
                    "`#[key]` takes no arguments: write `#[key]`",
                )),
                Meta::NameValue(nv) => {
                    cx.error(&nv.value, "`#[key]` takes no value: write `#[key]`")
                }
            }
        }
        let cfgs = field
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .collect();
        Some(Field {
            original: field,
            ident,
            ty: &field.ty,
            key_attrs,
            cfgs,
        })
    }
}

/// The `packed` in `#[repr(packed)]`, `#[repr(packed(N))]` or `#[repr(C, packed)]`.
fn repr_packed(attr: &Attribute) -> Option<proc_macro2::Ident> {
    let Meta::List(list) = &attr.meta else {
        return None;
    };
    if !list.path.is_ident("repr") {
        return None;
    }
    list.tokens.clone().into_iter().find_map(|tt| match tt {
        proc_macro2::TokenTree::Ident(ident) if ident == "packed" => Some(ident),
        _ => None,
    })
}

/// `#[key]`, in any form (`#[key(...)]` and `#[key = ...]` are errors, but still the key).
pub(crate) fn is_key(attr: &Attribute) -> bool {
    attr.path().is_ident("key")
}

/// The struct as the user wrote it, minus our `#[key]` markers.
pub(crate) fn strip_helpers(mut input: DeriveInput) -> DeriveInput {
    let strip = |fields: &mut Fields| {
        for field in fields.iter_mut() {
            field.attrs.retain(|a| !is_key(a));
        }
    };
    match &mut input.data {
        Data::Struct(data) => strip(&mut data.fields),
        Data::Enum(data) => data.variants.iter_mut().for_each(|v| strip(&mut v.fields)),
        Data::Union(data) => data.fields.named.iter_mut().for_each(|f| {
            f.attrs.retain(|a| !is_key(a));
        }),
    }
    input
}
