//! The Redis backend of [`Store`](super::Store): every table on one Redis
//! server, so that replicas behind a load balancer share sessions, call
//! outcomes, ledgers, the vault, the auth component's state, rate-limit
//! counters and the per-key OpenPhone budget.
//!
//! Layout, under the namespace `openphone-mcp`:
//! - `openphone-mcp:t:TABLE:KEY` — a value; its expiry is the key's TTL;
//! - `openphone-mcp:i:TABLE` — a sorted set of the table's keys, all scored
//!   0 so they sort by bytes, for listing by prefix in order as redb does.
//!   An entry whose value expired is skipped by listing and dropped by
//!   [`Redis::sweep`];
//! - `openphone-mcp:alive:BOOT` — a replica's liveness, renewed by its
//!   heartbeat ([`spawn_heartbeat`]);
//! - `openphone-mcp:budget:KEY` and `openphone-mcp:rate:RULE:KEY` — the
//!   budget's recent slots and the rate limits' GCRA state.
//!
//! Every operation that touches a value and its index, or reads and then
//! writes, is one Lua script: Redis runs a script alone, so each is as
//! atomic as a redb write transaction. Times in the budget and the limits
//! are the Redis server's (`TIME`), one clock for every replica. Scripts
//! touch keys they compute, so this needs one Redis server (with replicas
//! of its own if wanted), not Redis Cluster.
//!
//! The interface is synchronous, as the store's is: component imports call
//! it from wasmtime's synchronous host functions and `admin` runs without a
//! runtime. Connections are blocking ones kept in a small pool, each command
//! waits at most [`IO_TIMEOUT`], and a server that refuses connections is
//! reported at once as [`Unavailable`] rather than after a pool's wait —
//! which is why this is not r2d2.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::{Client, Connection, RedisError, RedisResult, Script};

use super::{SweepPage, Table, Unavailable};

/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one command may take, sent and answered.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections kept open between uses.
const MAX_IDLE: usize = 32;
const NAMESPACE: &str = "openphone-mcp";

/// A `redis://` or `rediss://` address. Its `Display` and `Debug` hide a
/// password: the address is logged and printed by `config check`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(url::Url);

impl FromStr for RedisUrl {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|e| format!("not a URL ({e}); expected redis://HOST:PORT[/DB]"))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(format!(
                "the scheme must be redis:// or rediss://, not {}://",
                url.scheme()
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("a Redis address needs a host: redis://HOST:PORT[/DB]".into());
        }
        let db = url.path().trim_start_matches('/');
        if !db.is_empty() && db.parse::<u16>().is_err() {
            return Err(format!(
                "the path names the database by number (redis://HOST:PORT/2), not `{db}`"
            ));
        }
        Ok(RedisUrl(url))
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut shown = self.0.clone();
        if shown.password().is_none() {
            return write!(f, "{shown}");
        }
        // `[` and `]` would be percent-encoded in the password itself.
        let _ = shown.set_password(Some("REDACTED"));
        let shown = shown.to_string().replacen(":REDACTED@", ":[redacted]@", 1);
        f.write_str(&shown)
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// One Redis server and a pool of connections to it.
pub struct Redis {
    client: Client,
    idle: Mutex<Vec<Connection>>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis").finish_non_exhaustive()
    }
}

impl Redis {
    /// Connects to `url` and checks the server answers.
    pub(super) fn connect(url: &RedisUrl) -> anyhow::Result<Self> {
        let client = Client::open(url.0.as_str())
            .map_err(|e| anyhow::anyhow!("the Redis address {url} is not usable: {e}"))?;
        let redis = Redis {
            client,
            idle: Mutex::new(Vec::new()),
        };
        let pong: String = redis
            .run(|c| redis::cmd("PING").query(c))
            .map_err(|e| anyhow::anyhow!("reaching Redis at {url}: {e:#}"))?;
        anyhow::ensure!(pong == "PONG", "Redis at {url} answered PING with {pong}");
        Ok(redis)
    }

