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
    /// Calls one workspace (one API key, whatever its grants) may run at
    /// once: calls waiting on its own 10 requests/s budget cannot take
    /// every slot.
    pub calls_per_workspace: u32,
    /// How long a call waits for a slot before it is refused as busy.
    pub queue_wait: Duration,
    /// OpenPhone requests one call may make.
    pub requests_per_call: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(60),
            concurrent_calls: 32,
            calls_per_workspace: 8,
            queue_wait: Duration::from_secs(10),
            requests_per_call: 2_000,
        }
    }
}

/// The compiled-code side of the sandbox, shared by every call.
pub struct Sandbox {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<CallState>,
    pub(crate) limits: Limits,
    pub(crate) slots: Slots,
    /// Where compiled components are cached, for engines made later.
    cache_dir: Option<std::path::PathBuf>,
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
        // A few slots beyond the calls, for listing tools while calls run.
        let engine = build_engine(limits.concurrent_calls + 8, limits.memory_bytes, cache_dir)?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        ToolPlugin::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)
            .context("linking the tool imports")?;

        let slots = Slots::new(limits.concurrent_calls, limits.calls_per_workspace);
        Ok(Sandbox {
            engine,
            linker,
            limits,
            slots,
            cache_dir: cache_dir.map(Path::to_path_buf),
        })
    }

    /// A separate engine (its own instance pool and epoch) for `slots`
    /// instances of at most `memory_bytes`: the auth component runs on one,
    /// so tool calls and OAuth requests never take each other's capacity.
    pub(crate) fn separate_engine(
        &self,
        slots: u32,
        memory_bytes: usize,
    ) -> anyhow::Result<Engine> {
        build_engine(slots, memory_bytes, self.cache_dir.as_deref())
    }
}

/// Memories one component instance may have; with the per-call limiter
/// summing them, the memory cap holds per call, not per memory.
const MEMORIES_PER_COMPONENT: u32 = 2;
/// Core instances one component instance may have.
const CORE_INSTANCES_PER_COMPONENT: u32 = 32;

/// An engine with a pool of `slots` component instances, each of at most
/// `memory_bytes` of linear memory, epoch interruption and (with
/// `cache_dir`) the compilation cache.
fn build_engine(
    slots: u32,
    memory_bytes: usize,
    cache_dir: Option<&Path>,
) -> anyhow::Result<Engine> {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.max_wasm_stack(1 << 20);

    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(slots)
        .total_core_instances(slots * 8)
        .total_memories(slots * MEMORIES_PER_COMPONENT)
        .total_tables(slots * 8)
        .total_stacks(slots)
        .max_memory_size(memory_bytes)
        .max_memories_per_component(MEMORIES_PER_COMPONENT)
        .max_core_instances_per_component(CORE_INSTANCES_PER_COMPONENT);
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
    spawn_epoch_ticker(&engine);
    Ok(engine)
}

/// Call slots: a global count, and a share per workspace.
pub(crate) struct Slots {
    global: Arc<tokio::sync::Semaphore>,
    per_workspace: u32,
    workspaces: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("available", &self.global.available_permits())
            .field("per_workspace", &self.per_workspace)
            .finish_non_exhaustive()
    }
}

/// A call's right to run; its slots are given back on drop.
#[derive(Debug)]
pub(crate) struct Slot {
    _global: tokio::sync::OwnedSemaphorePermit,
    _workspace: tokio::sync::OwnedSemaphorePermit,
}

/// Why no slot was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NoSlot {
    /// None came free within the wait.
    Busy,
    /// The server is shutting down.
    Closed,
}

impl Slots {
    pub(crate) fn new(global: u32, per_workspace: u32) -> Self {
        Slots {
            global: Arc::new(tokio::sync::Semaphore::new(global.max(1) as usize)),
            per_workspace: per_workspace.clamp(1, global.max(1)),
            workspaces: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Waits at most `wait` for a slot of `workspace`'s share, then for a
    /// global one. The wait queue is as long as the callers waiting, each
    /// bounded by `wait`.
    pub(crate) async fn take(&self, workspace: &str, wait: Duration) -> Result<Slot, NoSlot> {
        let share = {
            let mut map = self
                .workspaces
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Forget shares nobody holds or waits for.
            map.retain(|_, s| Arc::strong_count(s) > 1);
            Arc::clone(map.entry(workspace.to_owned()).or_insert_with(|| {
                Arc::new(tokio::sync::Semaphore::new(self.per_workspace as usize))
            }))
        };
        let deadline = tokio::time::Instant::now() + wait;
        let workspace = match tokio::time::timeout_at(deadline, share.acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(NoSlot::Closed),
            Err(_) => return Err(NoSlot::Busy),
        };
        match tokio::time::timeout_at(deadline, Arc::clone(&self.global).acquire_owned()).await {
            Ok(Ok(global)) => Ok(Slot {
                _global: global,
                _workspace: workspace,
            }),
            Ok(Err(_)) => Err(NoSlot::Closed),
            Err(_) => Err(NoSlot::Busy),
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_workspace_holds_only_its_share() {
        let slots = Slots::new(4, 2);
        let wait = Duration::from_millis(50);
        let a1 = slots.take("a", wait).await.unwrap();
        let _a2 = slots.take("a", wait).await.unwrap();
        assert_eq!(slots.take("a", wait).await.unwrap_err(), NoSlot::Busy);
        let _b1 = slots.take("b", wait).await.unwrap();
        let _b2 = slots.take("b", wait).await.unwrap();
        // The global count is spent too now.
        assert_eq!(slots.take("c", wait).await.unwrap_err(), NoSlot::Busy);
        drop(a1);
        assert!(slots.take("c", wait).await.is_ok());
    }
}
