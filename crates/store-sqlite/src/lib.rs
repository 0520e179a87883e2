//! Ginkgo's embedded SQLite store: the default backend, zero set-up.
//!
//! One writer connection (SQLite allows one writer at a time) and a small pool of reader
//! connections, all in WAL mode, so reads never wait for a write. Every call runs on tokio's
//! blocking pool: the async runtime never waits on the database.

mod auth;
pub mod backup;
mod bank;
mod conn;
mod invest;
mod migrate;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use ginkgo_store::{Store, StoreError, StoreResult};

pub use conn::Pools;

/// A Ginkgo store on one SQLite database file.
#[derive(Clone)]
pub struct SqliteStore {
    pools: Arc<Pools>,
}

impl SqliteStore {
    /// Opens (creating it and its folder if needed) the database at `url`
    /// (`sqlite://relative/path.db`, `sqlite:///absolute/path.db` or `sqlite:path.db`) and
    /// applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let path = path_from_url(url)?;
        Self::open(&path).await
    }

    pub async fn open(path: &Path) -> StoreResult<SqliteStore> {
        let path = path.to_path_buf();
        let pools = tokio::task::spawn_blocking(move || -> StoreResult<Pools> {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                create_private_dir(parent).map_err(|e| {
                    StoreError::Config(format!("cannot create folder {}: {e}", parent.display()))
                })?;
            }
            create_private_file(&path).map_err(|e| {
                StoreError::Config(format!("cannot create {}: {e}", path.display()))
            })?;
            let pools = Pools::open(&path, 4)?;
            pools.with_writer(migrate::run)?;
            Ok(pools)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("open task failed: {e}")))??;
        Ok(SqliteStore {
            pools: Arc::new(pools),
        })
    }

    /// The names of the migrations applied, in order.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        self.pools
            .read(|c| {
                let mut st = c.prepare("SELECT version FROM schema_migrations ORDER BY version")?;
                let rows = st.query_map([], |r| r.get::<_, String>(0))?;
                rows.collect()
            })
            .await
    }
}

/// `sqlite://data/ginkgo.db` → `data/ginkgo.db`; `sqlite:///tmp/x.db` → `/tmp/x.db`.
pub fn path_from_url(url: &str) -> StoreResult<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Config(format!("not a sqlite URL: {url}")))?;
    let rest = rest.split('?').next().unwrap_or(rest);
    if rest.is_empty() {
        return Err(StoreError::Config(
            "the sqlite URL names no file (expected e.g. sqlite://data/ginkgo.db)".into(),
        ));
    }
    if rest == ":memory:" {
        return Err(StoreError::Config(
            "in-memory SQLite is not supported: Ginkgo needs a file (WAL mode)".into(),
        ));
    }
    Ok(PathBuf::from(rest))
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> StoreResult<()> {
        let missing = self.pools.read(migrate::missing).await?;
        match missing.first() {
            None => Ok(()),
            Some(v) => Err(StoreError::Unavailable(format!(
                "migration {v} is not applied (run `ginkgo migrate`)"
            ))),
        }
    }
}

/// Creates `dir` (and its missing parents) readable by this user only (0700); an existing
/// folder is left as it is.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Creates the database file empty, readable by this user only (0600), when it does not exist:
/// SQLite gives its `-wal` and `-shm` files the database file's permissions. An existing file
/// that others may read is only warned of.
pub(crate) fn create_private_file(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)?.permissions().mode();
                if mode & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        mode = format_args!("{:o}", mode & 0o777),
                        "the database file is readable by others: chmod 600 it and its -wal and -shm files"
                    );
                }
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_files() {
        assert_eq!(
            path_from_url("sqlite://a/b.db").ok(),
            Some(PathBuf::from("a/b.db"))
        );
        assert_eq!(
            path_from_url("sqlite:///tmp/b.db").ok(),
            Some(PathBuf::from("/tmp/b.db"))
        );
        assert_eq!(
            path_from_url("sqlite:b.db?mode=rwc").ok(),
            Some(PathBuf::from("b.db"))
        );
        assert!(path_from_url("postgres://x").is_err());
        assert!(path_from_url("sqlite://").is_err());
        assert!(path_from_url("sqlite::memory:").is_err());
    }
}
