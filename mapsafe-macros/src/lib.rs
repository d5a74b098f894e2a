use proc_macro::TokenStream;
#[proc_macro_attribute]
pub fn concurrent_map(_args: TokenStream, input: TokenStream) -> TokenStream { input }
