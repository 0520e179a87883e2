//! Black-box tests of the HTTP API: the real server on a free port, a fresh database per test.

#[path = "api/helpers.rs"]
mod helpers;

#[path = "api/assets.rs"]
mod assets;
#[path = "api/attacks.rs"]
mod attacks;
#[path = "api/auth.rs"]
mod auth;
#[path = "api/bad_input.rs"]
mod bad_input;
#[path = "api/bank.rs"]
mod bank;
#[path = "api/bank_sync.rs"]
mod bank_sync;
#[path = "api/bank_testbed.rs"]
mod bank_testbed;
#[path = "api/batch.rs"]
mod batch;
#[path = "api/browser.rs"]
mod browser;
#[path = "api/browser_support.rs"]
mod browser_support;
#[path = "api/deliveries.rs"]
mod deliveries;
#[path = "api/deposits.rs"]
mod deposits;
#[path = "api/insight.rs"]
mod insight;
#[path = "api/investments.rs"]
mod investments;
#[path = "api/openapi.rs"]
mod openapi;
#[path = "api/operations.rs"]
mod operations;
#[path = "api/property.rs"]
mod property;
