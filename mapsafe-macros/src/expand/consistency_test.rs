//! `#[cfg(test)] fn {snake_struct}_map_consistency()`, with `consistency_test = path`: runs the
//! runtime's checker on the map with records from `path`.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};

use super::Context;

/// `#[cfg(test)] fn {snake_struct}_map_consistency()`, with `consistency_test = path`.
pub(super) fn consistency_test(cx: &Context) -> TokenStream {
    let Some(path) = &cx.args.consistency_test else {
        return TokenStream::new();
    };
    let p = &cx.private;
    let map = &cx.map;
    let name = format_ident!(
        "{}_map_consistency",
        snake_case(&cx.record.to_string()),
        span = Span::call_site()
    );
    let map_name = map.to_string();
    quote! {
        #[cfg(test)]
        #[test]
        fn #name() {
            #p::generated_consistency_test::<#map>(#map_name, #map::new, #path);
        }
    }
}

/// `OrderLine` -> `order_line`, `HTTPRequest` -> `http_request`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.trim_start_matches("r#").chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let boundary = match prev {
                None | Some('_') => false,
                Some(prev) if prev.is_lowercase() || prev.is_ascii_digit() => true,
                Some(_) => next.is_some_and(|n| n.is_lowercase()),
            };
            if boundary {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn snake_case_splits_words_and_acronyms() {
        assert_eq!(snake_case("Order"), "order");
        assert_eq!(snake_case("OrderLine"), "order_line");
        assert_eq!(snake_case("HTTPRequest"), "http_request");
        assert_eq!(snake_case("Order2Line"), "order2_line");
        assert_eq!(snake_case("A"), "a");
    }
}