    /// Runs `op` on a pooled connection. A connection that failed on I/O
    /// is dropped with every idle one (after a restart of the server they
    /// are all dead), and `op` is tried once more on a new connection if
    /// the failed one had been used before: its command most likely never
    /// reached a live server.
    fn run<T>(&self, op: impl Fn(&mut Connection) -> RedisResult<T>) -> anyhow::Result<T> {
        let pooled = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reused = pooled.is_some();
        let mut connection = match pooled {
            Some(connection) => connection,
            None => self.open()?,
        };
        match op(&mut connection) {
            Ok(value) => {
                self.give_back(connection);
                Ok(value)
            }
            Err(error) if lost_connection(&error) => {
                self.idle.lock().unwrap_or_else(|p| p.into_inner()).clear();
                if !reused {
                    return Err(Unavailable(error.to_string()).into());
                }
                let mut fresh = self.open()?;
                let value = op(&mut fresh).map_err(classify)?;
                self.give_back(fresh);
                Ok(value)
            }
            Err(error) => {
                self.give_back(connection);
                Err(classify(error))
            }
        }
    }

    fn open(&self) -> anyhow::Result<Connection> {
        let connection = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(|e| Unavailable(e.to_string()))?;
        connection
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|()| connection.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| Unavailable(e.to_string()))?;
        Ok(connection)
    }

    fn give_back(&self, connection: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(connection);
        }
    }

    pub(super) fn get(&self, table: Table, key: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let value_key = value_key(table, key);
        self.run(|c| redis::cmd("GET").arg(&value_key).query(c))
    }

    pub(super) fn put(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<()> {
        let _: i64 = self.write(&scripts().put, table, key, &[value], ttl_secs)?;
        Ok(())
    }

    pub(super) fn put_if_absent(
        &self,
        table: Table,
        key: &str,
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<bool> {
        let stored: i64 = self.write(&scripts().put_if_absent, table, key, &[value], ttl_secs)?;
        Ok(stored == 1)
    }

    pub(super) fn compare_and_put(
        &self,
        table: Table,
        key: &str,
        expected: &[u8],
        value: &[u8],
        ttl_secs: u64,
    ) -> anyhow::Result<bool> {
        let replaced: i64 = self.write(
            &scripts().compare_and_put,
            table,
            key,
            &[value, expected],
            ttl_secs,
        )?;
        Ok(replaced == 1)
    }

    pub(super) fn increment(&self, table: Table, key: &str, delta: i64) -> anyhow::Result<i64> {
        let delta = delta.to_string();
        self.write(&scripts().increment, table, key, &[delta.as_bytes()], 0)
    }

    pub(super) fn remove(&self, table: Table, key: &str) -> anyhow::Result<bool> {
        let removed: i64 = self.write(&scripts().remove, table, key, &[], 0)?;
        Ok(removed == 1)
    }

    /// Runs one of the write scripts: `KEYS` are the value and the index,
    /// `ARGV` the key, the TTL in milliseconds (0: none), then `args`.
    fn write<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        table: Table,
        key: &str,
        args: &[&[u8]],
        ttl_secs: u64,
    ) -> anyhow::Result<T> {
        let value_key = value_key(table, key);
        let index = index_key(table);
        let ttl_ms = ttl_secs.saturating_mul(1_000);
        self.run(|c| {
            let mut invocation = script.key(&value_key);
            invocation.key(&index).arg(key).arg(ttl_ms);
            for arg in args {
                invocation.arg(*arg);
            }
            invocation.invoke(c)
        })
    }

    pub(super) fn keys_with_prefix(
        &self,
        table: Table,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> anyhow::Result<Vec<String>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let min = match after {
            Some(after) if after >= prefix => format!("({after}").into_bytes(),
            _ => format!("[{prefix}").into_bytes(),
        };
        // Every key with the prefix sorts below the prefix followed by 0xFF,
        // a byte no UTF-8 text holds.
        let mut max = format!("({prefix}").into_bytes();
        max.push(0xFF);
        let index = index_key(table);
        let values = value_key(table, "");
        self.run(|c| {
            scripts()
                .list
                .key(&index)
                .arg(&min)
                .arg(&max)
                .arg(limit)
                .arg(&values)
                .invoke(c)
        })
    }

    pub(super) fn sweep(
        &self,
        table: Table,
        cursor: Option<&str>,
        budget: usize,
    ) -> anyhow::Result<SweepPage> {
        let min = match cursor {
            Some(after) => format!("({after}"),
            None => "-".to_owned(),
        };
        let index = index_key(table);
        let values = value_key(table, "");
        let (removed, seen, last): (usize, usize, String) = self.run(|c| {
            scripts()
                .sweep
                .key(&index)
                .arg(&min)
                .arg(budget.max(1))
                .arg(&values)
                .invoke(c)
        })?;
        Ok(SweepPage {
            removed,
            next: (seen >= budget.max(1)).then_some(last),
        })
    }

    #[cfg(test)]
    pub(super) fn len(&self, table: Table) -> anyhow::Result<u64> {
        let index = index_key(table);
        self.run(|c| redis::cmd("ZCARD").arg(&index).query(c))
    }

    pub(super) fn holder_alive(&self, boot: &str) -> anyhow::Result<bool> {
        let key = format!("{NAMESPACE}:alive:{boot}");
        self.run(|c| redis::cmd("EXISTS").arg(&key).query(c))
    }

    pub(super) fn auth_epoch(&self) -> anyhow::Result<u64> {
        let key = format!("{NAMESPACE}:auth-epoch");
        let epoch: Option<u64> = self.run(|c| redis::cmd("GET").arg(&key).query(c))?;
        Ok(epoch.unwrap_or(0))
    }

    pub(super) fn bump_auth_epoch(&self) -> anyhow::Result<()> {
        let key = format!("{NAMESPACE}:auth-epoch");
        self.run(|c| redis::cmd("INCR").arg(&key).query::<()>(c))
    }

    /// Marks the process run `boot` alive for `ttl`.
    pub fn beat(&self, boot: &str, ttl: Duration) -> anyhow::Result<()> {
        let key = format!("{NAMESPACE}:alive:{boot}");
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1);
        self.run(|c| {
            redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("PX")
                .arg(ttl_ms)
                .query::<()>(c)
        })
    }

    /// Reserves the next of `limit` slots in any `window` for `key`, shared
    /// by every replica; returns how long to wait for it (the sliding
    /// window of `sandbox::budget`, on the server's clock).
    pub fn reserve_slot(
        &self,
        key: &str,
        limit: usize,
        window: Duration,
    ) -> anyhow::Result<Duration> {
        let key = format!("{NAMESPACE}:budget:{key}");
        let window_us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
        let wait_us: u64 = self.run(|c| {
            scripts()
                .reserve
                .key(&key)
                .arg(limit.max(1))
                .arg(window_us)
                .invoke(c)
        })?;
        Ok(Duration::from_micros(wait_us))
    }

    /// Counts one request of `key` under the GCRA bucket `rule` that lets
    /// one request through every `interval`, `burst` at once. `None` when
    /// admitted, else how long until the next would be.
    pub fn admit(
        &self,
        rule: &str,
        key: &str,
        interval: Duration,
        burst: u32,
    ) -> anyhow::Result<Option<Duration>> {
        let key = format!("{NAMESPACE}:rate:{rule}:{key}");
        let interval_us = u64::try_from(interval.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        let wait_us: u64 = self.run(|c| {
            scripts()
                .gcra
                .key(&key)
                .arg(interval_us)
                .arg(burst.max(1))
                .invoke(c)
        })?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }
}

