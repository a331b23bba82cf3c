//! Durable state: the store and the protocols kept in it.

pub(crate) mod idempotency;
pub(crate) mod ledger;
pub(crate) mod store;
