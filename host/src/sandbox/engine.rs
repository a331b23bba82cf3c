//! Engine configuration: pooling allocator, epochs, compilation cache.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::call::CallState;
use super::wit::ToolPlugin;

/// How often the epoch advances; the granularity of deadlines.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Limits applied to every call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Linear memory a call may use.
    pub memory_bytes: usize,
    /// Wall-clock time a call may take, waiting on the API included.
    pub call_timeout: Duration,
    /// Calls running at once, across all tools.
    pub concurrent_calls: u32,
    /// OpenPhone requests one call may make.
    pub requests_per_call: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(60),
            concurrent_calls: 32,
            requests_per_call: 2_000,
        }
    }
}

/// The compiled-code side of the sandbox, shared by every call.
pub struct Sandbox {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<CallState>,
    pub(crate) limits: Limits,
    pub(crate) permits: Arc<tokio::sync::Semaphore>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Builds the engine. With `cache_dir`, compiled components are cached
    /// there and reused across restarts.
    pub fn new(limits: Limits, cache_dir: Option<&Path>) -> anyhow::Result<Self> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        config.max_wasm_stack(1 << 20);

        let slots = limits.concurrent_calls + 8;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(slots)
            .total_core_instances(slots * 8)
            .total_memories(slots * 2)
            .total_tables(slots * 8)
            .total_stacks(slots)
            .max_memory_size(limits.memory_bytes);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));

        if let Some(dir) = cache_dir {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the cache directory {}", dir.display()))?;
            let mut cache_config = wasmtime::CacheConfig::new();
            cache_config.with_directory(dir);
            let cache = wasmtime::Cache::new(cache_config)
                .map_err(anyhow::Error::from)
                .context("setting up the compilation cache")?;
            config.cache(Some(cache));
        }
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("configuring wasmtime")?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        ToolPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)
            .context("linking the tool imports")?;

        spawn_epoch_ticker(&engine);
        let permits = Arc::new(tokio::sync::Semaphore::new(
            limits.concurrent_calls as usize,
        ));
        Ok(Sandbox {
            engine,
            linker,
            limits,
            permits,
        })
    }
}

/// Advances the engine's epoch every [`EPOCH_TICK`] for as long as the
/// engine lives.
fn spawn_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch thread");
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// The WASI context of a tool: empty, closed, silent.
pub(crate) fn empty_wasi() -> (WasiCtx, ResourceTable) {
    let wasi = WasiCtx::builder()
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .build();
    (wasi, ResourceTable::new())
}
