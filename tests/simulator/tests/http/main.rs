//! HTTP-level tests: start the simulator and talk to it with reqwest.

mod api;
mod auth;
mod faults;
mod limits;
mod support;
mod validation;
