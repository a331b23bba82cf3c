//! Generated bindings for the `openphone:mcp/gateway` world.
//!
//! They live in their own crate, as the auth component's do, so that
//! `openphone-gateway` can `#![forbid(unsafe_code)]`: the export glue
//! `wit-bindgen` generates is unsafe, and a macro from another crate expands
//! it without tripping the lint in the crate that invokes it.
#![forbid(unsafe_code)]

wit_bindgen::generate!({
    world: "gateway",
    path: "../../../wit",
    pub_export_macro: true,
    default_bindings_module: "openphone_gateway_bindings",
    generate_all,
});

/// Exports a type implementing `incoming-handler`'s `Guest` — only when
/// built for a component: natively the crate is a library for unit tests.
#[macro_export]
macro_rules! export_gateway {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::export!($ty with_types_in $crate);
    };
}
