use thiserror::Error;

/// Everything a store can answer besides success. The HTTP edge maps each variant once.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("rejected: {0}")]
    Rejected(String),
    /// The database is unreachable or refused the connection; the request may succeed later.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A lock or the single SQLite writer is busy for longer than the configured wait.
    #[error("database busy: {0}")]
    Busy(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("database error: {0}")]
    Internal(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The `Conflict` message when a login with that email exists.
pub const EMAIL_TAKEN: &str = "an account with this email already exists";
/// The `Conflict` message when the customer record already has a login.
pub const CUSTOMER_HAS_LOGIN: &str = "this customer already has a login";
