//! Generated bindings for the `openphone:mcp/auth-component` world.
//!
//! They live in their own crate, like the tools' bindings live in the guest
//! SDK, so that `openphone-auth` can `#![forbid(unsafe_code)]`: the export
//! glue `wit-bindgen` generates is unsafe, and a macro from another crate
//! expands it without tripping the lint in the crate that invokes it.
#![forbid(unsafe_code)]

wit_bindgen::generate!({
    world: "auth-component",
    path: "../../../wit",
    pub_export_macro: true,
    default_bindings_module: "openphone_auth_bindings",
    generate_all,
});

/// Exports a type implementing both `Guest` traits (authorization-server
/// and admin) as the component's exports — only when built for the
/// sandbox: natively the crate is a library for unit tests, and the export
/// names are not valid native symbols.
#[macro_export]
macro_rules! export_auth {
    ($ty:ident) => {
        #[cfg(target_arch = "wasm32")]
        $crate::export!($ty with_types_in $crate);
    };
}
