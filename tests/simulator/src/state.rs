//! The simulator's shared, mutable state: workspaces, the journal, faults and rate limits.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::faults::FaultQueue;
use crate::journal::{Journal, RecordedRequest, Violation};
use crate::limits::RateLimiter;
use crate::model::Workspace;
use crate::seed::Seed;
use crate::spec::Spec;

/// Everything a request handler may touch; one per running simulator.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) spec: Arc<Spec>,
    initial: Seed,
    rate_limit: Option<u32>,
    pub(crate) data: Mutex<Data>,
    pub(crate) journal: Mutex<Journal>,
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) limiter: Mutex<RateLimiter>,
}

/// The workspaces as changed by requests, and what was created through the API.
#[derive(Debug)]
pub(crate) struct Data {
    pub(crate) seed: Seed,
    /// `data` of every `202` answer to `POST /v1/messages`, in order.
    pub(crate) sent_messages: Vec<Value>,
    next_seq: u64,
}

/// Sequence numbers for records created at run time start above any seeded one.
const FIRST_RUNTIME_SEQ: u64 = 1_000_000;

impl Data {
    fn new(seed: Seed) -> Self {
        Self {
            seed,
            sent_messages: Vec::new(),
            next_seq: FIRST_RUNTIME_SEQ,
        }
    }

    /// A fresh number for a created record (also used to make its id).
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    pub(crate) fn workspace(&self, key: &str) -> Option<&Workspace> {
        self.seed.workspace(key)
    }

    pub(crate) fn workspace_mut(&mut self, key: &str) -> Option<&mut Workspace> {
        self.seed.workspace_mut(key)
    }
}

impl Shared {
    pub(crate) fn new(spec: Arc<Spec>, seed: Seed, rate_limit: Option<u32>) -> Self {
        Self {
            spec,
            data: Mutex::new(Data::new(seed.clone())),
            initial: seed,
            rate_limit,
            journal: Mutex::default(),
            faults: Mutex::default(),
            limiter: Mutex::new(RateLimiter::new(rate_limit)),
        }
    }

    /// Every recorded request, in arrival order.
    pub(crate) fn recorded_requests(&self) -> Vec<RecordedRequest> {
        let mut requests = lock(&self.journal).requests.clone();
        requests.sort_by_key(|request| request.seq);
        requests
    }

    /// Every recorded violation, in arrival order.
    pub(crate) fn recorded_violations(&self) -> Vec<Violation> {
        let mut violations = lock(&self.journal).violations.clone();
        violations.sort_by_key(|violation| violation.seq);
        violations
    }

    /// Back to the seed: data, journal, faults and rate-limit windows.
    pub(crate) fn reset(&self) {
        *lock(&self.data) = Data::new(self.initial.clone());
        lock(&self.journal).clear();
        lock(&self.faults).clear();
        *lock(&self.limiter) = RateLimiter::new(self.rate_limit);
    }
}

/// Locks `mutex`, carrying on after a panic elsewhere (the data stays usable for assertions).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::BUSINESS_KEY;
    use crate::spec::{default_spec_path, load_cached};

    #[test]
    fn reset_restores_the_seed() {
        let shared = Shared::new(
            load_cached(&default_spec_path()).expect("spec"),
            Seed::default(),
            Some(10),
        );
        {
            let mut data = lock(&shared.data);
            let seq = data.next_seq();
            assert!(seq > FIRST_RUNTIME_SEQ);
            data.workspace_mut(BUSINESS_KEY)
                .expect("business")
                .messages
                .clear();
            data.sent_messages.push(Value::Null);
        }
        lock(&shared.journal).next_seq();
        shared.reset();
        let data = lock(&shared.data);
        assert!(
            !data
                .workspace(BUSINESS_KEY)
                .expect("business")
                .messages
                .is_empty()
        );
        assert!(data.sent_messages.is_empty());
        assert_eq!(lock(&shared.journal).next_seq(), 1);
    }
}
