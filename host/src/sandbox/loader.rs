//! Loading tool components: compile (or fetch from the cache), link,
//! pre-instantiate, and read their descriptors once.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use wasmtime::component::Component;

use super::call::CallState;
use super::engine::Sandbox;
use super::wit::{ToolDescriptor, ToolPluginPre};

/// Where a component came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Built with the host and embedded in its binary.
    Embedded(&'static str),
    /// Loaded from a file with `--plugins`.
    File(PathBuf),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Embedded(name) => write!(f, "embedded:{name}"),
            Origin::File(path) => write!(f, "{}", path.display()),
        }
    }
}

/// The bytes of a component and where they came from.
#[derive(Debug, Clone)]
pub struct ToolSource {
    pub origin: Origin,
    pub bytes: Arc<[u8]>,
}

impl ToolSource {
    /// The components embedded in this binary.
    pub fn embedded() -> Vec<ToolSource> {
        openphone_guest_artifacts::TOOLS
            .iter()
            .map(|(name, bytes)| ToolSource {
                origin: Origin::Embedded(name),
                bytes: Arc::from(*bytes),
            })
            .collect()
    }

    /// Every `*.wasm` file in `dir`, in name order.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Vec<ToolSource>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading the plugin directory {}", dir.display()))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "wasm"))
            .collect();
        paths.sort();
        paths
            .into_iter()
            .map(|path| {
                let bytes =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                Ok(ToolSource {
                    origin: Origin::File(path),
                    bytes: bytes.into(),
                })
            })
            .collect()
    }
}

/// A component ready to serve calls, with the tools it offers.
pub struct LoadedTool {
    pub origin: Origin,
    pub descriptors: Vec<ToolDescriptor>,
    pub(crate) pre: ToolPluginPre<CallState>,
}

impl fmt::Debug for LoadedTool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.descriptors.iter().map(|d| d.name.as_str()).collect();
        f.debug_struct("LoadedTool")
            .field("origin", &self.origin)
            .field("tools", &names)
            .finish()
    }
}

impl Sandbox {
    /// Compiles, links and describes every source. Fails on a component
    /// that does not fit the `tool-plugin` world, on an invalid descriptor,
    /// and on a tool name offered twice.
    pub async fn load(&self, sources: Vec<ToolSource>) -> anyhow::Result<Vec<LoadedTool>> {
        let mut loaded = Vec::with_capacity(sources.len());
        let mut names = HashSet::new();
        for source in sources {
            let origin = source.origin.clone();
            let tool = self
                .load_one(source)
                .await
                .with_context(|| format!("loading the tool component {origin}"))?;
            for d in &tool.descriptors {
                if !names.insert(d.name.clone()) {
                    bail!(
                        "the tool name `{}` is offered twice (again by {origin})",
                        d.name
                    );
                }
            }
            loaded.push(tool);
        }
        Ok(loaded)
    }

    async fn load_one(&self, source: ToolSource) -> anyhow::Result<LoadedTool> {
        let engine = self.engine.clone();
        let bytes = Arc::clone(&source.bytes);
        let component = tokio::task::spawn_blocking(move || Component::new(&engine, &bytes[..]))
            .await
            .context("compilation task")?
            .map_err(anyhow::Error::from)
            .context("compiling the component")?;
        let instance_pre = self
            .linker
            .instantiate_pre(&component)
            .map_err(anyhow::Error::from)
            .context(
                "linking: the component imports something the tool-plugin world does not offer",
            )?;
        let pre = ToolPluginPre::new(instance_pre)
            .map_err(anyhow::Error::from)
            .context("the component does not export openphone:mcp/tool")?;
        let descriptors = self.describe(&pre).await?;
        for d in &descriptors {
            validate(d)?;
        }
        Ok(LoadedTool {
            origin: source.origin,
            descriptors,
            pre,
        })
    }
}

/// Checks what the host relies on before listing a tool.
fn validate(d: &ToolDescriptor) -> anyhow::Result<()> {
    let name_ok = !d.name.is_empty()
        && d.name.len() <= 64
        && d.name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        bail!(
            "tool name `{}` must be 1-64 characters of a-z, 0-9, - and _",
            d.name
        );
    }
    let schema: serde_json::Value = serde_json::from_str(&d.input_schema)
        .with_context(|| format!("`{}`: input schema is not JSON", d.name))?;
    if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
        bail!("`{}`: the input schema must describe an object", d.name);
    }
    if let Some(output) = &d.output_schema {
        let schema: serde_json::Value = serde_json::from_str(output)
            .with_context(|| format!("`{}`: output schema is not JSON", d.name))?;
        if schema.get("type").and_then(|t| t.as_str()) != Some("object") {
            bail!("`{}`: the output schema must describe an object", d.name);
        }
    }
    if !crate::access::scope::is_offered(&d.scope) {
        bail!(
            "`{}`: scope `{}` is not one this server offers ({})",
            d.name,
            d.scope,
            crate::access::scope::OFFERED.join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::wit::openphone::mcp::types::ToolAnnotations;

    fn descriptor() -> ToolDescriptor {
        ToolDescriptor {
            name: "send-message".into(),
            title: "t".into(),
            description: "d".into(),
            input_schema: r#"{"type":"object"}"#.into(),
            output_schema: None,
            annotations: ToolAnnotations {
                read_only: false,
                destructive: false,
                idempotent: false,
                open_world: true,
            },
            scope: "messages:send".into(),
            resumable: false,
        }
    }

    #[test]
    fn validates_descriptors() {
        assert!(validate(&descriptor()).is_ok());
        for bad in [
            ToolDescriptor {
                name: "Send Message".into(),
                ..descriptor()
            },
            ToolDescriptor {
                name: String::new(),
                ..descriptor()
            },
            ToolDescriptor {
                input_schema: "{".into(),
                ..descriptor()
            },
            ToolDescriptor {
                input_schema: r#"{"type":"string"}"#.into(),
                ..descriptor()
            },
            ToolDescriptor {
                output_schema: Some("[]".into()),
                ..descriptor()
            },
            ToolDescriptor {
                scope: "admin".into(),
                resumable: false,
                ..descriptor()
            },
        ] {
            assert!(validate(&bad).is_err(), "{bad:?}");
        }
    }
}
