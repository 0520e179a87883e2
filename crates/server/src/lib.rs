//! Ginkgo's HTTP server: the REST API (documented by OpenAPI), authentication, and the jobs a
//! running server schedules. Handlers talk to storage only through `ginkgo_store::Store`.

pub mod apidocs;
pub mod app;
pub mod auth;
pub mod bank;
pub mod cache;
pub mod config;
pub mod crypto;
pub mod error;
pub mod extract;
pub mod insight;
pub mod jobs;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod web;

pub use app::{router, serve};
pub use config::Config;
pub use state::{AppState, open_store};
