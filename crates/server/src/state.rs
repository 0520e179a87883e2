use std::sync::Arc;

use ginkgo_openbanking::OpenBankingApi;
use ginkgo_openbanking::client::{ClientConfig, HttpClient};
use ginkgo_store::{Store, StoreResult};

use crate::bank::StoreTranIds;
use crate::cache::ReadCache;
use crate::config::Config;
use crate::crypto::TokenCipher;

/// What every handler can reach: the store (behind its trait), the validated configuration and,
/// when bank linking is configured, the Open Banking client and the token cipher.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    config: Config,
    decoy_hash: String,
    bank: Option<Arc<dyn OpenBankingApi>>,
    cipher: Option<TokenCipher>,
    cache: ReadCache,
    categorizers: crate::bank::CategorizerCache,
    /// Argon2id takes 19 MiB and tens of milliseconds per hash: at most this many run at once,
    /// so a burst of logins or sign-ups queues (within the request time limit) instead of
    /// taking memory without bound.
    password_slots: tokio::sync::Semaphore,
    /// Set when shutdown begins: `/readyz` answers 503 from then on.
    shutting_down: std::sync::atomic::AtomicBool,
    /// Per-address budget of the authentication routes.
    auth_limiter: crate::limits::AddressLimiter,
}

/// Password hashes computed at once: one per core, at least two.
fn password_slots() -> tokio::sync::Semaphore {
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    tokio::sync::Semaphore::new(cores.max(2))
}

impl AppState {
    /// Builds the state; the Open Banking client is built from `config.bank` when it names a
    /// center (`Err` when that configuration is unusable).
    pub fn try_new(store: Arc<dyn Store>, config: Config) -> Result<Self, String> {
        let (bank, cipher) = match &config.bank.base_url {
            Some(url) => {
                let b = &config.bank;
                let mut client_config = ClientConfig::new(
                    url,
                    &b.client_id,
                    b.client_secret.expose(),
                    &b.redirect_uri,
                    &b.institution_code,
                );
                client_config.timeout = std::time::Duration::from_secs(b.request_timeout_seconds);
                let tran_ids = Arc::new(StoreTranIds {
                    store: store.clone(),
                    institution_code: b.institution_code.clone(),
                    prefix: b.tran_id_prefix.clone(),
                });
                let client = HttpClient::new(client_config, tran_ids).map_err(|e| e.to_string())?;
                (
                    Some(Arc::new(client) as Arc<dyn OpenBankingApi>),
                    Some(TokenCipher::new(b.token_key.expose())),
                )
            }
            None => (None, None),
        };
        Ok(AppState {
            inner: Arc::new(Inner {
                cache: ReadCache::new(std::time::Duration::from_millis(config.read_cache_ms)),
                store,
                decoy_hash: crate::auth::decoy_hash(),
                bank,
                cipher,
                categorizers: Default::default(),
                password_slots: password_slots(),
                shutting_down: Default::default(),
                auth_limiter: crate::limits::AddressLimiter::new(
                    config.limits.auth_requests_per_minute,
                ),
                config,
            }),
        })
    }

    /// [`AppState::try_new`], with bank linking switched off (and logged) when its configuration
    /// is unusable.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Self {
        match Self::try_new(store.clone(), config.clone()) {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "bank linking disabled: unusable configuration");
                let mut config = config;
                config.bank.base_url = None;
                AppState {
                    inner: Arc::new(Inner {
                        cache: ReadCache::new(std::time::Duration::from_millis(
                            config.read_cache_ms,
                        )),
                        store,
                        decoy_hash: crate::auth::decoy_hash(),
                        bank: None,
                        cipher: None,
                        categorizers: Default::default(),
                        password_slots: password_slots(),
                        shutting_down: Default::default(),
                        auth_limiter: crate::limits::AddressLimiter::new(
                            config.limits.auth_requests_per_minute,
                        ),
                        config,
                    }),
                }
            }
        }
    }

    /// Runs a password hash or verification on the blocking pool, a bounded number at a time.
    pub async fn password_work<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, crate::error::ApiError> {
        crate::metrics::password_waiting(1.0);
        let slot = self.inner.password_slots.acquire().await;
        crate::metrics::password_waiting(-1.0);
        let _slot = slot.map_err(|_| crate::error::ApiError::internal())?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|_| crate::error::ApiError::internal())
    }

    /// Marks the server as shutting down (not ready); there is no way back.
    pub fn begin_shutdown(&self) {
        self.inner
            .shutting_down
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    pub fn auth_limiter(&self) -> &crate::limits::AddressLimiter {
        &self.inner.auth_limiter
    }

    pub fn is_shutting_down(&self) -> bool {
        self.inner
            .shutting_down
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn store(&self) -> &dyn Store {
        &*self.inner.store
    }

    pub fn store_arc(&self) -> Arc<dyn Store> {
        self.inner.store.clone()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn jwt_key(&self) -> &[u8] {
        self.inner.config.auth.jwt_secret.expose().as_bytes()
    }

    pub fn decoy_hash(&self) -> &str {
        &self.inner.decoy_hash
    }

    pub fn bank(&self) -> Option<&Arc<dyn OpenBankingApi>> {
        self.inner.bank.as_ref()
    }

    pub fn cache(&self) -> &ReadCache {
        &self.inner.cache
    }

    pub fn cipher(&self) -> Option<&TokenCipher> {
        self.inner.cipher.as_ref()
    }

    /// Categorisers per login and rule set (see [`crate::bank::CategorizerCache`]).
    pub fn categorizers(&self) -> &crate::bank::CategorizerCache {
        &self.inner.categorizers
    }
}

/// Opens the store named by the URL: `sqlite:…` or `postgres://…`. The backend is chosen here,
/// once.
pub async fn open_store(url: &str) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            ginkgo_store_postgres::PostgresStore::connect(url).await?,
        ))
    } else {
        Ok(Arc::new(
            ginkgo_store_sqlite::SqliteStore::connect(url).await?,
        ))
    }
}
