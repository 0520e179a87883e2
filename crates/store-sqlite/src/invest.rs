use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::snapshot::{RejectRecord, SnapshotFile, WarningRecord};
use ginkgo_domain::{AccountNumber, Signature, Won};
use ginkgo_store::load::RejectEffects;
use ginkgo_store::{
    AccountId, AccountSummary, ConfirmOutcome, Deposit, DepositAttempt, DepositRefusal,
    DepositStatus, FailedRun, GoodCounts, HistoryPoint, HoldingLine, InvestmentStore, LoadMessage,
    NewDeposit, Partial, ReplaceDiff, RunCounts, RunFile, RunFindings, RunId, RunRecord, RunStatus,
    Scope, SnapshotLoad, StaleAccount, StoreError, StoreResult, UserId, date_key,
};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::SqliteStore;
use crate::auth::ts;
use crate::conn::map_err;

const SUMMARY_SELECT: &str = "SELECT a.id, a.account_number, a.name, b.name, a.customer_id, \
     c.name, a.total_assets, a.principal, a.as_of, a.principal_unknown, a.principal_since, \
     a.partial_rows, a.partial_since \
     FROM accounts a JOIN brokers b ON b.id = a.broker_id JOIN customers c ON c.id = a.customer_id";

fn summary_from_row(r: &Row<'_>) -> rusqlite::Result<AccountSummary> {
    let unknown: i64 = r.get(9)?;
    Ok(AccountSummary {
        id: r.get(0)?,
        account_number: r.get(1)?,
        account_name: r.get(2)?,
        broker: r.get(3)?,
        customer_id: r.get(4)?,
        customer_name: r.get(5)?,
        total_assets: Won::new(r.get(6)?),
        principal: (unknown == 0).then(|| Won::new(r.get(7).unwrap_or(0))),
        principal_since: opt_date(r.get(10)?),
        as_of: opt_date(r.get(8)?),
        partial: Partial::from_parts(r.get(11)?, opt_date(r.get(12)?)),
    })
}

fn opt_date(d: Option<String>) -> Option<NaiveDate> {
    d.and_then(|d| d.parse().ok())
}

fn file_text(f: SnapshotFile) -> &'static str {
    f.as_str()
}

fn overflow() -> StoreError {
    StoreError::Rejected("an amount overflowed while loading".into())
}

/// Accounts in `scope`, `None` = any. A customer sees only their own active accounts.
fn scope_clause(scope: Scope) -> (String, Option<i64>) {
    match scope {
        Scope::Customer(id) => (" AND a.customer_id = ?".to_string(), Some(id)),
        Scope::Operator => (String::new(), None),
    }
}

fn account_in_scope(c: &Connection, scope: Scope, id: AccountId) -> rusqlite::Result<bool> {
    let (clause, cust) = scope_clause(scope);
    let sql = format!(
        "SELECT EXISTS(SELECT 1 FROM accounts a WHERE a.id = ? AND a.status = 'active'{clause})"
    );
    match cust {
        Some(cust) => c.query_row(&sql, params![id, cust], |r| r.get(0)),
        None => c.query_row(&sql, params![id], |r| r.get(0)),
    }
}

fn run_from_row(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let date: String = r.get(1)?;
    let status: String = r.get(2)?;
    let files: String = r.get(5)?;
    Ok(RunRecord {
        id: r.get(0)?,
        business_date: date.parse().unwrap_or_default(),
        status: RunStatus::parse(&status),
        started_at: ts(r.get(3)?),
        duration_ms: r.get(4)?,
        files: serde_json::from_str::<Vec<RunFile>>(&files).unwrap_or_default(),
        counts: RunCounts {
            rows_read: r.get::<_, i64>(6)? as u64,
            rows_loaded: r.get::<_, i64>(7)? as u64,
            rows_rejected: r.get::<_, i64>(8)? as u64,
            warnings: r.get::<_, i64>(9)? as u64,
            instruments_loaded: r.get::<_, i64>(13)? as u64,
            holdings_loaded: r.get::<_, i64>(14)? as u64,
            principals_loaded: r.get::<_, i64>(15)? as u64,
        },
        accounts_loaded: r.get::<_, i64>(10)? as u64,
        accounts_deactivated: r.get::<_, i64>(11)? as u64,
        error: r.get(12)?,
        previous: match r.get::<_, Option<i64>>(16)? {
            Some(accounts) => Some(GoodCounts {
                accounts: accounts as u64,
                holdings: r.get::<_, Option<i64>>(17)?.unwrap_or(0) as u64,
                instruments: r.get::<_, Option<i64>>(18)?.unwrap_or(0) as u64,
                principals: r.get::<_, Option<i64>>(19)?.unwrap_or(0) as u64,
            }),
            None => None,
        },
        released_by: r.get(20)?,
        releases: r.get(21)?,
        source_dir: r.get(22)?,
        replaced: match r.get::<_, Option<i64>>(23)? {
            Some(replaced_run) => Some(ReplaceDiff {
                replaced_run,
                accounts_added: r.get::<_, Option<i64>>(24)?.unwrap_or(0) as u64,
                accounts_removed: r.get::<_, Option<i64>>(25)?.unwrap_or(0) as u64,
                accounts_changed: r.get::<_, Option<i64>>(26)?.unwrap_or(0) as u64,
            }),
            None => None,
        },
    })
}

const RUN_SELECT: &str = "SELECT id, business_date, status, started_at, duration_ms, files, \
     rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, accounts_deactivated, error, \
     instruments_loaded, holdings_loaded, principals_loaded, prev_accounts, prev_holdings, \
     prev_instruments, prev_principals, released_by, releases, source_dir, replaced_run, \
     replace_added, replace_removed, replace_changed \
     FROM batch_runs";

fn deposit_from_row(r: &Row<'_>) -> rusqlite::Result<Deposit> {
    let status: String = r.get(4)?;
    let expires_at = ts(r.get(6)?);
    Ok(Deposit {
        identifier: r.get(0)?,
        account_id: r.get(1)?,
        account_number: r.get(2)?,
        amount: Won::new(r.get(3)?),
        status: match status.as_str() {
            "confirmed" => DepositStatus::Confirmed,
            _ if expires_at <= Utc::now() => DepositStatus::Expired,
            _ => DepositStatus::Pending,
        },
        created_at: ts(r.get(5)?),
        expires_at,
        confirmed_at: r.get::<_, Option<i64>>(7)?.map(ts),
    })
}

