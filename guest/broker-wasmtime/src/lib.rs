//! The broker for stock `wasmtime serve` (wasmtime 49): settings come from
//! `wasi:config/store@0.2.0-rc.1`, which `wasmtime serve -Sconfig
//! -Sconfig-var=NAME=VALUE` fills. Everything else is the shared broker.
#![forbid(unsafe_code)]

mod settings {
    wit_bindgen::generate!({
        world: "wasmtime-settings",
        path: "../../wit",
        generate_all,
    });
}

use settings::wasi::config0_2_0_rc_1::store;

/// Settings from `wasi:config`.
#[derive(Debug)]
pub struct WasmtimeServe;

impl openphone_broker::Platform for WasmtimeServe {
    fn setting(name: &str) -> Option<String> {
        store::get(name).ok().flatten().filter(|v| !v.is_empty())
    }
}

openphone_broker::export_broker!(WasmtimeServe);