/// Renews `boot`'s liveness key every third of [`super::LIVENESS_TTL`]
/// for as long as the process runs. A beat that fails is logged and tried
/// again at the next tick.
pub(super) fn spawn_heartbeat(redis: Arc<Redis>, boot: String) {
    let period = super::LIVENESS_TTL / 3;
    std::thread::Builder::new()
        .name("store-heartbeat".into())
        .spawn(move || {
            loop {
                if let Err(error) = redis.beat(&boot, super::LIVENESS_TTL) {
                    tracing::warn!(error = %format!("{error:#}"), "renewing this replica's liveness in Redis failed");
                }
                std::thread::sleep(period);
            }
        })
        .map(drop)
        .unwrap_or_else(|error| tracing::error!(%error, "starting the store heartbeat failed"));
}

fn value_key(table: Table, key: &str) -> String {
    format!("{NAMESPACE}:t:{}:{key}", table.name())
}

fn index_key(table: Table) -> String {
    format!("{NAMESPACE}:i:{}", table.name())
}

/// True if `error` means the connection cannot be used again.
fn lost_connection(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_connection_refusal()
        || error.is_timeout()
}

/// Unreachable or not serving (loading, read-only, no primary): the
/// store is unavailable. Anything else is a fault of the operation.
fn classify(error: RedisError) -> anyhow::Error {
    use redis::{ErrorKind, ServerErrorKind};
    let unavailable = lost_connection(&error)
        || matches!(
            error.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::MasterDown
                    | ServerErrorKind::ReadOnly
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
            )
        );
    if unavailable {
        Unavailable(error.to_string()).into()
    } else {
        anyhow::anyhow!("Redis refused an operation: {error}")
    }
}

