//! Builds the guest components with a nested `cargo build --target wasm32-wasip2`.
//!
//! One build serves the whole workspace: the host embeds the tool components
//! and the tests find the test-only components here, so a test run compiles
//! each guest once. The nested cargo uses its own target directory (beside the
//! outer one) so that it never waits on the outer build's lock.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Tool components embedded in the host binary: (crate name, artifact stem).
const TOOLS: &[&str] = &[
    "send-message",
    "bulk-messages",
    "fetch-messages",
    "fetch-call-transcripts",
    "create-contact",
];
/// The auth component (the OAuth authorization server), embedded in the host.
const AUTH: &str = "openphone-auth";
/// Components only tests load.
const TEST_COMPONENTS: &[&str] = &["hostile-tool"];
/// Components composed around the tools for other hosts (`hosts/build`).
const COMPOSED: &[&str] = &[
    "openphone-gateway",
    "broker-wasmtime",
    "broker-spin",
    "wasi-deny",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .join("../..")
        .canonicalize()
        .expect("workspace root");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("set by cargo"));
    for watched in ["guest", "wit", "tests/hostile", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    println!("cargo:rerun-if-env-changed=OPENPHONE_GUEST_PROFILE");

    let target_dir = guest_target_dir(&out_dir);
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--locked",
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for krate in TOOLS
        .iter()
        .chain(TEST_COMPONENTS)
        .chain(COMPOSED)
        .chain([&AUTH])
    {
        cmd.args(["-p", krate]);
    }
    // Flags meant for the outer (native) build must not leak into the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
    ] {
        cmd.env_remove(var);
    }
    // Small components: they are compiled by the host at start-up.
    cmd.env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    let status = cmd
        .status()
        .expect("could not run cargo for the guest components");
    if !status.success() {
        panic!(
            "building the guest components failed (is the target installed? `rustup target add wasm32-wasip2`)"
        );
    }

    let built = target_dir.join("wasm32-wasip2/release");
    let mut generated = String::new();
    line(
        &mut generated,
        "/// Tool components embedded in the host: (name, component bytes).".to_owned(),
    );
    line(
        &mut generated,
        "pub const TOOLS: &[(&str, &[u8])] = &[".to_owned(),
    );
    for krate in TOOLS {
        let path = artifact(&built, krate);
        line(
            &mut generated,
            format!(
                "    ({krate:?}, include_bytes!({:?})),",
                path.display().to_string()
            ),
        );
    }
    line(&mut generated, "];".to_owned());
    line(
        &mut generated,
        "/// The auth component embedded in the host.".to_owned(),
    );
    line(
        &mut generated,
        format!(
            "pub const AUTH: &[u8] = include_bytes!({:?});",
            artifact(&built, AUTH).display().to_string()
        ),
    );
    for krate in TEST_COMPONENTS {
        let path = artifact(&built, krate);
        let name = krate.to_uppercase().replace('-', "_");
        line(
            &mut generated,
            format!("/// Path of the `{krate}` test component."),
        );
        line(
            &mut generated,
            format!("pub const {name}: &str = {:?};", path.display().to_string()),
        );
    }
    line(
        &mut generated,
        "/// Components composed around the tools for other hosts: (crate, path).".to_owned(),
    );
    line(
        &mut generated,
        "pub const COMPOSED: &[(&str, &str)] = &[".to_owned(),
    );
    for krate in COMPOSED {
        let path = artifact(&built, krate);
        line(
            &mut generated,
            format!("    ({krate:?}, {:?}),", path.display().to_string()),
        );
    }
    line(&mut generated, "];".to_owned());
    std::fs::write(out_dir.join("artifacts.rs"), generated).expect("write artifacts.rs");
}

/// Appends one line of generated code.
fn line(out: &mut String, text: String) {
    out.push_str(&text);
    out.push('\n');
}

fn artifact(dir: &Path, krate: &str) -> PathBuf {
    let path = dir.join(format!("{}.wasm", krate.replace('-', "_")));
    assert!(path.exists(), "missing guest artifact {}", path.display());
    path
}

/// `<target>/wasm-guests`, where `<target>` is the outer build's target dir.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out (or with a triple).
    out_dir
        .ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|build| build.parent())
        .and_then(|profile| profile.parent())
        .map(|target| target.join("wasm-guests"))
        .unwrap_or_else(|| out_dir.join("wasm-guests"))
}
