//! The guest components, built for wasm32-wasip2 by this crate's build script.
//!
//! `TOOLS` and `AUTH` are embedded in the host binary; `COMPOSED` names the
//! components `hosts/build` composes around the same tool files for other
//! hosts; the other constants are paths of components only tests load.

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));
