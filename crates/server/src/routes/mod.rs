pub mod assets;
pub mod auth;
pub mod bank;
pub mod batch;
pub mod deposits;
pub mod insight;
pub mod investments;
pub mod system;
