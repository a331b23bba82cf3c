//! Rate limits: by client address on every endpoint, and by grant on `/mcp`.
//!
//! Each [`Rule`] allows `COUNT` requests per `PERIOD` per key, at most
//! `COUNT` of them at once (a GCRA bucket, from `governor`): an address for
//! the OAuth endpoints, the consent form's key check and unauthenticated
//! `/mcp` traffic, a grant for authenticated `/mcp` requests. Addresses are
//! counted as [`counted_as`] says: IPv4 whole, IPv6 by its /64. The
//! counters sit behind [`Counters`]: in process ([`LocalCounters`]), or in
//! the Redis store when several replicas serve one deployment
//! ([`SharedCounters`]), so a client cannot multiply its allowance by
//! spreading requests over replicas.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::client_address::counted_as;

/// What a limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// `POST /register`, per address.
    Register,
    /// `GET` and `POST /authorize` (the consent page and its decisions), per address.
    Authorize,
    /// Consent submissions carrying an API key, per address: each costs a
    /// request to OpenPhone from this server's address.
    KeyCheck,
    /// `POST /token` (code exchange and refresh), per address.
    Token,
    /// `POST /revoke`, per address.
    Revoke,
    /// The `/.well-known/*` metadata documents, per address.
    Discovery,
    /// Every `/mcp` request, per address, before its token is checked.
    Mcp,
    /// Authenticated `/mcp` requests, per grant (or the single user).
    McpGrant,
}

impl Rule {
    /// Every rule, in the order `--help` and the README list them.
    pub const ALL: [Rule; 8] = [
        Rule::Register,
        Rule::Authorize,
        Rule::KeyCheck,
        Rule::Token,
        Rule::Revoke,
        Rule::Discovery,
        Rule::Mcp,
        Rule::McpGrant,
    ];

    /// The rule's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Register => "register",
            Rule::Authorize => "authorize",
            Rule::KeyCheck => "key-check",
            Rule::Token => "token",
            Rule::Revoke => "revoke",
            Rule::Discovery => "discovery",
            Rule::Mcp => "mcp",
            Rule::McpGrant => "mcp-grant",
        }
    }

    /// The default: generous enough that a real client's discovery,
    /// registration, consent, token exchange and refreshes never trip it.
    pub fn default_limit(self) -> Limit {
        let (count, period) = match self {
            Rule::Register => (60, HOUR),
            Rule::Authorize => (120, MINUTE),
            Rule::KeyCheck => (10, MINUTE),
            Rule::Token => (60, MINUTE),
            Rule::Revoke => (60, MINUTE),
            Rule::Discovery => (300, MINUTE),
            Rule::Mcp => (3_000, MINUTE),
            Rule::McpGrant => (1_200, MINUTE),
        };
        Limit {
            count: NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN),
            period,
        }
    }
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3_600);

/// `COUNT` requests per `PERIOD`, at most `COUNT` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub count: NonZeroU32,
    pub period: Duration,
}

impl Limit {
    fn quota(self) -> Quota {
        let every = (self.period / self.count.get()).max(Duration::from_nanos(1));
        Quota::with_period(every)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(self.count)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let period = match self.period.as_secs() {
            1 => "s".to_owned(),
            60 => "min".to_owned(),
            3_600 => "h".to_owned(),
            secs => format!("{secs}s"),
        };
        write!(f, "{}/{period}", self.count)
    }
}

/// One `RULE=COUNT/PERIOD` (or `RULE=off`) from the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleLimit {
    pub rule: Rule,
    /// `None`: the rule is off.
    pub limit: Option<Limit>,
}

impl FromStr for RuleLimit {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let usage = || {
            format!(
                "`{text}`: expected RULE=COUNT/PERIOD (PERIOD: s, min or h) or RULE=off, with RULE one of {}",
                Rule::ALL.map(Rule::name).join(", ")
            )
        };
        let (name, value) = text.split_once('=').ok_or_else(usage)?;
        let rule = (Rule::ALL.into_iter())
            .find(|rule| rule.name() == name.trim())
            .ok_or_else(usage)?;
        let value = value.trim();
        if value.eq_ignore_ascii_case("off") {
            return Ok(RuleLimit { rule, limit: None });
        }
        let (count, period) = value.split_once('/').ok_or_else(usage)?;
        let count = (count.trim().parse::<u32>().ok())
            .and_then(NonZeroU32::new)
            .ok_or_else(usage)?;
        let period = match period.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "min" | "m" => MINUTE,
            "h" | "hour" => HOUR,
            _ => return Err(usage()),
        };
        Ok(RuleLimit {
            rule,
            limit: Some(Limit { count, period }),
        })
    }
}

/// Whether a request may go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Over the limit: try again after this long.
    Limited {
        retry_after: Duration,
    },
}

/// The counters behind the limits. The in-process [`LocalCounters`] serve
/// one replica; a shared store can implement the same two operations.
pub trait Counters: Send + Sync + fmt::Debug {
    /// Counts one request of `key` under `rule`.
    fn admit(&self, rule: Rule, key: &str) -> Admission;
    /// Forgets keys whose bucket is full again, bounding memory.
    fn sweep(&self);
}

/// In-process GCRA counters, one keyed limiter per rule that is on.
pub struct LocalCounters {
    limiters: HashMap<Rule, DefaultKeyedRateLimiter<String>>,
    clock: DefaultClock,
}

impl fmt::Debug for LocalCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCounters")
            .field("rules", &self.limiters.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl LocalCounters {
    /// Counters for the defaults, changed by `overrides` (later ones win).
    pub fn new(overrides: &[RuleLimit]) -> Self {
        let limiters = (limits_in_force(overrides).into_iter())
            .map(|(rule, limit)| (rule, RateLimiter::keyed(limit.quota())))
            .collect();
        LocalCounters {
            limiters,
            clock: DefaultClock::default(),
        }
    }

    /// Keys currently counted, over every rule.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.limiters.values().map(RateLimiter::len).sum()
    }
}