const DEPOSIT_SELECT: &str = "SELECT d.identifier, d.account_id, a.account_number, d.amount, \
     d.status, d.created_at, d.expires_at, d.confirmed_at FROM deposits d \
     JOIN accounts a ON a.id = d.account_id";

fn record_attempt(
    c: &Connection,
    user_id: UserId,
    phase: i64,
    identifier: Option<&str>,
    outcome: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO deposit_attempts (user_id, phase, identifier, outcome, at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![user_id, phase, identifier, outcome, at.timestamp_millis()],
    )
    .map_err(map_err)?;
    Ok(())
}

/// Adds `amount` to an account's cash line (creating it) and to its principal and total.
fn apply_deposit(c: &Connection, account_id: AccountId, amount: i64) -> StoreResult<()> {
    let cash_id: i64 = c
        .query_row("SELECT id FROM instruments WHERE isin = 'CASH'", [], |r| {
            r.get(0)
        })
        .map_err(map_err)?;
    let updated = c
        .execute(
            "UPDATE holdings SET price = price + ?1 \
             WHERE account_id = ?2 AND instrument_id = ?3 AND quantity = 1",
            params![amount, account_id, cash_id],
        )
        .map_err(map_err)?;
    if updated == 0 {
        c.execute(
            "INSERT INTO holdings (account_id, instrument_id, quantity, price) VALUES (?1, ?2, 1, ?3)",
            params![account_id, cash_id, amount],
        )
        .map_err(map_err)?;
    }
    c.execute(
        "UPDATE accounts SET principal = principal + ?1, total_assets = total_assets + ?1 \
         WHERE id = ?2",
        params![amount, account_id],
    )
    .map_err(map_err)?;
    Ok(())
}

fn upsert_named(tx: &Transaction<'_>, table: &str, name: &str) -> StoreResult<i64> {
    tx.query_row(
        &format!(
            "INSERT INTO {table} (name) VALUES (?1) ON CONFLICT(name) DO UPDATE SET name = excluded.name \
             RETURNING id"
        ),
        [name],
        |r| r.get(0),
    )
    .map_err(map_err)
}

struct SeenAccount {
    id: AccountId,
    total: i64,
    /// Today's principal row, if the day has one.
    principal: Option<i64>,
}

/// Customer ids remembered while loading; bounded so a day of a million customers does not keep
/// a million names in memory (a miss costs one upsert).
const CUSTOMER_CACHE: usize = 100_000;

fn load_blocking(c: &mut Connection, load: SnapshotLoad) -> StoreResult<RunRecord> {
    // A larger page cache for the load's random index work (accounts, customers), then back.
    c.pragma_update(None, "cache_size", -LOAD_CACHE_KIB)
        .map_err(map_err)?;
    let result = load_in_transaction(c, load);
    let _ = c.pragma_update(None, "cache_size", -2000);
    result
}

/// Page cache during a load, in KiB.
const LOAD_CACHE_KIB: i64 = 48 * 1024;

/// The last committed run's good rows (`None` before the first run ever).
fn previous_good(tx: &Transaction<'_>) -> StoreResult<Option<GoodCounts>> {
    tx.query_row(
        "SELECT accounts_loaded, holdings_loaded, instruments_loaded, principals_loaded \
         FROM batch_runs WHERE status = 'committed' ORDER BY id DESC LIMIT 1",
        [],
        |r| {
            Ok(GoodCounts {
                accounts: r.get::<_, i64>(0)? as u64,
                holdings: r.get::<_, i64>(1)? as u64,
                instruments: r.get::<_, i64>(2)? as u64,
                principals: r.get::<_, i64>(3)? as u64,
            })
        },
    )
    .optional()
    .map_err(map_err)
}

