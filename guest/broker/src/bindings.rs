//! Generated bindings for the `openphone:mcp/broker-core` world.
//!
//! The export glue `wit-bindgen` generates is unsafe; it lives here and is
//! expanded by [`crate::export_broker`] in each host's broker crate.

wit_bindgen::generate!({
    world: "broker-core",
    path: "../../wit",
    pub_export_macro: true,
    default_bindings_module: "openphone_broker::bindings",
    generate_all,
});