impl Counters for LocalCounters {
    fn admit(&self, rule: Rule, key: &str) -> Admission {
        let Some(limiter) = self.limiters.get(&rule) else {
            return Admission::Allowed;
        };
        match limiter.check_key(&key.to_owned()) {
            Ok(()) => Admission::Allowed,
            Err(not_until) => Admission::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }

    fn sweep(&self) {
        for limiter in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

/// GCRA counters kept in the Redis store, so every replica counts against
/// one limit. A counter that cannot be read admits the request: the store
/// being down is answered on its own (`503`), and an outage must not turn
/// into `429`s that tell clients to wait for the wrong reason.
pub struct SharedCounters {
    redis: Arc<crate::state::store::redis::Redis>,
    limits: HashMap<Rule, Limit>,
}

impl fmt::Debug for SharedCounters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedCounters")
            .field("rules", &self.limits.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SharedCounters {
    /// Counters for the defaults changed by `overrides`, in `redis`.
    pub fn new(redis: Arc<crate::state::store::redis::Redis>, overrides: &[RuleLimit]) -> Self {
        SharedCounters {
            redis,
            limits: limits_in_force(overrides),
        }
    }
}

impl Counters for SharedCounters {
    fn admit(&self, rule: Rule, key: &str) -> Admission {
        let Some(limit) = self.limits.get(&rule) else {
            return Admission::Allowed;
        };
        let interval = (limit.period / limit.count.get()).max(Duration::from_micros(1));
        match self
            .redis
            .admit(rule.name(), key, interval, limit.count.get())
        {
            Ok(None) => Admission::Allowed,
            Ok(Some(retry_after)) => Admission::Limited { retry_after },
            Err(error) => {
                tracing::warn!(error = %format!("{error:#}"), rule = rule.name(), "a shared rate-limit counter could not be read; admitted");
                Admission::Allowed
            }
        }
    }

    /// Redis expires idle counters itself.
    fn sweep(&self) {}
}

/// The limit of each rule that is on: the defaults, changed by `overrides`
/// (later ones win).
fn limits_in_force(overrides: &[RuleLimit]) -> HashMap<Rule, Limit> {
    Rule::ALL
        .into_iter()
        .filter_map(|rule| {
            let limit = (overrides.iter().rev())
                .find(|o| o.rule == rule)
                .map_or(Some(rule.default_limit()), |o| o.limit);
            Some((rule, limit?))
        })
        .collect()
}

/// The limits in force, by address and by grant.
#[derive(Debug, Clone)]
pub struct RateLimits {
    counters: Arc<dyn Counters>,
}

impl RateLimits {
    pub fn new(counters: Arc<dyn Counters>) -> Self {
        RateLimits { counters }
    }

    /// Counts a request from `address` under `rule`.
    pub fn admit_address(&self, rule: Rule, address: IpAddr) -> Admission {
        self.counters.admit(rule, &counted_as(address))
    }

    /// Counts an authenticated `/mcp` request of `subject`.
    pub fn admit_grant(&self, subject: &str) -> Admission {
        self.counters.admit(Rule::McpGrant, subject)
    }

    /// Forgets idle counters every `every`, for as long as the process runs.
    pub fn spawn_sweeper(&self, every: Duration) {
        let counters = Arc::clone(&self.counters);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                counters.sweep();
            }
        });
    }
}

/// Whole seconds to wait, at least 1: the `Retry-After` value.
pub fn retry_after_secs(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rule_limits() {
        let parsed: RuleLimit = "token=5/min".parse().unwrap();
        assert_eq!(parsed.rule, Rule::Token);
        assert_eq!(parsed.limit.unwrap().to_string(), "5/min");
        assert_eq!("mcp=off".parse::<RuleLimit>().unwrap().limit, None);
        for bad in [
            "token",
            "nope=5/min",
            "token=0/min",
            "token=5/week",
            "token=x/s",
        ] {
            assert!(bad.parse::<RuleLimit>().is_err(), "{bad}");
        }
    }

    #[test]
    fn limits_one_key_and_not_another() {
        let counters = LocalCounters::new(&["register=3/h".parse().unwrap()]);
        for _ in 0..3 {
            assert_eq!(counters.admit(Rule::Register, "a"), Admission::Allowed);
        }
        let Admission::Limited { retry_after } = counters.admit(Rule::Register, "a") else {
            panic!("the fourth is over the limit");
        };
        assert!(retry_after > Duration::from_secs(1_000), "{retry_after:?}");
        assert_eq!(counters.admit(Rule::Register, "b"), Admission::Allowed);
        // Rules count separately.
        assert_eq!(counters.admit(Rule::Token, "a"), Admission::Allowed);
    }

    #[test]
    fn a_rule_turned_off_never_limits() {
        let counters = LocalCounters::new(&["key-check=off".parse().unwrap()]);
        for _ in 0..1_000 {
            assert_eq!(counters.admit(Rule::KeyCheck, "a"), Admission::Allowed);
        }
    }

    #[test]
    fn sweeping_forgets_full_buckets() {
        let counters = LocalCounters::new(&["token=1000/s".parse().unwrap()]);
        for key in 0..100 {
            counters.admit(Rule::Token, &key.to_string());
        }
        assert_eq!(counters.len(), 100);
        std::thread::sleep(Duration::from_millis(1_100));
        counters.sweep();
        assert_eq!(counters.len(), 0);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2_001)), 3);
    }
}