/// Refuses to release `held` unless it is a held run not yet released and no delivery for its
/// date committed after it.
fn check_release(tx: &Transaction<'_>, held: RunId) -> StoreResult<()> {
    let row: Option<(String, String, Option<i64>)> = tx
        .query_row(
            "SELECT status, business_date, released_by FROM batch_runs WHERE id = ?1",
            [held],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(map_err)?;
    let Some((status, date, released_by)) = row else {
        return Err(StoreError::NotFound);
    };
    let newer: bool = tx
        .query_row(
            "SELECT EXISTS(SELECT 1 FROM batch_runs WHERE business_date = ?1 \
             AND status = 'committed' AND id > ?2)",
            params![date, held],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    ginkgo_store::load::release_refusal(&status, released_by, newer)
}

/// The deposits confirmed on or after the load's date (`?1`) of the account `account` (a
/// column of the enclosing row): they are applied again after the load, so a value carried from
/// before must not hold them already.
fn later_deposits(account: &str) -> String {
    format!(
        "SELECT COALESCE(SUM(d.amount), 0) FROM deposits d WHERE d.account_id = {account} \
         AND d.status = 'confirmed' AND d.confirmed_date >= ?1"
    )
}

/// What the streaming part of a load ended with.
enum Streamed {
    Loaded {
        counts: RunCounts,
        rejects: Vec<RejectRecord>,
        warnings: Vec<WarningRecord>,
    },
    Held {
        reason: String,
        good: GoodCounts,
        previous: GoodCounts,
        counts: RunCounts,
        rejects: Vec<RejectRecord>,
        warnings: Vec<WarningRecord>,
    },
}

fn record_held(
    c: &mut Connection,
    load: &SnapshotLoad,
    started: std::time::Instant,
    held: Streamed,
) -> StoreResult<RunRecord> {
    let Streamed::Held {
        reason,
        good,
        previous,
        counts,
        rejects,
        warnings,
    } = held
    else {
        return Err(StoreError::Internal("not a held run".into()));
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let files = serde_json::to_string(&load.files).unwrap_or_else(|_| "[]".into());
    let tx = c.transaction().map_err(map_err)?;
    let run_id: RunId = tx
        .query_row(
            "INSERT INTO batch_runs (business_date, status, started_at, duration_ms, files, \
             rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, accounts_deactivated, \
             error, instruments_loaded, holdings_loaded, principals_loaded, prev_accounts, \
             prev_holdings, prev_instruments, prev_principals, source_dir) \
             VALUES (?1, 'held', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?12, ?13, ?14, ?15, \
             ?16, ?17, ?18) RETURNING id",
            params![
                date_key(load.business_date),
                load.started_at.timestamp_millis(),
                duration_ms,
                files,
                counts.rows_read as i64,
                counts.rows_loaded as i64,
                counts.rows_rejected as i64,
                counts.warnings as i64,
                good.accounts as i64,
                reason,
                good.instruments as i64,
                good.holdings as i64,
                good.principals as i64,
                previous.accounts as i64,
                previous.holdings as i64,
                previous.instruments as i64,
                previous.principals as i64,
                load.source_dir,
            ],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    insert_findings(&tx, run_id, &rejects, &warnings)?;
    let record = tx
        .query_row(
            &format!("{RUN_SELECT} WHERE id = ?1"),
            [run_id],
            run_from_row,
        )
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(record)
}

fn load_in_transaction(c: &mut Connection, mut load: SnapshotLoad) -> StoreResult<RunRecord> {
    let started = std::time::Instant::now();
    let tx = c
        .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
        .map_err(map_err)?;
    let date = date_key(load.business_date);
    // This load's mark on the accounts it delivers: greater than any earlier load's (loads
    // are serialised by the writer), so a same-date replacement can tell its accounts apart.
    let seq: i64 = tx
        .query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM batch_runs", [], |r| {
            r.get(0)
        })
        .map_err(map_err)?;
    if let Some(held) = load.release_of {
        check_release(&tx, held)?;
    }
    let previous = previous_good(&tx)?;
    let replaced: Option<RunId> = tx
        .query_row(
            "SELECT id FROM batch_runs WHERE business_date = ?1 AND status = 'committed' \
             ORDER BY id DESC LIMIT 1",
            [&date],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;

    // Instruments and asset groups, by natural key.
    let mut instrument_ids: HashMap<String, i64> = HashMap::new();
    for ins in &load.instruments {
        let group = upsert_named(&tx, "asset_groups", &ins.asset_group)?;
        let id: i64 = tx
            .query_row(
                "INSERT INTO instruments (isin, name, asset_group_id) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(isin) DO UPDATE SET name = excluded.name, \
                 asset_group_id = excluded.asset_group_id RETURNING id",
                params![ins.isin.as_str(), ins.name, group],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        instrument_ids.insert(ins.isin.as_str().to_string(), id);
    }
    if !instrument_ids.contains_key("CASH") {
        let id: i64 = tx
            .query_row("SELECT id FROM instruments WHERE isin = 'CASH'", [], |r| {
                r.get(0)
            })
            .map_err(map_err)?;
        instrument_ids.insert("CASH".into(), id);
    }

    tx.execute_batch(
        "DROP TABLE IF EXISTS holdings_next;
         CREATE TABLE holdings_next (
             account_id INTEGER NOT NULL, instrument_id INTEGER NOT NULL,
             quantity INTEGER NOT NULL, price INTEGER NOT NULL, stale_since TEXT);",
    )
    .map_err(map_err)?;

    let mut customers: HashMap<String, i64> = HashMap::new();
    let mut brokers: HashMap<String, i64> = HashMap::new();
    // Keyed by the packed number: a million accounts without a string each.
    let mut seen: HashMap<[u64; 2], SeenAccount> = HashMap::new();
    let mut unseen_principals: Vec<(String, i64)> = Vec::new();
    let streamed;
    {
        let mut insert = tx
            .prepare_cached(
                "INSERT INTO holdings_next (account_id, instrument_id, quantity, price) \
                 VALUES (?1, ?2, ?3, ?4)",
            )
            .map_err(map_err)?;
        let mut upsert_customer = tx
            .prepare_cached(
                "INSERT INTO customers (name, created_at) VALUES (?1, ?2) \
                 ON CONFLICT(name) DO UPDATE SET name = excluded.name RETURNING id",
            )
            .map_err(map_err)?;
        // A new account has no `as_of` until the day's figures are written (so "no earlier
        // value" can be told apart); status and date are set with the figures.
        let mut upsert_account = tx
            .prepare_cached(
                "INSERT INTO accounts (account_number, customer_id, broker_id, name, status) \
                 VALUES (?1, ?2, ?3, ?4, 'active') \
                 ON CONFLICT(account_number) DO UPDATE SET customer_id = excluded.customer_id, \
                 broker_id = excluded.broker_id, name = excluded.name RETURNING id",
            )
            .map_err(map_err)?;
        let now_ms = Utc::now().timestamp_millis();
        loop {
            let Some(msg) = load.holdings.blocking_recv() else {
                return Err(StoreError::Rejected(
                    "the snapshot reader stopped before finishing".into(),
                ));
            };
            match msg {
                LoadMessage::Holdings(rows) => {
                    for h in rows {
                        let number = h.account_number.as_str();
                        let key = h.account_number.packed();
                        let account = match seen.get_mut(&key) {
                            Some(a) => a,
                            None => {
                                let cust = match customers.get(h.customer_name.as_str()) {
                                    Some(id) => *id,
                                    None => {
                                        let id: i64 = upsert_customer
                                            .query_row(
                                                params![h.customer_name.as_str(), now_ms],
                                                |r| r.get(0),
                                            )
                                            .map_err(map_err)?;
                                        if customers.len() >= CUSTOMER_CACHE {
                                            customers.clear();
                                        }
                                        customers.insert(h.customer_name.as_str().to_string(), id);
                                        id
                                    }
                                };
                                let broker = match brokers.get(&h.broker) {
                                    Some(id) => *id,
                                    None => {
                                        let id = upsert_named(&tx, "brokers", &h.broker)?;
                                        brokers.insert(h.broker.clone(), id);
                                        id
                                    }
                                };
                                let id: i64 = upsert_account
                                    .query_row(params![number, cust, broker, h.account_name], |r| {
                                        r.get(0)
                                    })
                                    .map_err(map_err)?;
                                seen.entry(key).or_insert(SeenAccount {
                                    id,
                                    total: 0,
                                    principal: None,
                                })
                            }
                        };
                        let instrument = *instrument_ids.get(h.isin.as_str()).ok_or_else(|| {
                            StoreError::Rejected(format!(
                                "holding refers to instrument {} missing from the instrument file",
                                h.isin
                            ))
                        })?;
                        let value = h.price.checked_mul(h.quantity).map_err(|_| overflow())?;
                        account.total = account
                            .total
                            .checked_add(value.get())
                            .ok_or_else(overflow)?;
                        insert
                            .execute(params![account.id, instrument, h.quantity, h.price.get()])
                            .map_err(map_err)?;
                    }
                }
                LoadMessage::Finished {
                    principals,
                    counts,
                    rejects,
                    warnings,
                } => {
                    let good = GoodCounts {
                        accounts: seen.len() as u64,
                        holdings: counts.holdings_loaded,
                        instruments: load.instruments.len() as u64,
                        principals: principals.len() as u64,
                    };
                    let hold = match (load.hold_below_percent, previous) {
                        (Some(percent), Some(previous)) => good
                            .implausible(&previous, percent)
                            .map(|reason| (reason, previous)),
                        _ => None,
                    };
                    if let Some((reason, previous)) = hold {
                        streamed = Streamed::Held {
                            reason,
                            good,
                            previous,
                            counts,
                            rejects,
                            warnings,
                        };
                        break;
                    }
                    for p in principals {
                        match seen.get_mut(&p.account_number.packed()) {
                            Some(acc) => acc.principal = Some(p.principal.get()),
                            // Kept for an account whose every holding row was rejected.
                            None => unseen_principals
                                .push((p.account_number.as_str().to_string(), p.principal.get())),
                        }
                    }
                    streamed = Streamed::Loaded {
                        counts,
                        rejects,
                        warnings,
                    };
                    break;
                }
                LoadMessage::Aborted(reason) => {
                    return Err(StoreError::Rejected(reason));
                }
            }
        }
    }
    let (counts, rejects, warnings) = match streamed {
        Streamed::Loaded {
            counts,
            rejects,
            warnings,
        } => (counts, rejects, warnings),
        held @ Streamed::Held { .. } => {
            // Nothing of the delivery stays: the transaction rolls back, the held run is
            // recorded on its own.
            drop(tx);
            return record_held(c, &load, started, held);
        }
    };
    let mut effects = RejectEffects::of(&rejects);

    // Last known good: the current line of each rejected (account, instrument), read before
    // the swap, with the date it is from.
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.carry_keys; DROP TABLE IF EXISTS temp.carried;
         DROP TABLE IF EXISTS temp.unseen_rejects; DROP TABLE IF EXISTS temp.replaced_day;
         CREATE TEMP TABLE carry_keys (account_number TEXT NOT NULL, isin TEXT NOT NULL);
         DROP TABLE IF EXISTS temp.unseen_principals;
         CREATE TEMP TABLE unseen_rejects (account_number TEXT NOT NULL, n INTEGER NOT NULL);
         CREATE TEMP TABLE unseen_principals (account_number TEXT PRIMARY KEY, principal INTEGER NOT NULL);",
    )
    .map_err(map_err)?;
    {
        let mut st = tx
            .prepare_cached("INSERT INTO temp.carry_keys (account_number, isin) VALUES (?1, ?2)")
            .map_err(map_err)?;
        for (number, isin) in &effects.carry {
            st.execute(params![number, isin]).map_err(map_err)?;
        }
    }
    tx.execute_batch(
        "CREATE TEMP TABLE carried AS
             SELECT h.account_id, h.instrument_id, h.quantity, h.price,
                    COALESCE(h.stale_since, a.as_of) AS stale_since
             FROM temp.carry_keys k
             JOIN accounts a ON a.account_number = k.account_number
             JOIN instruments i ON i.isin = k.isin
             JOIN holdings h ON h.account_id = a.id AND h.instrument_id = i.id
             WHERE a.status = 'active' AND a.as_of IS NOT NULL;
         CREATE INDEX temp.carried_account ON carried(account_id);",
    )
    .map_err(map_err)?;
    // A carried cash line holds the deposits confirmed since; those on or after the date are
    // applied again below, so they come out of it first (never counted twice).
    tx.execute(
        &format!(
            "UPDATE temp.carried SET price = price - ({}) \
             WHERE quantity = 1 AND instrument_id = (SELECT id FROM instruments WHERE isin = 'CASH')",
            later_deposits("carried.account_id")
        ),
        [&date],
    )
    .map_err(map_err)?;

    // Swap the new holdings in, with the carried lines the day did not deliver.
    tx.execute_batch(
        "DROP TABLE holdings;
         ALTER TABLE holdings_next RENAME TO holdings;
         CREATE INDEX holdings_account ON holdings(account_id);
         DELETE FROM temp.carried WHERE EXISTS (SELECT 1 FROM holdings n
             WHERE n.account_id = carried.account_id AND n.instrument_id = carried.instrument_id);
         INSERT INTO holdings (account_id, instrument_id, quantity, price, stale_since)
             SELECT account_id, instrument_id, quantity, price, stale_since FROM temp.carried;",
    )
    .map_err(map_err)?;

    {
        // Unknown principal: rejected today with no earlier value (a new account, or one
        // whose principal was already unknown). Expressions read the row as it was.
        let mut update = tx
            .prepare_cached(&format!(
                "UPDATE accounts SET status = 'active', as_of = ?1, load_seq = ?2, \
                 total_assets = ?3, principal = COALESCE(?4, principal - ({later})), \
                 principal_unknown = CASE WHEN ?4 IS NOT NULL THEN 0 \
                     WHEN as_of IS NULL OR principal_unknown <> 0 THEN 1 ELSE 0 END, \
                 principal_since = CASE WHEN ?4 IS NOT NULL THEN NULL \
                     WHEN as_of IS NULL OR principal_unknown <> 0 THEN NULL \
                     ELSE COALESCE(principal_since, as_of) END, \
                 partial_rows = ?5, partial_since = NULL WHERE id = ?6",
                later = later_deposits("accounts.id")
            ))
            .map_err(map_err)?;
        for (key, acc) in &seen {
            let named = effects.per_account.remove(key).map_or(0, |(_, n)| n);
            let (principal, extra) = effects.principal(key, acc.principal);
            update
                .execute(params![
                    date,
                    seq,
                    acc.total,
                    principal,
                    i64::from(named + extra),
                    acc.id
                ])
                .map_err(map_err)?;
        }
    }
    // Accounts every row of which was rejected but that keep carried lines: current, with
    // their earlier principal (marked) and today's rejects counted.
    {
        let mut st = tx
            .prepare_cached("INSERT INTO temp.unseen_rejects (account_number, n) VALUES (?1, ?2)")
            .map_err(map_err)?;
        for (number, n) in effects.per_account.values() {
            st.execute(params![number, i64::from(*n)])
                .map_err(map_err)?;
        }
        let mut st = tx
            .prepare_cached(
                "INSERT OR IGNORE INTO temp.unseen_principals (account_number, principal) \
                 VALUES (?1, ?2)",
            )
            .map_err(map_err)?;
        for (number, principal) in &unseen_principals {
            st.execute(params![number, principal]).map_err(map_err)?;
        }
    }
    // Today's principal row of such an account, when the day has one.
    let today = "(SELECT u.principal FROM temp.unseen_principals u \
                  WHERE u.account_number = accounts.account_number)";
    tx.execute(
        &format!(
            "UPDATE accounts SET status = 'active', as_of = ?1, load_seq = ?2, total_assets = 0, \
         principal = COALESCE({today}, principal - ({later})), \
         principal_unknown = CASE WHEN {today} IS NOT NULL THEN 0 \
             WHEN principal_unknown <> 0 THEN 1 ELSE 0 END, \
         principal_since = CASE WHEN {today} IS NOT NULL THEN NULL \
             WHEN principal_unknown <> 0 THEN NULL ELSE COALESCE(principal_since, as_of) END, \
         partial_rows = COALESCE((SELECT SUM(n) FROM temp.unseen_rejects u \
             WHERE u.account_number = accounts.account_number), 0), partial_since = NULL \
         WHERE id IN (SELECT account_id FROM temp.carried) AND load_seq IS NOT ?2",
            later = later_deposits("accounts.id")
        ),
        params![date, seq],
    )
    .map_err(map_err)?;
    tx.execute_batch(
        "UPDATE accounts SET total_assets = total_assets + \
             (SELECT SUM(price * quantity) FROM temp.carried c WHERE c.account_id = accounts.id) \
         WHERE id IN (SELECT account_id FROM temp.carried);",
    )
    .map_err(map_err)?;
    tx.execute(
        "UPDATE accounts SET partial_since = (SELECT MIN(d) FROM ( \
             SELECT stale_since AS d FROM temp.carried c WHERE c.account_id = accounts.id \
             UNION ALL SELECT accounts.principal_since)) \
         WHERE partial_rows <> 0 AND load_seq = ?1",
        [seq],
    )
    .map_err(map_err)?;
    drop(effects);

    // Accounts missing from today's delivery (a replaced delivery of the same date included):
    // inactive, no holdings (they were not carried into holdings_next), history kept.
    let deactivated = tx
        .execute(
            "UPDATE accounts SET status = 'inactive', total_assets = 0, partial_rows = 0, \
             partial_since = NULL WHERE status = 'active' AND load_seq IS NOT ?1",
            [seq],
        )
        .map_err(map_err)?;

    // Deposits confirmed on or after the snapshot's date are not in the provider's figures yet:
    // apply them again on top, so a reload never loses one.
    {
        let mut st = tx
            .prepare(
                "SELECT d.account_id, d.amount FROM deposits d JOIN accounts a ON a.id = d.account_id \
                 WHERE d.status = 'confirmed' AND d.confirmed_date >= ?1 AND a.load_seq = ?2",
            )
            .map_err(map_err)?;
        let later: Vec<(i64, i64)> = st
            .query_map(params![date, seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(map_err)?
            .collect::<Result<_, _>>()
            .map_err(map_err)?;
        for (account, amount) in later {
            apply_deposit(&tx, account, amount)?;
        }
    }

    // A delivery for a date already loaded replaces that day's history completely.
    if replaced.is_some() {
        tx.execute(
            "CREATE TEMP TABLE replaced_day AS SELECT account_id, total_assets, principal, \
             principal_unknown FROM account_history WHERE date = ?1",
            [&date],
        )
        .map_err(map_err)?;
        tx.execute_batch("CREATE INDEX temp.replaced_day_account ON replaced_day(account_id);")
            .map_err(map_err)?;
        tx.execute("DELETE FROM account_history WHERE date = ?1", [&date])
            .map_err(map_err)?;
    }
    tx.execute(
        "INSERT OR REPLACE INTO account_history (account_id, date, total_assets, principal, \
         principal_unknown, partial_rows, partial_since) \
         SELECT id, as_of, total_assets, principal, principal_unknown, partial_rows, partial_since \
         FROM accounts WHERE load_seq = ?1",
        [seq],
    )
    .map_err(map_err)?;
    let diff = match replaced {
        None => None,
        Some(replaced_run) => {
            let (added, removed, changed): (i64, i64, i64) = tx
                .query_row(
                    "SELECT \
                     (SELECT COUNT(*) FROM account_history h WHERE h.date = ?1 AND NOT EXISTS \
                         (SELECT 1 FROM temp.replaced_day r WHERE r.account_id = h.account_id)), \
                     (SELECT COUNT(*) FROM temp.replaced_day r WHERE NOT EXISTS \
                         (SELECT 1 FROM account_history h WHERE h.account_id = r.account_id \
                          AND h.date = ?1)), \
                     (SELECT COUNT(*) FROM temp.replaced_day r JOIN account_history h \
                         ON h.account_id = r.account_id AND h.date = ?1 \
                         WHERE h.total_assets <> r.total_assets OR h.principal <> r.principal \
                         OR h.principal_unknown <> r.principal_unknown)",
                    [&date],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(map_err)?;
            Some(ReplaceDiff {
                replaced_run,
                accounts_added: added as u64,
                accounts_removed: removed as u64,
                accounts_changed: changed as u64,
            })
        }
    };
    tx.execute_batch(
        "DROP TABLE IF EXISTS temp.carry_keys; DROP TABLE IF EXISTS temp.carried;
         DROP TABLE IF EXISTS temp.unseen_rejects; DROP TABLE IF EXISTS temp.replaced_day;
         DROP TABLE IF EXISTS temp.unseen_principals;",
    )
    .map_err(map_err)?;

    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let files = serde_json::to_string(&load.files).unwrap_or_else(|_| "[]".into());
    let run_id: RunId = tx
        .query_row(
            "INSERT INTO batch_runs (business_date, status, started_at, duration_ms, files, \
             rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, accounts_deactivated, \
             instruments_loaded, holdings_loaded, principals_loaded, releases, source_dir, \
             replaced_run, replace_added, replace_removed, replace_changed) \
             VALUES (?1, 'committed', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, \
             ?15, ?16, ?17, ?18, ?19) RETURNING id",
            params![
                date,
                load.started_at.timestamp_millis(),
                duration_ms,
                files,
                counts.rows_read as i64,
                counts.rows_loaded as i64,
                counts.rows_rejected as i64,
                counts.warnings as i64,
                seen.len() as i64,
                deactivated as i64,
                load.instruments.len() as i64,
                counts.holdings_loaded as i64,
                counts.principals_loaded as i64,
                load.release_of,
                load.source_dir,
                diff.map(|d| d.replaced_run),
                diff.map(|d| d.accounts_added as i64),
                diff.map(|d| d.accounts_removed as i64),
                diff.map(|d| d.accounts_changed as i64),
            ],
            |r| r.get(0),
        )
        .map_err(map_err)?;
    if let Some(held) = load.release_of {
        tx.execute(
            "UPDATE batch_runs SET released_by = ?1 WHERE id = ?2",
            params![run_id, held],
        )
        .map_err(map_err)?;
    }
    insert_findings(&tx, run_id, &rejects, &warnings)?;
    let record = tx
        .query_row(
            &format!("{RUN_SELECT} WHERE id = ?1"),
            [run_id],
            run_from_row,
        )
        .map_err(map_err)?;
    tx.commit().map_err(map_err)?;
    Ok(record)
}

fn insert_findings(
    tx: &Transaction<'_>,
    run_id: RunId,
    rejects: &[RejectRecord],
    warnings: &[WarningRecord],
) -> StoreResult<()> {
    let mut st = tx
        .prepare_cached(
            "INSERT INTO batch_findings (run_id, seq, kind, file, line, col, value, message, \
             account_number, isin) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(map_err)?;
    let mut seq = 0i64;
    for r in rejects {
        seq += 1;
        st.execute(params![
            run_id,
            seq,
            "reject",
            file_text(r.file),
            r.line as i64,
            r.column,
            r.value,
            r.reason,
            r.account_number.as_deref(),
            r.isin.as_deref()
        ])
        .map_err(map_err)?;
    }
    for w in warnings {
        seq += 1;
        st.execute(params![
            run_id,
            seq,
            "warning",
            file_text(w.file),
            w.line.map(|l| l as i64),
            w.column,
            w.value,
            w.message,
            Option::<String>::None,
            Option::<String>::None
        ])
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl InvestmentStore for SqliteStore {
    async fn accounts(&self, scope: Scope) -> StoreResult<Vec<AccountSummary>> {
        self.pools
            .read(move |c| {
                let (clause, cust) = scope_clause(scope);
                let sql = format!(
                    "{SUMMARY_SELECT} WHERE a.status = 'active'{clause} ORDER BY a.account_number"
                );
                let mut st = c.prepare_cached(&sql)?;
                match cust {
                    Some(id) => st.query_map([id], summary_from_row)?.collect(),
                    None => st.query_map([], summary_from_row)?.collect(),
                }
            })
            .await
    }

    async fn account(&self, scope: Scope, account_id: AccountId) -> StoreResult<AccountSummary> {
        self.pools
            .read(move |c| {
                let (clause, cust) = scope_clause(scope);
                let sql =
                    format!("{SUMMARY_SELECT} WHERE a.id = ? AND a.status = 'active'{clause}");
                let mut st = c.prepare_cached(&sql)?;
                match cust {
                    Some(id) => st.query_row(params![account_id, id], summary_from_row),
                    None => st.query_row(params![account_id], summary_from_row),
                }
            })
            .await
    }

    async fn holdings(
        &self,
        scope: Scope,
        account_id: AccountId,
        include_zero: bool,
    ) -> StoreResult<Vec<HoldingLine>> {
        self.pools
            .read(move |c| {
                if !account_in_scope(c, scope, account_id)? {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                let mut st = c.prepare_cached(
                    "SELECT i.isin, i.name, g.name, h.price, h.quantity, h.stale_since \
                     FROM holdings h JOIN instruments i ON i.id = h.instrument_id \
                     JOIN asset_groups g ON g.id = i.asset_group_id \
                     WHERE h.account_id = ?1 AND (?2 OR h.quantity <> 0) \
                     ORDER BY i.isin = 'CASH', h.price * h.quantity DESC, i.isin",
                )?;
                let rows = st.query_map(params![account_id, include_zero], |r| {
                    let price: i64 = r.get(3)?;
                    let quantity: i64 = r.get(4)?;
                    Ok(HoldingLine {
                        isin: r.get(0)?,
                        instrument_name: r.get(1)?,
                        asset_group: r.get(2)?,
                        price: Won::new(price),
                        quantity,
                        valuation: Won::new(price.saturating_mul(quantity)),
                        stale_since: opt_date(r.get(5)?),
                    })
                })?;
                rows.collect()
            })
            .await
    }

    async fn history(
        &self,
        scope: Scope,
        account_id: Option<AccountId>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<HistoryPoint>> {
        self.pools
            .read(move |c| {
                if let Some(id) = account_id
                    && !account_in_scope(c, scope, id)?
                {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                let mut st = c.prepare_cached(
                    "SELECT h.date, SUM(h.total_assets), SUM(h.principal), \
                     MAX(h.principal_unknown), SUM(h.partial_rows), MIN(h.partial_since) \
                     FROM account_history h JOIN accounts a ON a.id = h.account_id \
                     WHERE (?1 IS NULL OR a.customer_id = ?1) AND (?2 IS NULL OR a.id = ?2) \
                     AND (?3 IS NULL OR h.date >= ?3) AND (?4 IS NULL OR h.date <= ?4) \
                     GROUP BY h.date ORDER BY h.date",
                )?;
                let rows = st.query_map(
                    params![
                        scope.customer_id(),
                        account_id,
                        from.map(date_key),
                        to.map(date_key)
                    ],
                    |r| {
                        let d: String = r.get(0)?;
                        let unknown: i64 = r.get(3)?;
                        Ok(HistoryPoint {
                            date: d.parse().unwrap_or_default(),
                            total_assets: Won::new(r.get(1)?),
                            principal: (unknown == 0).then(|| Won::new(r.get(2).unwrap_or(0))),
                            partial: Partial::from_parts(r.get(4)?, opt_date(r.get(5)?)),
                        })
                    },
                )?;
                rows.collect()
            })
            .await
    }

    async fn load_snapshot(&self, load: SnapshotLoad) -> StoreResult<RunRecord> {
        self.pools.write(move |c| load_blocking(c, load)).await
    }

    async fn record_failed_run(&self, run: FailedRun) -> StoreResult<RunRecord> {
        self.pools
            .write(move |c| {
                let duration = (Utc::now() - run.started_at).num_milliseconds().max(0);
                let files = serde_json::to_string(&run.files).unwrap_or_else(|_| "[]".into());
                let id: RunId = c
                    .query_row(
                        "INSERT INTO batch_runs (business_date, status, started_at, duration_ms, \
                         files, rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, \
                         accounts_deactivated, error) \
                         VALUES (?1, 'failed', ?2, ?3, ?4, 0, 0, 0, 0, 0, 0, ?5) RETURNING id",
                        params![
                            date_key(run.business_date),
                            run.started_at.timestamp_millis(),
                            duration,
                            files,
                            run.error
                        ],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                c.query_row(&format!("{RUN_SELECT} WHERE id = ?1"), [id], run_from_row)
                    .map_err(map_err)
            })
            .await
    }

    async fn stale_accounts(&self, limit: u32) -> StoreResult<Vec<StaleAccount>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{SUMMARY_SELECT} WHERE a.status = 'active' AND a.partial_rows <> 0 \
                     ORDER BY a.account_number LIMIT ?1"
                ))?;
                let accounts: Vec<AccountSummary> = st
                    .query_map([limit], summary_from_row)?
                    .collect::<Result<_, _>>()?;
                let mut lines = c.prepare_cached(
                    "SELECT i.isin, i.name, g.name, h.price, h.quantity, h.stale_since \
                     FROM holdings h JOIN instruments i ON i.id = h.instrument_id \
                     JOIN asset_groups g ON g.id = i.asset_group_id \
                     WHERE h.account_id = ?1 AND h.stale_since IS NOT NULL ORDER BY i.isin",
                )?;
                let mut out = Vec::with_capacity(accounts.len());
                for account in accounts {
                    let holdings = lines
                        .query_map([account.id], |r| {
                            let price: i64 = r.get(3)?;
                            let quantity: i64 = r.get(4)?;
                            Ok(HoldingLine {
                                isin: r.get(0)?,
                                instrument_name: r.get(1)?,
                                asset_group: r.get(2)?,
                                price: Won::new(price),
                                quantity,
                                valuation: Won::new(price.saturating_mul(quantity)),
                                stale_since: opt_date(r.get(5)?),
                            })
                        })?
                        .collect::<Result<_, _>>()?;
                    out.push(StaleAccount { account, holdings });
                }
                Ok(out)
            })
            .await
    }

    async fn runs(&self, limit: u32) -> StoreResult<Vec<RunRecord>> {
        self.pools
            .read(move |c| {
                let mut st =
                    c.prepare_cached(&format!("{RUN_SELECT} ORDER BY id DESC LIMIT ?1"))?;
                let rows = st.query_map([limit], run_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn run(&self, id: RunId) -> StoreResult<RunRecord> {
        self.pools
            .read(move |c| c.query_row(&format!("{RUN_SELECT} WHERE id = ?1"), [id], run_from_row))
            .await
    }

    async fn run_findings(&self, id: RunId) -> StoreResult<RunFindings> {
        self.pools
            .read(move |c| {
                let exists: bool = c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM batch_runs WHERE id = ?1)",
                    [id],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                let mut st = c.prepare_cached(
                    "SELECT kind, file, line, col, value, message, account_number, isin \
                     FROM batch_findings WHERE run_id = ?1 ORDER BY seq",
                )?;
                let mut findings = RunFindings {
                    rejects: vec![],
                    warnings: vec![],
                };
                let mut rows = st.query([id])?;
                while let Some(r) = rows.next()? {
                    let kind: String = r.get(0)?;
                    let file = SnapshotFile::parse(&r.get::<_, String>(1)?)
                        .unwrap_or(SnapshotFile::Holdings);
                    let line: Option<i64> = r.get(2)?;
                    if kind == "reject" {
                        findings.rejects.push(RejectRecord {
                            file,
                            line: line.unwrap_or(0) as u64,
                            column: r.get(3)?,
                            value: r.get(4)?,
                            reason: r.get(5)?,
                            account_number: r.get::<_, Option<String>>(6)?.map(Into::into),
                            isin: r.get::<_, Option<String>>(7)?.map(Into::into),
                        });
                    } else {
                        findings.warnings.push(WarningRecord {
                            file,
                            line: line.map(|l| l as u64),
                            column: r.get(3)?,
                            value: r.get(4)?,
                            message: r.get(5)?,
                        });
                    }
                }
                Ok(findings)
            })
            .await
    }

    async fn create_deposit(
        &self,
        new: NewDeposit,
    ) -> StoreResult<Result<Deposit, DepositRefusal>> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let number = AccountNumber::parse(&new.account_number).ok();
                let row: Option<(i64, i64, String, String)> = match &number {
                    Some(n) => tx
                        .query_row(
                            "SELECT a.id, a.customer_id, c.name, a.status FROM accounts a \
                             JOIN customers c ON c.id = a.customer_id WHERE a.account_number = ?1",
                            [n.as_str()],
                            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                        )
                        .optional()
                        .map_err(map_err)?,
                    None => None,
                };
                let refusal = match &row {
                    None => Some(DepositRefusal::AccountNotFound),
                    Some((_, cust, _, _))
                        if new.scope.customer_id().is_some_and(|s| s != *cust) =>
                    {
                        Some(DepositRefusal::AccountNotFound)
                    }
                    Some((_, _, holder, _)) if holder != new.user_name.trim() => {
                        Some(DepositRefusal::NameMismatch)
                    }
                    Some((_, _, _, status)) if status != "active" => {
                        Some(DepositRefusal::AccountInactive)
                    }
                    _ => None,
                };
                if let Some(refusal) = refusal {
                    let outcome = refusal.audit_label();
                    record_attempt(&tx, new.user_id, 1, None, outcome, new.now)?;
                    tx.commit().map_err(map_err)?;
                    return Ok(Err(refusal));
                }
                let Some((account_id, _, holder, _)) = row else {
                    return Err(StoreError::Internal("unreachable: checked above".into()));
                };
                tx.execute(
                    "INSERT INTO deposits (identifier, user_id, account_id, user_name, amount, \
                     created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        new.identifier,
                        new.user_id,
                        account_id,
                        holder,
                        new.amount.get(),
                        new.now.timestamp_millis(),
                        new.expires_at.timestamp_millis()
                    ],
                )
                .map_err(map_err)?;
                record_attempt(
                    &tx,
                    new.user_id,
                    1,
                    Some(&new.identifier),
                    "created",
                    new.now,
                )?;
                let d = tx
                    .query_row(
                        &format!("{DEPOSIT_SELECT} WHERE d.identifier = ?1"),
                        [&new.identifier],
                        deposit_from_row,
                    )
                    .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(Ok(d))
            })
            .await
    }

    async fn confirm_deposit(
        &self,
        user_id: UserId,
        scope: Scope,
        identifier: &str,
        signature: Option<&Signature>,
        now: DateTime<Utc>,
    ) -> StoreResult<ConfirmOutcome> {
        let identifier = identifier.to_string();
        let signature = signature.cloned();
        self.pools
            .write(move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(map_err)?;
                type Pending = (i64, i64, String, String, i64, String, i64, i64, String);
                let row: Option<Pending> = tx
                    .query_row(
                        "SELECT d.id, d.account_id, a.account_number, d.user_name, d.amount, \
                         d.status, d.expires_at, a.customer_id, a.status FROM deposits d \
                         JOIN accounts a ON a.id = d.account_id WHERE d.identifier = ?1",
                        [&identifier],
                        |r| {
                            Ok((
                                r.get(0)?,
                                r.get(1)?,
                                r.get(2)?,
                                r.get(3)?,
                                r.get(4)?,
                                r.get(5)?,
                                r.get(6)?,
                                r.get(7)?,
                                r.get(8)?,
                            ))
                        },
                    )
                    .optional()
                    .map_err(map_err)?;
                let outcome = match row {
                    None => ConfirmOutcome::NotFound,
                    Some((.., cust, _)) if scope.customer_id().is_some_and(|s| s != cust) => {
                        ConfirmOutcome::NotFound
                    }
                    Some((_, _, _, _, _, status, ..)) if status == "confirmed" => {
                        ConfirmOutcome::AlreadyConfirmed
                    }
                    Some((_, _, _, _, _, _, expires, ..)) if expires <= now.timestamp_millis() => {
                        ConfirmOutcome::Expired
                    }
                    Some((.., account_status)) if account_status != "active" => {
                        ConfirmOutcome::AccountInactive
                    }
                    Some((id, account_id, number, name, amount, ..)) => {
                        let ok = match (&signature, AccountNumber::parse(&number)) {
                            (Some(sig), Ok(n)) => sig.matches(&n, &name, Won::new(amount)),
                            _ => false,
                        };
                        if !ok {
                            ConfirmOutcome::BadSignature
                        } else {
                            // The conditional update is what makes a confirmation happen once.
                            let changed = tx
                                .execute(
                                    "UPDATE deposits SET status = 'confirmed', confirmed_at = ?1, \
                                     confirmed_date = ?2 WHERE id = ?3 AND status = 'pending'",
                                    params![
                                        now.timestamp_millis(),
                                        date_key(ginkgo_domain::time::to_kst(now).date_naive()),
                                        id
                                    ],
                                )
                                .map_err(map_err)?;
                            if changed == 1 {
                                apply_deposit(&tx, account_id, amount)?;
                                let d = tx
                                    .query_row(
                                        &format!("{DEPOSIT_SELECT} WHERE d.id = ?1"),
                                        [id],
                                        deposit_from_row,
                                    )
                                    .map_err(map_err)?;
                                ConfirmOutcome::Confirmed(d)
                            } else {
                                ConfirmOutcome::AlreadyConfirmed
                            }
                        }
                    }
                };
                let label = outcome.audit_label();
                record_attempt(&tx, user_id, 2, Some(&identifier), label, now)?;
                tx.commit().map_err(map_err)?;
                Ok(outcome)
            })
            .await
    }

    async fn deposits(&self, scope: Scope, limit: u32) -> StoreResult<Vec<Deposit>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{DEPOSIT_SELECT} WHERE (?1 IS NULL OR a.customer_id = ?1) \
                     ORDER BY d.id DESC LIMIT ?2"
                ))?;
                let rows = st.query_map(params![scope.customer_id(), limit], deposit_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn record_deposit_attempt(
        &self,
        user_id: UserId,
        phase: u8,
        identifier: Option<&str>,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let identifier = identifier.map(str::to_string);
        let outcome = outcome.to_string();
        self.pools
            .write(move |c| {
                record_attempt(
                    c,
                    user_id,
                    i64::from(phase),
                    identifier.as_deref(),
                    &outcome,
                    at,
                )
            })
            .await
    }

    async fn deposit_attempts(
        &self,
        user_id: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<DepositAttempt>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT id, user_id, phase, identifier, outcome, at FROM deposit_attempts \
                     WHERE (?1 IS NULL OR user_id = ?1) ORDER BY id DESC LIMIT ?2",
                )?;
                let rows = st.query_map(params![user_id, limit], |r| {
                    Ok(DepositAttempt {
                        id: r.get(0)?,
                        user_id: r.get(1)?,
                        phase: r.get(2)?,
                        identifier: r.get(3)?,
                        outcome: r.get(4)?,
                        at: ts(r.get(5)?),
                    })
                })?;
                rows.collect()
            })
            .await
    }
}