struct Scripts {
    put: Script,
    put_if_absent: Script,
    compare_and_put: Script,
    increment: Script,
    remove: Script,
    list: Script,
    sweep: Script,
    reserve: Script,
    gcra: Script,
}

/// Sets the value `KEYS[1]` to `value` with the TTL `ARGV[2]` (none when
/// 0), `flag` (`NX`) given; what `SET` answers.
const SET_VALUE: &str = r"
local function set(value, flag)
  local args = {'SET', KEYS[1], value}
  if flag then args[#args + 1] = flag end
  if tonumber(ARGV[2]) > 0 then
    args[#args + 1] = 'PX'
    args[#args + 1] = ARGV[2]
  end
  return redis.call(unpack(args))
end
";

/// The scripts, hashed once. `KEYS[1]` is the value, `KEYS[2]` the index;
/// `ARGV[1]` the key, `ARGV[2]` the TTL in milliseconds (0: none).
fn scripts() -> &'static Scripts {
    static SCRIPTS: std::sync::OnceLock<Scripts> = std::sync::OnceLock::new();
    SCRIPTS.get_or_init(|| Scripts {
        put: Script::new(&format!(
            "{SET_VALUE}{}",
            r"
            set(ARGV[3])
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            return 1"
        )),
        put_if_absent: Script::new(&format!(
            "{SET_VALUE}{}",
            r"
            if not set(ARGV[3], 'NX') then return 0 end
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            return 1"
        )),
        compare_and_put: Script::new(&format!(
            "{SET_VALUE}{}",
            r"
            if redis.call('GET', KEYS[1]) ~= ARGV[4] then return 0 end
            set(ARGV[3])
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            return 1"
        )),
        increment: Script::new(
            r"
            local value = redis.call('INCRBY', KEYS[1], ARGV[3])
            redis.call('PERSIST', KEYS[1])
            redis.call('ZADD', KEYS[2], 0, ARGV[1])
            return value",
        ),
        remove: Script::new(
            r"
            local removed = redis.call('DEL', KEYS[1])
            redis.call('ZREM', KEYS[2], ARGV[1])
            return removed",
        ),
        // KEYS[1] the index; ARGV: min, max, limit, the values' key prefix.
        list: Script::new(
            r"
            local found = {}
            local min = ARGV[1]
            local limit = tonumber(ARGV[3])
            while #found < limit do
              local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, ARGV[2], 'LIMIT', 0, limit)
              if #batch == 0 then break end
              for _, key in ipairs(batch) do
                if redis.call('EXISTS', ARGV[4] .. key) == 1 then
                  found[#found + 1] = key
                  if #found == limit then break end
                end
              end
              min = '(' .. batch[#batch]
            end
            return found",
        ),
        // KEYS[1] the index; ARGV: min, budget, the values' key prefix.
        // Returns {removed, seen, last key seen}.
        sweep: Script::new(
            r"
            local batch = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
            local removed = 0
            for _, key in ipairs(batch) do
              if redis.call('EXISTS', ARGV[3] .. key) == 0 then
                redis.call('ZREM', KEYS[1], key)
                removed = removed + 1
              end
            end
            return {removed, #batch, batch[#batch] or ''}",
        ),
        // KEYS[1] a list of slot times (µs); ARGV: limit, window (µs).
        // Returns the wait (µs) for the slot reserved.
        reserve: Script::new(
            r"
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local limit = tonumber(ARGV[1])
            local window = tonumber(ARGV[2])
            local slot = now
            if redis.call('LLEN', KEYS[1]) >= limit then
              local oldest = tonumber(redis.call('LPOP', KEYS[1]))
              slot = math.max(oldest + window, now)
            end
            redis.call('RPUSH', KEYS[1], string.format('%d', slot))
            redis.call('PEXPIRE', KEYS[1], math.ceil((slot - now + window) / 1000))
            return slot - now",
        ),
        // KEYS[1] the theoretical arrival time (µs); ARGV: interval (µs),
        // burst. Returns 0 when admitted, else the wait (µs).
        gcra: Script::new(
            r"
            local t = redis.call('TIME')
            local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
            local interval = tonumber(ARGV[1])
            local tolerance = interval * (tonumber(ARGV[2]) - 1)
            local tat = tonumber(redis.call('GET', KEYS[1])) or now
            if tat < now then tat = now end
            local allowed_at = tat - tolerance
            if allowed_at > now then return allowed_at - now end
            local next = tat + interval
            redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.ceil((next - now) / 1000))
            return 0",
        ),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A `redis-server` of the test's own on a free loopback port, without
    /// persistence, stopped when dropped.
    pub(crate) struct TestRedis {
        child: std::process::Child,
        port: u16,
    }

    impl TestRedis {
        pub(crate) fn start() -> Self {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap();
            TestRedis::on_port(port)
        }

        fn on_port(port: u16) -> Self {
            let child = std::process::Command::new("redis-server")
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("redis-server is needed by these tests (tests/run installs it)");
            let server = TestRedis { child, port };
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(
                    std::time::Instant::now() < deadline,
                    "redis-server did not start"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            server
        }

        pub(crate) fn url(&self) -> RedisUrl {
            format!("redis://127.0.0.1:{}/", self.port).parse().unwrap()
        }
    }

    impl Drop for TestRedis {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    #[test]
    fn urls_are_checked_and_passwords_hidden() {
        let url: RedisUrl = "redis://:hunter2@cache.internal:6379/3".parse().unwrap();
        assert_eq!(url.to_string(), "redis://:[redacted]@cache.internal:6379/3");
        assert!(!format!("{url:?}").contains("hunter2"));
        assert!("rediss://cache.internal".parse::<RedisUrl>().is_ok());
        for bad in [
            "http://cache",
            "redis://",
            "redis://host/name",
            "cache:6379",
        ] {
            assert!(bad.parse::<RedisUrl>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_unreachable_server_is_unavailable_at_once() {
        let server = TestRedis::start();
        let url = server.url();
        let redis = Redis::connect(&url).unwrap();
        drop(server);
        let started = std::time::Instant::now();
        let error = redis.get(Table::Sessions, "k").unwrap_err();
        assert!(super::super::is_unavailable(&error), "{error:#}");
        assert!(started.elapsed() < CONNECT_TIMEOUT + IO_TIMEOUT);
        assert!(Redis::connect(&url).is_err());
    }

    #[test]
    fn reconnects_once_the_server_is_back() {
        let first = TestRedis::start();
        let url = first.url();
        let redis = Redis::connect(&url).unwrap();
        redis.put(Table::Sessions, "k", b"v", 0).unwrap();
        let port = first.port;
        drop(first);
        assert!(redis.get(Table::Sessions, "k").is_err());
        // Back on the same port, empty (no persistence).
        let _second = TestRedis::on_port(port);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while redis.get(Table::Sessions, "k").is_err() {
            assert!(std::time::Instant::now() < deadline, "never reconnected");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis.put(Table::Sessions, "k", b"w", 0).unwrap();
        assert_eq!(
            redis.get(Table::Sessions, "k").unwrap().as_deref(),
            Some(&b"w"[..])
        );
    }

    #[test]
    fn the_shared_budget_keeps_ten_in_any_window() {
        let server = TestRedis::start();
        let redis = Redis::connect(&server.url()).unwrap();
        let window = Duration::from_secs(1);
        let waits: Vec<Duration> = (0..25)
            .map(|_| redis.reserve_slot("fp", 10, window).unwrap())
            .collect();
        // Reserved back to back: ten now, ten a window later, five after that.
        for wait in &waits[..10] {
            assert!(*wait < Duration::from_millis(100), "{wait:?}");
        }
        for wait in &waits[10..20] {
            assert!(
                *wait > Duration::from_millis(850) && *wait <= window,
                "{wait:?}"
            );
        }
        for wait in &waits[20..] {
            assert!(*wait > Duration::from_millis(1_850), "{wait:?}");
        }
        assert!(redis.reserve_slot("other", 10, window).unwrap() < Duration::from_millis(100));
    }

    #[test]
    fn gcra_admits_the_burst_then_one_per_interval() {
        let server = TestRedis::start();
        let redis = Redis::connect(&server.url()).unwrap();
        let interval = Duration::from_millis(500);
        for _ in 0..3 {
            assert_eq!(redis.admit("token", "a", interval, 3).unwrap(), None);
        }
        let wait = redis.admit("token", "a", interval, 3).unwrap().unwrap();
        assert!(
            wait > Duration::from_millis(300) && wait <= interval,
            "{wait:?}"
        );
        assert_eq!(redis.admit("token", "b", interval, 3).unwrap(), None);
        assert_eq!(redis.admit("register", "a", interval, 3).unwrap(), None);
        std::thread::sleep(wait + Duration::from_millis(20));
        assert_eq!(redis.admit("token", "a", interval, 3).unwrap(), None);
        assert!(redis.admit("token", "a", interval, 3).unwrap().is_some());
    }
}
