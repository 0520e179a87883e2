//! Backups of a running database with SQLite's online backup API, and their restore.
//!
//! In WAL mode one backup step over every page reads one consistent snapshot while the server
//! keeps reading and writing: the copy is the database as of one commit.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ginkgo_store::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};

/// What a backup or a restore checked.
#[derive(Debug, Clone)]
pub struct BackupReport {
    pub bytes: u64,
    /// The migrations the copy has, in order.
    pub migrations: Vec<String>,
}

fn sqlite_error(what: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Internal(format!("{what}: {e}"))
}

/// Copies every page of `from` into `to` (one consistent snapshot).
fn copy(from: &Connection, to: &mut Connection) -> StoreResult<()> {
    let backup = rusqlite::backup::Backup::new(from, to).map_err(|e| sqlite_error("backup", e))?;
    loop {
        match backup
            .step(-1)
            .map_err(|e| sqlite_error("backup step", e))?
        {
            rusqlite::backup::StepResult::Done => return Ok(()),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// Checks that `path` is a sound Ginkgo database that this build can open: SQLite's integrity
/// check passes and every migration it has is one this build knows.
pub fn check(path: &Path) -> StoreResult<BackupReport> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| StoreError::Config(format!("cannot open {}: {e}", path.display())))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| {
            StoreError::Config(format!("{} is not a SQLite database: {e}", path.display()))
        })?;
    if integrity != "ok" {
        return Err(StoreError::Config(format!(
            "{} fails SQLite's integrity check: {integrity}",
            path.display()
        )));
    }
    let migrations: Vec<String> = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .and_then(|mut st| {
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()
        })
        .map_err(|e| {
            StoreError::Config(format!("{} is not a Ginkgo database: {e}", path.display()))
        })?;
    let known = crate::migrate::versions();
    if let Some(newer) = migrations.iter().find(|m| !known.contains(&m.as_str())) {
        return Err(StoreError::Config(format!(
            "{} has migration {newer}, which this build does not know: restore it with the version of ginkgo that made it",
            path.display()
        )));
    }
    if migrations.is_empty() {
        return Err(StoreError::Config(format!(
            "{} has no migrations: not a Ginkgo database",
            path.display()
        )));
    }
    let bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { bytes, migrations })
}

/// Makes a consistent copy of the database at `source` (which a server may be using) in the new
/// file `dest` (0600), then checks the copy.
pub fn backup(source: &Path, dest: &Path) -> StoreResult<BackupReport> {
    if dest.exists() {
        return Err(StoreError::Config(format!(
            "{} exists already; choose a new file",
            dest.display()
        )));
    }
    if !source.exists() {
        return Err(StoreError::Config(format!(
            "there is no database at {}",
            source.display()
        )));
    }
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::create_private_dir(parent)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", parent.display())))?;
    }
    crate::create_private_file(dest)
        .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dest.display())))?;
    let result = (|| {
        let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sqlite_error("open the database", e))?;
        from.busy_timeout(Duration::from_secs(30))
            .map_err(|e| sqlite_error("busy timeout", e))?;
        let mut to = Connection::open(dest).map_err(|e| sqlite_error("open the copy", e))?;
        copy(&from, &mut to)?;
        // A single file: the copy needs no -wal beside it.
        to.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| sqlite_error("journal mode", e))?;
        drop(to);
        check(dest)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

/// Puts the backup `source` in place of the database at `dest`, after checking it. The server
/// must be stopped. The database it replaces is kept beside it
/// (`<name>.before-restore-<unix time>`, with its `-wal`), so nothing is lost; answers that
/// path (if there was one) and what was checked.
pub fn restore(source: &Path, dest: &Path) -> StoreResult<(Option<PathBuf>, BackupReport)> {
    let report = check(source)?;
    if let Some(parent) = dest.parent().filter(|p| !p.as_os_str().is_empty()) {
        crate::create_private_dir(parent)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", parent.display())))?;
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "ginkgo.db".into());
    let staging = dest.with_file_name(format!("{name}.restoring"));
    let _ = std::fs::remove_file(&staging);
    crate::create_private_file(&staging)
        .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", staging.display())))?;
    let staged = (|| {
        let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| sqlite_error("open the backup", e))?;
        let mut to = Connection::open(&staging).map_err(|e| sqlite_error("open the copy", e))?;
        copy(&from, &mut to)?;
        to.pragma_update(None, "journal_mode", "DELETE")
            .map_err(|e| sqlite_error("journal mode", e))?;
        drop(to);
        check(&staging)
    })();
    if let Err(e) = staged {
        let _ = std::fs::remove_file(&staging);
        return Err(e);
    }
    let kept = if dest.exists() {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let aside = dest.with_file_name(format!("{name}.before-restore-{stamp}"));
        std::fs::rename(dest, &aside)
            .map_err(|e| StoreError::Config(format!("cannot move the old database aside: {e}")))?;
        for suffix in ["-wal", "-shm"] {
            let side = dest.with_file_name(format!("{name}{suffix}"));
            if side.exists() {
                let _ = std::fs::rename(
                    &side,
                    aside.with_file_name(format!(
                        "{}{suffix}",
                        aside
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default()
                    )),
                );
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&staging, dest)
        .map_err(|e| StoreError::Config(format!("cannot put the backup in place: {e}")))?;
    Ok((kept, report))
}
