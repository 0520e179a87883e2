use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{GenericClient, Transaction};
use futures_util::pin_mut;
use ginkgo_domain::snapshot::{HoldingRecord, RejectRecord, SnapshotFile, WarningRecord};
use ginkgo_domain::{AccountNumber, Signature, Won};
use ginkgo_store::load::RejectEffects;
use ginkgo_store::{
    AccountId, AccountSummary, ConfirmOutcome, Deposit, DepositAttempt, DepositRefusal,
    DepositStatus, FailedRun, GoodCounts, HistoryPoint, HoldingLine, InvestmentStore, LoadMessage,
    NewDeposit, Partial, ReplaceDiff, RunCounts, RunFile, RunFindings, RunId, RunRecord, RunStatus,
    Scope, SnapshotLoad, StaleAccount, StoreError, StoreResult, UserId, date_key,
};
use tokio_postgres::Row;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

use crate::auth::ts;
use crate::{HOLDINGS_LOCK, LOAD_LOCK, PostgresStore, map_err};

const SUMMARY_SELECT: &str = "SELECT a.id, a.account_number, a.name, b.name, a.customer_id, \
     c.name, a.total_assets, a.principal, a.as_of, a.principal_unknown, a.principal_since, \
     a.partial_rows, a.partial_since \
     FROM accounts a JOIN brokers b ON b.id = a.broker_id JOIN customers c ON c.id = a.customer_id";

fn summary_from_row(r: &Row) -> AccountSummary {
    let unknown: i64 = r.get(9);
    AccountSummary {
        id: r.get(0),
        account_number: r.get(1),
        account_name: r.get(2),
        broker: r.get(3),
        customer_id: r.get(4),
        customer_name: r.get(5),
        total_assets: Won::new(r.get(6)),
        principal: (unknown == 0).then(|| Won::new(r.get(7))),
        principal_since: opt_date(r.get(10)),
        as_of: opt_date(r.get(8)),
        partial: Partial::from_parts(r.get(11), opt_date(r.get(12))),
    }
}

fn opt_date(d: Option<String>) -> Option<NaiveDate> {
    d.and_then(|d| d.parse().ok())
}

fn overflow() -> StoreError {
    StoreError::Rejected("an amount overflowed while loading".into())
}

const RUN_SELECT: &str = "SELECT id, business_date, status, started_at, duration_ms, files, \
     rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, accounts_deactivated, error, \
     instruments_loaded, holdings_loaded, principals_loaded, prev_accounts, prev_holdings, \
     prev_instruments, prev_principals, released_by, releases, source_dir, replaced_run, \
     replace_added, replace_removed, replace_changed \
     FROM batch_runs";

fn run_from_row(r: &Row) -> RunRecord {
    let date: String = r.get(1);
    let status: String = r.get(2);
    let files: String = r.get(5);
    RunRecord {
        id: r.get(0),
        business_date: date.parse().unwrap_or_default(),
        status: RunStatus::parse(&status),
        started_at: ts(r.get(3)),
        duration_ms: r.get(4),
        files: serde_json::from_str::<Vec<RunFile>>(&files).unwrap_or_default(),
        counts: RunCounts {
            rows_read: r.get::<_, i64>(6) as u64,
            rows_loaded: r.get::<_, i64>(7) as u64,
            rows_rejected: r.get::<_, i64>(8) as u64,
            warnings: r.get::<_, i64>(9) as u64,
            instruments_loaded: r.get::<_, i64>(13) as u64,
            holdings_loaded: r.get::<_, i64>(14) as u64,
            principals_loaded: r.get::<_, i64>(15) as u64,
        },
        accounts_loaded: r.get::<_, i64>(10) as u64,
        accounts_deactivated: r.get::<_, i64>(11) as u64,
        error: r.get(12),
        previous: r.get::<_, Option<i64>>(16).map(|accounts| GoodCounts {
            accounts: accounts as u64,
            holdings: r.get::<_, Option<i64>>(17).unwrap_or(0) as u64,
            instruments: r.get::<_, Option<i64>>(18).unwrap_or(0) as u64,
            principals: r.get::<_, Option<i64>>(19).unwrap_or(0) as u64,
        }),
        released_by: r.get(20),
        releases: r.get(21),
        source_dir: r.get(22),
        replaced: r.get::<_, Option<i64>>(23).map(|replaced_run| ReplaceDiff {
            replaced_run,
            accounts_added: r.get::<_, Option<i64>>(24).unwrap_or(0) as u64,
            accounts_removed: r.get::<_, Option<i64>>(25).unwrap_or(0) as u64,
            accounts_changed: r.get::<_, Option<i64>>(26).unwrap_or(0) as u64,
        }),
    }
}

const DEPOSIT_SELECT: &str = "SELECT d.identifier, d.account_id, a.account_number, d.amount, \
     d.status, d.created_at, d.expires_at, d.confirmed_at FROM deposits d \
     JOIN accounts a ON a.id = d.account_id";

fn deposit_from_row(r: &Row) -> Deposit {
    let status: String = r.get(4);
    let expires_at = ts(r.get(6));
    Deposit {
        identifier: r.get(0),
        account_id: r.get(1),
        account_number: r.get(2),
        amount: Won::new(r.get(3)),
        status: match status.as_str() {
            "confirmed" => DepositStatus::Confirmed,
            _ if expires_at <= Utc::now() => DepositStatus::Expired,
            _ => DepositStatus::Pending,
        },
        created_at: ts(r.get(5)),
        expires_at,
        confirmed_at: r.get::<_, Option<i64>>(7).map(ts),
    }
}

async fn in_scope(c: &impl GenericClient, scope: Scope, id: AccountId) -> StoreResult<bool> {
    let row = c
        .query_one(
            "SELECT EXISTS(SELECT 1 FROM accounts a WHERE a.id = $1 AND a.status = 'active' \
             AND ($2::BIGINT IS NULL OR a.customer_id = $2))",
            &[&id, &scope.customer_id()],
        )
        .await
        .map_err(map_err)?;
    Ok(row.get(0))
}

async fn record_attempt(
    c: &impl GenericClient,
    user_id: UserId,
    phase: i64,
    identifier: Option<&str>,
    outcome: &str,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    c.execute(
        "INSERT INTO deposit_attempts (user_id, phase, identifier, outcome, at) \
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &user_id,
            &phase,
            &identifier,
            &outcome,
            &at.timestamp_millis(),
        ],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn apply_deposit(
    c: &impl GenericClient,
    account_id: AccountId,
    amount: i64,
) -> StoreResult<()> {
    let cash_id: i64 = c
        .query_one("SELECT id FROM instruments WHERE isin = 'CASH'", &[])
        .await
        .map_err(map_err)?
        .get(0);
    let updated = c
        .execute(
            "UPDATE holdings SET price = price + $1 \
             WHERE account_id = $2 AND instrument_id = $3 AND quantity = 1",
            &[&amount, &account_id, &cash_id],
        )
        .await
        .map_err(map_err)?;
    if updated == 0 {
        c.execute(
            "INSERT INTO holdings (account_id, instrument_id, quantity, price) VALUES ($1, $2, 1, $3)",
            &[&account_id, &cash_id, &amount],
        )
        .await
        .map_err(map_err)?;
    }
    c.execute(
        "UPDATE accounts SET principal = principal + $1, total_assets = total_assets + $1 \
         WHERE id = $2",
        &[&amount, &account_id],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

/// Upserts names into `table` (brokers, asset_groups, customers) and returns name → id.
async fn upsert_names(
    tx: &Transaction<'_>,
    table: &str,
    names: Vec<String>,
) -> StoreResult<Vec<(String, i64)>> {
    if names.is_empty() {
        return Ok(vec![]);
    }
    let extra = if table == "customers" {
        ", created_at"
    } else {
        ""
    };
    let extra_val = if table == "customers" { ", $2" } else { "" };
    let sql = format!(
        "INSERT INTO {table} (name{extra}) SELECT n{extra_val} FROM UNNEST($1::TEXT[]) AS t(n) \
         ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING name, id"
    );
    let now = Utc::now().timestamp_millis();
    let rows = if table == "customers" {
        tx.query(&sql, &[&names, &now]).await
    } else {
        tx.query(&sql, &[&names]).await
    }
    .map_err(map_err)?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

struct Seen {
    id: AccountId,
    total: i64,
    /// Today's principal row, if the day has one.
    principal: Option<i64>,
}

#[derive(Default)]
struct Caches {
    customers: HashMap<String, i64>,
    brokers: HashMap<String, i64>,
    /// Keyed by the packed number: a million accounts without a string each.
    accounts: HashMap<[u64; 2], Seen>,
}

/// Customer ids kept between chunks; beyond this the cache starts again (a customer's accounts
/// usually come together, and the upsert answers the id of one already there).
const CUSTOMER_CACHE: usize = 100_000;

/// Upserts the chunk's new customers, brokers and accounts in a few set-based statements.
async fn upsert_chunk_accounts(
    tx: &Transaction<'_>,
    caches: &mut Caches,
    rows: &[HoldingRecord],
) -> StoreResult<()> {
    let mut new_customers: Vec<String> = Vec::new();
    let mut new_brokers: Vec<String> = Vec::new();
    let mut queued_customers: std::collections::HashSet<&str> = std::collections::HashSet::new();
    let mut queued_accounts: std::collections::HashSet<[u64; 2]> = std::collections::HashSet::new();
    if caches.customers.len() >= CUSTOMER_CACHE {
        caches.customers.clear();
    }
    for h in rows {
        if caches.accounts.contains_key(&h.account_number.packed()) {
            continue;
        }
        if !caches.customers.contains_key(h.customer_name.as_str())
            && queued_customers.insert(h.customer_name.as_str())
        {
            new_customers.push(h.customer_name.as_str().to_string());
        }
        if !caches.brokers.contains_key(&h.broker) && !new_brokers.contains(&h.broker) {
            new_brokers.push(h.broker.clone());
        }
    }
    new_customers.sort();
    for (n, id) in upsert_names(tx, "customers", new_customers).await? {
        caches.customers.insert(n, id);
    }
    for (n, id) in upsert_names(tx, "brokers", new_brokers).await? {
        caches.brokers.insert(n, id);
    }
    let mut numbers = Vec::new();
    let mut keys = Vec::new();
    let mut custs = Vec::new();
    let mut brokers = Vec::new();
    let mut names = Vec::new();
    for h in rows {
        let key = h.account_number.packed();
        if caches.accounts.contains_key(&key) || !queued_accounts.insert(key) {
            continue;
        }
        numbers.push(h.account_number.as_str().to_string());
        keys.push(key);
        custs.push(
            caches
                .customers
                .get(h.customer_name.as_str())
                .copied()
                .unwrap_or_default(),
        );
        brokers.push(caches.brokers.get(&h.broker).copied().unwrap_or_default());
        names.push(h.account_name.clone());
    }
    if numbers.is_empty() {
        return Ok(());
    }
    // Existing accounts are read, not updated, here: their rows stay unlocked (deposits go on)
    // until the short final step writes every account at once from `accounts_next`. Only new
    // accounts are inserted now (invisible to others until the commit); loads are serialised.
    let inserted = tx
        .query(
            "INSERT INTO accounts (account_number, customer_id, broker_id, name, status) \
             SELECT n, c, b, nm, 'active' FROM UNNEST($1::TEXT[], $2::BIGINT[], $3::BIGINT[], \
             $4::TEXT[]) AS t(n, c, b, nm) ORDER BY n \
             ON CONFLICT (account_number) DO NOTHING RETURNING account_number, id",
            &[&numbers, &custs, &brokers, &names],
        )
        .await
        .map_err(map_err)?;
    let existing = if inserted.len() == numbers.len() {
        Vec::new()
    } else {
        tx.query(
            "SELECT account_number, id FROM accounts WHERE account_number = ANY($1::TEXT[])",
            &[&numbers],
        )
        .await
        .map_err(map_err)?
    };
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(numbers.len());
    for r in inserted.iter().chain(existing.iter()) {
        ids.insert(r.get(0), r.get(1));
    }
    let mut staged_ids = Vec::with_capacity(numbers.len());
    for n in &numbers {
        let id = ids
            .get(n)
            .copied()
            .ok_or_else(|| StoreError::Internal(format!("account {n} was not created")))?;
        staged_ids.push(id);
    }
    tx.execute(
        "INSERT INTO accounts_next (id, customer_id, broker_id, name) \
         SELECT * FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::TEXT[])",
        &[&staged_ids, &custs, &brokers, &names],
    )
    .await
    .map_err(map_err)?;
    for (key, id) in keys.into_iter().zip(staged_ids) {
        caches.accounts.insert(
            key,
            Seen {
                id,
                total: 0,
                principal: None,
            },
        );
    }
    Ok(())
}

/// Rows sent per COPY: fewer, larger round trips.
const FLUSH_ROWS: usize = 20_000;

async fn flush_holdings(
    tx: &Transaction<'_>,
    caches: &mut Caches,
    instrument_ids: &HashMap<String, i64>,
    rows: Vec<HoldingRecord>,
) -> StoreResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    upsert_chunk_accounts(tx, caches, &rows).await?;
    let sink = tx
        .copy_in(
            "COPY holdings_next (account_id, instrument_id, quantity, price) FROM STDIN BINARY",
        )
        .await
        .map_err(map_err)?;
    let writer = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::INT8, Type::INT8]);
    pin_mut!(writer);
    for h in &rows {
        let acc = caches
            .accounts
            .get_mut(&h.account_number.packed())
            .ok_or_else(|| StoreError::Internal("account not upserted".into()))?;
        let instrument = *instrument_ids.get(h.isin.as_str()).ok_or_else(|| {
            StoreError::Rejected(format!(
                "holding refers to instrument {} missing from the instrument file",
                h.isin
            ))
        })?;
        let value = h.price.checked_mul(h.quantity).map_err(|_| overflow())?;
        acc.total = acc.total.checked_add(value.get()).ok_or_else(overflow)?;
        writer
            .as_mut()
            .write(&[&acc.id, &instrument, &h.quantity, &h.price.get()])
            .await
            .map_err(map_err)?;
    }
    writer.finish().await.map_err(map_err)?;
    Ok(())
}

/// The deposits confirmed on or after the load's date (`$1`) of the account `account` (a column
/// of the enclosing row): they are applied again after the load, so a value carried from before
/// must not hold them already.
fn later_deposits(account: &str) -> String {
    format!(
        "SELECT COALESCE(SUM(d.amount), 0) FROM deposits d WHERE d.account_id = {account} \
         AND d.status = 'confirmed' AND d.confirmed_date >= $1"
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

impl PostgresStore {
    async fn record_held(
        &self,
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
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let files = serde_json::to_string(&load.files).unwrap_or_else(|_| "[]".into());
        let run_id: RunId = tx
            .query_one(
                "INSERT INTO batch_runs (business_date, status, started_at, duration_ms, files, \
                 rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, \
                 accounts_deactivated, error, instruments_loaded, holdings_loaded, \
                 principals_loaded, prev_accounts, prev_holdings, prev_instruments, \
                 prev_principals, source_dir) VALUES ($1, 'held', $2, $3, $4, $5, $6, $7, $8, $9, \
                 0, $10, $11, $12, $13, $14, $15, $16, $17, $18) RETURNING id",
                &[
                    &date_key(load.business_date),
                    &load.started_at.timestamp_millis(),
                    &duration_ms,
                    &files,
                    &(counts.rows_read as i64),
                    &(counts.rows_loaded as i64),
                    &(counts.rows_rejected as i64),
                    &(counts.warnings as i64),
                    &(good.accounts as i64),
                    &reason,
                    &(good.instruments as i64),
                    &(good.holdings as i64),
                    &(good.principals as i64),
                    &(previous.accounts as i64),
                    &(previous.holdings as i64),
                    &(previous.instruments as i64),
                    &(previous.principals as i64),
                    &load.source_dir,
                ],
            )
            .await
            .map_err(map_err)?
            .get(0);
        insert_findings(&tx, run_id, &rejects, &warnings).await?;
        let record = run_from_row(
            &tx.query_one(&format!("{RUN_SELECT} WHERE id = $1"), &[&run_id])
                .await
                .map_err(map_err)?,
        );
        tx.commit().await.map_err(map_err)?;
        Ok(record)
    }

    async fn load(&self, mut load: SnapshotLoad) -> StoreResult<RunRecord> {
        let started = std::time::Instant::now();
        let mut client = self.client().await?;
        let tx = client.transaction().await.map_err(map_err)?;
        // One load at a time. Deposits are only held off (HOLDINGS_LOCK) during the final step.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOAD_LOCK])
            .await
            .map_err(map_err)?;
        // Room for the index build over the day's holdings (server memory, this transaction only).
        tx.batch_execute("SET LOCAL maintenance_work_mem = '256MB'")
            .await
            .map_err(map_err)?;
        let date = date_key(load.business_date);
        // This load's mark on the accounts it delivers: greater than any earlier load's (loads
        // are serialised), so a same-date replacement can tell its accounts apart.
        let seq: i64 = tx
            .query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM batch_runs", &[])
            .await
            .map_err(map_err)?
            .get(0);
        if let Some(held) = load.release_of {
            let row = tx
                .query_opt(
                    "SELECT status, business_date, released_by FROM batch_runs WHERE id = $1 \
                     FOR UPDATE",
                    &[&held],
                )
                .await
                .map_err(map_err)?
                .ok_or(StoreError::NotFound)?;
            let status: String = row.get(0);
            let held_date: String = row.get(1);
            let newer: bool = tx
                .query_one(
                    "SELECT EXISTS(SELECT 1 FROM batch_runs WHERE business_date = $1 \
                     AND status = 'committed' AND id > $2)",
                    &[&held_date, &held],
                )
                .await
                .map_err(map_err)?
                .get(0);
            ginkgo_store::load::release_refusal(&status, row.get(2), newer)?;
        }
        let previous = tx
            .query_opt(
                "SELECT accounts_loaded, holdings_loaded, instruments_loaded, principals_loaded \
                 FROM batch_runs WHERE status = 'committed' ORDER BY id DESC LIMIT 1",
                &[],
            )
            .await
            .map_err(map_err)?
            .map(|r| GoodCounts {
                accounts: r.get::<_, i64>(0) as u64,
                holdings: r.get::<_, i64>(1) as u64,
                instruments: r.get::<_, i64>(2) as u64,
                principals: r.get::<_, i64>(3) as u64,
            });
        let replaced: Option<RunId> = tx
            .query_opt(
                "SELECT id FROM batch_runs WHERE business_date = $1 AND status = 'committed' \
                 ORDER BY id DESC LIMIT 1",
                &[&date],
            )
            .await
            .map_err(map_err)?
            .map(|r| r.get(0));

        let mut instrument_ids: HashMap<String, i64> = HashMap::new();
        let groups: Vec<String> = load
            .instruments
            .iter()
            .map(|i| i.asset_group.clone())
            .collect();
        let group_ids: HashMap<String, i64> = upsert_names(&tx, "asset_groups", dedup(groups))
            .await?
            .into_iter()
            .collect();
        for ins in &load.instruments {
            let group = group_ids.get(&ins.asset_group).copied().unwrap_or_default();
            let id: i64 = tx
                .query_one(
                    "INSERT INTO instruments (isin, name, asset_group_id) VALUES ($1, $2, $3) \
                     ON CONFLICT (isin) DO UPDATE SET name = excluded.name, \
                     asset_group_id = excluded.asset_group_id RETURNING id",
                    &[&ins.isin.as_str(), &ins.name, &group],
                )
                .await
                .map_err(map_err)?
                .get(0);
            instrument_ids.insert(ins.isin.as_str().to_string(), id);
        }
        if !instrument_ids.contains_key("CASH") {
            let id: i64 = tx
                .query_one("SELECT id FROM instruments WHERE isin = 'CASH'", &[])
                .await
                .map_err(map_err)?
                .get(0);
            instrument_ids.insert("CASH".into(), id);
        }

        tx.batch_execute(
            "DROP TABLE IF EXISTS holdings_next;
             CREATE TABLE holdings_next (account_id BIGINT NOT NULL, instrument_id BIGINT NOT NULL,
                 quantity BIGINT NOT NULL, price BIGINT NOT NULL, stale_since TEXT);
             CREATE TEMP TABLE accounts_next (id BIGINT PRIMARY KEY, customer_id BIGINT NOT NULL,
                 broker_id BIGINT NOT NULL, name TEXT NOT NULL, principal BIGINT,
                 total_assets BIGINT NOT NULL DEFAULT 0,
                 partial_rows BIGINT NOT NULL DEFAULT 0, carried_since TEXT) ON COMMIT DROP;",
        )
        .await
        .map_err(map_err)?;

        let mut caches = Caches::default();
        let mut unseen_principal_numbers: Vec<String> = Vec::new();
        let mut unseen_principal_values: Vec<i64> = Vec::new();
        let mut pending: Vec<HoldingRecord> = Vec::with_capacity(FLUSH_ROWS + 4_096);
        let streamed = loop {
            let Some(msg) = load.holdings.recv().await else {
                return Err(StoreError::Rejected(
                    "the snapshot reader stopped before finishing".into(),
                ));
            };
            match msg {
                LoadMessage::Holdings(rows) => {
                    pending.extend(rows);
                    if pending.len() >= FLUSH_ROWS {
                        let rows = std::mem::take(&mut pending);
                        flush_holdings(&tx, &mut caches, &instrument_ids, rows).await?;
                    }
                }
                LoadMessage::Finished {
                    principals,
                    counts,
                    rejects,
                    warnings,
                } => {
                    let rows = std::mem::take(&mut pending);
                    flush_holdings(&tx, &mut caches, &instrument_ids, rows).await?;
                    let good = GoodCounts {
                        accounts: caches.accounts.len() as u64,
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
                        break Streamed::Held {
                            reason,
                            good,
                            previous,
                            counts,
                            rejects,
                            warnings,
                        };
                    }
                    for p in principals {
                        match caches.accounts.get_mut(&p.account_number.packed()) {
                            Some(acc) => acc.principal = Some(p.principal.get()),
                            // Kept for an account whose every holding row was rejected.
                            None => {
                                unseen_principal_numbers
                                    .push(p.account_number.as_str().to_string());
                                unseen_principal_values.push(p.principal.get());
                            }
                        }
                    }
                    break Streamed::Loaded {
                        counts,
                        rejects,
                        warnings,
                    };
                }
                LoadMessage::Aborted(reason) => return Err(StoreError::Rejected(reason)),
            }
        };
        let (counts, rejects, warnings) = match streamed {
            Streamed::Loaded {
                counts,
                rejects,
                warnings,
            } => (counts, rejects, warnings),
            held @ Streamed::Held { .. } => {
                // Nothing of the delivery stays: the transaction rolls back, the held run is
                // recorded on its own.
                tx.rollback().await.map_err(map_err)?;
                drop(client);
                return self.record_held(&load, started, held).await;
            }
        };
        let mut effects = RejectEffects::of(&rejects);

        // Still nothing a reader or a deposit waits for: the new holdings' index, and each
        // account's figures into the staging table.
        tx.batch_execute("CREATE INDEX holdings_next_account ON holdings_next(account_id)")
            .await
            .map_err(map_err)?;
        let entries: Vec<(&[u64; 2], &Seen)> = caches.accounts.iter().collect();
        for chunk in entries.chunks(10_000) {
            let ids: Vec<i64> = chunk.iter().map(|(_, s)| s.id).collect();
            let totals: Vec<i64> = chunk.iter().map(|(_, s)| s.total).collect();
            let mut princ: Vec<Option<i64>> = Vec::with_capacity(chunk.len());
            let mut partial: Vec<i64> = Vec::with_capacity(chunk.len());
            for (key, s) in chunk {
                let named = effects.per_account.remove(*key).map_or(0, |(_, n)| n);
                let (p, extra) = effects.principal(key, s.principal);
                princ.push(p);
                partial.push(i64::from(named + extra));
            }
            tx.execute(
                "UPDATE accounts_next a SET principal = t.p, total_assets = t.t, \
                 partial_rows = t.r \
                 FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[]) \
                 AS t(id, p, t, r) WHERE a.id = t.id",
                &[&ids, &princ, &totals, &partial],
            )
            .await
            .map_err(map_err)?;
        }
        tx.batch_execute("ANALYZE accounts_next")
            .await
            .map_err(map_err)?;
        let (carry_numbers, carry_isins): (Vec<String>, Vec<String>) =
            effects.carry.iter().cloned().unzip();
        let (unseen_numbers, unseen_counts): (Vec<String>, Vec<i64>) = effects
            .per_account
            .values()
            .map(|(n, c)| (n.clone(), i64::from(*c)))
            .unzip();
        drop(effects);

        // The final step: wait for the deposits in flight, hold off new ones, then make the day
        // current — every account written once, the holdings swapped, later deposits re-applied.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&HOLDINGS_LOCK])
            .await
            .map_err(map_err)?;
        let cash_id = *instrument_ids
            .get("CASH")
            .ok_or_else(|| StoreError::Internal("no CASH instrument".into()))?;
        // Last known good: the current line of each rejected (account, instrument) the day did
        // not deliver, with the date it is from; a carried cash line without the deposits that
        // are applied again below (never counted twice).
        tx.execute(
            "CREATE TEMP TABLE carried ON COMMIT DROP AS \
             SELECT h.account_id, h.instrument_id, h.quantity, h.price, \
                    COALESCE(h.stale_since, a.as_of) AS stale_since \
             FROM (SELECT DISTINCT * FROM UNNEST($1::TEXT[], $2::TEXT[]) AS k(n, isin)) k \
             JOIN accounts a ON a.account_number = k.n \
             JOIN instruments i ON i.isin = k.isin \
             JOIN holdings h ON h.account_id = a.id AND h.instrument_id = i.id \
             WHERE a.status = 'active' AND a.as_of IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM holdings_next n WHERE n.account_id = h.account_id \
              AND n.instrument_id = h.instrument_id)",
            &[&carry_numbers, &carry_isins],
        )
        .await
        .map_err(map_err)?;
        // Looked up per partial account below.
        tx.batch_execute("CREATE INDEX ON carried(account_id); ANALYZE carried")
            .await
            .map_err(map_err)?;
        tx.execute(
            &format!(
                "UPDATE carried SET price = price - ({}) WHERE quantity = 1 AND instrument_id = $2",
                later_deposits("carried.account_id")
            ),
            &[&date, &cash_id],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "INSERT INTO holdings_next (account_id, instrument_id, quantity, price, stale_since) \
             SELECT account_id, instrument_id, quantity, price, stale_since FROM carried",
            &[],
        )
        .await
        .map_err(map_err)?;
        // Accounts every row of which was rejected but that keep carried lines: current, with
        // today's principal row if there is one (else the earlier principal, marked) and
        // today's rejects counted.
        // Only the accounts not staged yet are read (a handful): joining every carried
        // account against the day's principal rows cost 26 s at 1 M accounts.
        tx.execute(
            "INSERT INTO accounts_next (id, customer_id, broker_id, name, principal, \
             total_assets, partial_rows) \
             SELECT a.id, a.customer_id, a.broker_id, a.name, p.v, 0, COALESCE(u.n, 0) \
             FROM (SELECT DISTINCT c.account_id FROM carried c WHERE NOT EXISTS \
                   (SELECT 1 FROM accounts_next x WHERE x.id = c.account_id)) k \
             JOIN accounts a ON a.id = k.account_id \
             LEFT JOIN (SELECT n AS number, SUM(c) AS n \
                 FROM UNNEST($1::TEXT[], $2::BIGINT[]) AS t(n, c) GROUP BY n) u \
                 ON u.number = a.account_number \
             LEFT JOIN (SELECT DISTINCT ON (n) n, v \
                 FROM UNNEST($3::TEXT[], $4::BIGINT[]) AS p(n, v) ORDER BY n) p \
                 ON p.n = a.account_number \
             ON CONFLICT (id) DO NOTHING",
            &[
                &unseen_numbers,
                &unseen_counts,
                &unseen_principal_numbers,
                &unseen_principal_values,
            ],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "UPDATE accounts_next n SET total_assets = n.total_assets + c.s, \
             carried_since = c.since \
             FROM (SELECT account_id, SUM(price * quantity) AS s, MIN(stale_since) AS since \
                   FROM carried GROUP BY account_id) c WHERE n.id = c.account_id",
            &[],
        )
        .await
        .map_err(map_err)?;
        // Unknown principal: rejected today with no earlier value (a new account, or one whose
        // principal was already unknown). Expressions read the row as it was.
        tx.execute(
            &format!(
                "UPDATE accounts a SET customer_id = n.customer_id, broker_id = n.broker_id, \
                 name = n.name, status = 'active', as_of = $1, load_seq = $2, \
                 principal = COALESCE(n.principal, a.principal - ({later})), \
                 principal_unknown = CASE WHEN n.principal IS NOT NULL THEN 0 \
                     WHEN a.as_of IS NULL OR a.principal_unknown <> 0 THEN 1 ELSE 0 END, \
                 principal_since = CASE WHEN n.principal IS NOT NULL THEN NULL \
                     WHEN a.as_of IS NULL OR a.principal_unknown <> 0 THEN NULL \
                     ELSE COALESCE(a.principal_since, a.as_of) END, \
                 partial_rows = n.partial_rows, \
                 partial_since = CASE WHEN n.partial_rows <> 0 THEN LEAST(n.carried_since, \
                     CASE WHEN n.principal IS NOT NULL THEN NULL \
                     WHEN a.as_of IS NULL OR a.principal_unknown <> 0 THEN NULL \
                     ELSE COALESCE(a.principal_since, a.as_of) END) END, \
                 total_assets = n.total_assets FROM accounts_next n WHERE a.id = n.id",
                later = later_deposits("a.id")
            ),
            &[&date, &seq],
        )
        .await
        .map_err(map_err)?;
        tx.batch_execute(
            "DROP TABLE holdings;
             ALTER TABLE holdings_next RENAME TO holdings;
             ALTER INDEX holdings_next_account RENAME TO holdings_account;",
        )
        .await
        .map_err(map_err)?;
        // Accounts missing from today's delivery (a replaced delivery of the same date
        // included): inactive, no holdings, history kept.
        let deactivated = tx
            .execute(
                "UPDATE accounts SET status = 'inactive', total_assets = 0, partial_rows = 0, \
                 partial_since = NULL WHERE status = 'active' AND load_seq IS DISTINCT FROM $1",
                &[&seq],
            )
            .await
            .map_err(map_err)?;
        // Deposits confirmed on or after the business date are not in the provider's figures
        // yet: re-applied per account in three set-based statements (a busy day has tens of
        // thousands; one by one they would hold the lock above for tens of seconds). An amount
        // that no longer fits in BIGINT fails the load, it never wraps.
        tx.execute(
            "CREATE TEMP TABLE later_deposits ON COMMIT DROP AS \
             SELECT d.account_id, SUM(d.amount) AS amount FROM deposits d \
             JOIN accounts a ON a.id = d.account_id \
             WHERE d.status = 'confirmed' AND d.confirmed_date >= $1 AND a.load_seq = $2 \
             GROUP BY d.account_id",
            &[&date, &seq],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "UPDATE holdings h SET price = h.price + l.amount FROM later_deposits l \
             WHERE h.account_id = l.account_id AND h.instrument_id = $1 AND h.quantity = 1",
            &[&cash_id],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "INSERT INTO holdings (account_id, instrument_id, quantity, price) \
             SELECT l.account_id, $1, 1, l.amount FROM later_deposits l WHERE NOT EXISTS \
             (SELECT 1 FROM holdings h WHERE h.account_id = l.account_id \
              AND h.instrument_id = $1 AND h.quantity = 1)",
            &[&cash_id],
        )
        .await
        .map_err(map_err)?;
        tx.execute(
            "UPDATE accounts a SET principal = a.principal + l.amount, \
             total_assets = a.total_assets + l.amount FROM later_deposits l \
             WHERE a.id = l.account_id",
            &[],
        )
        .await
        .map_err(map_err)?;
        // A delivery for a date already loaded replaces that day's history completely.
        if replaced.is_some() {
            tx.execute(
                "CREATE TEMP TABLE replaced_day ON COMMIT DROP AS SELECT account_id, \
                 total_assets, principal, principal_unknown FROM account_history WHERE date = $1",
                &[&date],
            )
            .await
            .map_err(map_err)?;
            tx.execute("DELETE FROM account_history WHERE date = $1", &[&date])
                .await
                .map_err(map_err)?;
        }
        tx.execute(
            "INSERT INTO account_history (account_id, date, total_assets, principal, \
             principal_unknown, partial_rows, partial_since) \
             SELECT id, as_of, total_assets, principal, principal_unknown, partial_rows, \
             partial_since FROM accounts WHERE load_seq = $1 \
             ON CONFLICT (account_id, date) DO UPDATE SET total_assets = excluded.total_assets, \
             principal = excluded.principal, principal_unknown = excluded.principal_unknown, \
             partial_rows = excluded.partial_rows, partial_since = excluded.partial_since",
            &[&seq],
        )
        .await
        .map_err(map_err)?;
        let diff = match replaced {
            None => None,
            Some(replaced_run) => {
                let r = tx
                    .query_one(
                        "SELECT \
                         (SELECT COUNT(*) FROM account_history h WHERE h.date = $1 AND NOT EXISTS \
                             (SELECT 1 FROM replaced_day r WHERE r.account_id = h.account_id)), \
                         (SELECT COUNT(*) FROM replaced_day r WHERE NOT EXISTS \
                             (SELECT 1 FROM account_history h WHERE h.account_id = r.account_id \
                              AND h.date = $1)), \
                         (SELECT COUNT(*) FROM replaced_day r JOIN account_history h \
                             ON h.account_id = r.account_id AND h.date = $1 \
                             WHERE h.total_assets <> r.total_assets OR h.principal <> r.principal \
                             OR h.principal_unknown <> r.principal_unknown)",
                        &[&date],
                    )
                    .await
                    .map_err(map_err)?;
                Some(ReplaceDiff {
                    replaced_run,
                    accounts_added: r.get::<_, i64>(0) as u64,
                    accounts_removed: r.get::<_, i64>(1) as u64,
                    accounts_changed: r.get::<_, i64>(2) as u64,
                })
            }
        };

        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let files = serde_json::to_string(&load.files).unwrap_or_else(|_| "[]".into());
        let run_id: RunId = tx
            .query_one(
                "INSERT INTO batch_runs (business_date, status, started_at, duration_ms, files, \
                 rows_read, rows_loaded, rows_rejected, warnings, accounts_loaded, \
                 accounts_deactivated, instruments_loaded, holdings_loaded, principals_loaded, \
                 releases, source_dir, replaced_run, replace_added, replace_removed, \
                 replace_changed) VALUES ($1, 'committed', $2, $3, $4, $5, $6, $7, $8, $9, $10, \
                 $11, $12, $13, $14, $15, $16, $17, $18, $19) RETURNING id",
                &[
                    &date,
                    &load.started_at.timestamp_millis(),
                    &duration_ms,
                    &files,
                    &(counts.rows_read as i64),
                    &(counts.rows_loaded as i64),
                    &(counts.rows_rejected as i64),
                    &(counts.warnings as i64),
                    &(caches.accounts.len() as i64),
                    &(deactivated as i64),
                    &(load.instruments.len() as i64),
                    &(counts.holdings_loaded as i64),
                    &(counts.principals_loaded as i64),
                    &load.release_of,
                    &load.source_dir,
                    &diff.map(|d| d.replaced_run),
                    &diff.map(|d| d.accounts_added as i64),
                    &diff.map(|d| d.accounts_removed as i64),
                    &diff.map(|d| d.accounts_changed as i64),
                ],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if let Some(held) = load.release_of {
            tx.execute(
                "UPDATE batch_runs SET released_by = $1 WHERE id = $2",
                &[&run_id, &held],
            )
            .await
            .map_err(map_err)?;
        }
        insert_findings(&tx, run_id, &rejects, &warnings).await?;
        let record = run_from_row(
            &tx.query_one(&format!("{RUN_SELECT} WHERE id = $1"), &[&run_id])
                .await
                .map_err(map_err)?,
        );
        tx.commit().await.map_err(map_err)?;
        Ok(record)
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

async fn insert_findings(
    tx: &Transaction<'_>,
    run_id: RunId,
    rejects: &[RejectRecord],
    warnings: &[WarningRecord],
) -> StoreResult<()> {
    let mut seq = Vec::new();
    let mut kind = Vec::new();
    let mut file = Vec::new();
    let mut line: Vec<Option<i64>> = Vec::new();
    let mut col: Vec<Option<String>> = Vec::new();
    let mut value: Vec<Option<String>> = Vec::new();
    let mut message = Vec::new();
    let mut account: Vec<Option<String>> = Vec::new();
    let mut isin: Vec<Option<String>> = Vec::new();
    for r in rejects {
        account.push(r.account_number.as_deref().map(str::to_string));
        isin.push(r.isin.as_deref().map(str::to_string));
        seq.push(seq.len() as i64 + 1);
        kind.push("reject");
        file.push(r.file.as_str());
        line.push(Some(r.line as i64));
        col.push(r.column.clone());
        value.push(r.value.clone());
        message.push(r.reason.clone());
    }
    for w in warnings {
        account.push(None);
        isin.push(None);
        seq.push(seq.len() as i64 + 1);
        kind.push("warning");
        file.push(w.file.as_str());
        line.push(w.line.map(|l| l as i64));
        col.push(w.column.clone());
        value.push(w.value.clone());
        message.push(w.message.clone());
    }
    for start in (0..seq.len()).step_by(10_000) {
        let end = (start + 10_000).min(seq.len());
        tx.execute(
            "INSERT INTO batch_findings (run_id, seq, kind, file, line, col, value, message, \
             account_number, isin) \
             SELECT $1, * FROM UNNEST($2::BIGINT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], \
             $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::TEXT[], $10::TEXT[])",
            &[
                &run_id,
                &&seq[start..end],
                &&kind[start..end],
                &&file[start..end],
                &&line[start..end],
                &&col[start..end],
                &&value[start..end],
                &&message[start..end],
                &&account[start..end],
                &&isin[start..end],
            ],
        )
        .await
        .map_err(map_err)?;
    }
    Ok(())
}

#[async_trait]
impl InvestmentStore for PostgresStore {
    async fn accounts(&self, scope: Scope) -> StoreResult<Vec<AccountSummary>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "{SUMMARY_SELECT} WHERE a.status = 'active' \
                     AND ($1::BIGINT IS NULL OR a.customer_id = $1) ORDER BY a.account_number"
                ),
                &[&scope.customer_id()],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(summary_from_row).collect())
    }

    async fn account(&self, scope: Scope, account_id: AccountId) -> StoreResult<AccountSummary> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "{SUMMARY_SELECT} WHERE a.id = $1 AND a.status = 'active' \
                     AND ($2::BIGINT IS NULL OR a.customer_id = $2)"
                ),
                &[&account_id, &scope.customer_id()],
            )
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(summary_from_row)
            .ok_or(StoreError::NotFound)
    }

    async fn holdings(
        &self,
        scope: Scope,
        account_id: AccountId,
        include_zero: bool,
    ) -> StoreResult<Vec<HoldingLine>> {
        let c = self.client().await?;
        if !in_scope(&c, scope, account_id).await? {
            return Err(StoreError::NotFound);
        }
        let rows = c
            .query(
                "SELECT i.isin, i.name, g.name, h.price, h.quantity, h.stale_since \
                 FROM holdings h JOIN instruments i ON i.id = h.instrument_id \
                 JOIN asset_groups g ON g.id = i.asset_group_id \
                 WHERE h.account_id = $1 AND ($2 OR h.quantity <> 0) \
                 ORDER BY i.isin = 'CASH', h.price * h.quantity DESC, i.isin",
                &[&account_id, &include_zero],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| {
                let price: i64 = r.get(3);
                let quantity: i64 = r.get(4);
                HoldingLine {
                    isin: r.get(0),
                    instrument_name: r.get(1),
                    asset_group: r.get(2),
                    price: Won::new(price),
                    quantity,
                    valuation: Won::new(price.saturating_mul(quantity)),
                    stale_since: opt_date(r.get(5)),
                }
            })
            .collect())
    }

    async fn history(
        &self,
        scope: Scope,
        account_id: Option<AccountId>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<HistoryPoint>> {
        let c = self.client().await?;
        if let Some(id) = account_id
            && !in_scope(&c, scope, id).await?
        {
            return Err(StoreError::NotFound);
        }
        let rows = c
            .query(
                "SELECT h.date, SUM(h.total_assets)::BIGINT, SUM(h.principal)::BIGINT, \
                 MAX(h.principal_unknown)::BIGINT, SUM(h.partial_rows)::BIGINT, \
                 MIN(h.partial_since) FROM account_history h JOIN accounts a ON a.id = h.account_id \
                 WHERE ($1::BIGINT IS NULL OR a.customer_id = $1) \
                 AND ($2::BIGINT IS NULL OR a.id = $2) \
                 AND ($3::TEXT IS NULL OR h.date >= $3) AND ($4::TEXT IS NULL OR h.date <= $4) \
                 GROUP BY h.date ORDER BY h.date",
                &[
                    &scope.customer_id(),
                    &account_id,
                    &from.map(date_key),
                    &to.map(date_key),
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| {
                let d: String = r.get(0);
                let unknown: i64 = r.get(3);
                HistoryPoint {
                    date: d.parse().unwrap_or_default(),
                    total_assets: Won::new(r.get(1)),
                    principal: (unknown == 0).then(|| Won::new(r.get(2))),
                    partial: Partial::from_parts(r.get(4), opt_date(r.get(5))),
                }
            })
            .collect())
    }

    async fn load_snapshot(&self, load: SnapshotLoad) -> StoreResult<RunRecord> {
        self.load(load).await
    }

    async fn record_failed_run(&self, run: FailedRun) -> StoreResult<RunRecord> {
        let c = self.client().await?;
        let duration = (Utc::now() - run.started_at).num_milliseconds().max(0);
        let files = serde_json::to_string(&run.files).unwrap_or_else(|_| "[]".into());
        let row = c
            .query_one(
                &format!(
                    "WITH r AS (INSERT INTO batch_runs (business_date, status, started_at, \
                     duration_ms, files, rows_read, rows_loaded, rows_rejected, warnings, \
                     accounts_loaded, accounts_deactivated, error) \
                     VALUES ($1, 'failed', $2, $3, $4, 0, 0, 0, 0, 0, 0, $5) RETURNING *) \
                     {} ",
                    RUN_SELECT.replace("FROM batch_runs", "FROM r")
                ),
                &[
                    &date_key(run.business_date),
                    &run.started_at.timestamp_millis(),
                    &duration,
                    &files,
                    &run.error,
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(run_from_row(&row))
    }

    async fn stale_accounts(&self, limit: u32) -> StoreResult<Vec<StaleAccount>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "{SUMMARY_SELECT} WHERE a.status = 'active' AND a.partial_rows <> 0 \
                     ORDER BY a.account_number LIMIT $1"
                ),
                &[&i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let account = summary_from_row(row);
            let lines = c
                .query(
                    "SELECT i.isin, i.name, g.name, h.price, h.quantity, h.stale_since \
                     FROM holdings h JOIN instruments i ON i.id = h.instrument_id \
                     JOIN asset_groups g ON g.id = i.asset_group_id \
                     WHERE h.account_id = $1 AND h.stale_since IS NOT NULL ORDER BY i.isin",
                    &[&account.id],
                )
                .await
                .map_err(map_err)?;
            let holdings = lines
                .iter()
                .map(|r| {
                    let price: i64 = r.get(3);
                    let quantity: i64 = r.get(4);
                    HoldingLine {
                        isin: r.get(0),
                        instrument_name: r.get(1),
                        asset_group: r.get(2),
                        price: Won::new(price),
                        quantity,
                        valuation: Won::new(price.saturating_mul(quantity)),
                        stale_since: opt_date(r.get(5)),
                    }
                })
                .collect();
            out.push(StaleAccount { account, holdings });
        }
        Ok(out)
    }

    async fn runs(&self, limit: u32) -> StoreResult<Vec<RunRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("{RUN_SELECT} ORDER BY id DESC LIMIT $1"),
                &[&i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(run_from_row).collect())
    }

    async fn run(&self, id: RunId) -> StoreResult<RunRecord> {
        let c = self.client().await?;
        let row = c
            .query_opt(&format!("{RUN_SELECT} WHERE id = $1"), &[&id])
            .await
            .map_err(map_err)?;
        row.as_ref().map(run_from_row).ok_or(StoreError::NotFound)
    }

    async fn run_findings(&self, id: RunId) -> StoreResult<RunFindings> {
        let c = self.client().await?;
        let exists: bool = c
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM batch_runs WHERE id = $1)",
                &[&id],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if !exists {
            return Err(StoreError::NotFound);
        }
        let rows = c
            .query(
                "SELECT kind, file, line, col, value, message, account_number, isin \
                 FROM batch_findings WHERE run_id = $1 ORDER BY seq",
                &[&id],
            )
            .await
            .map_err(map_err)?;
        let mut findings = RunFindings {
            rejects: vec![],
            warnings: vec![],
        };
        for r in rows {
            let kind: String = r.get(0);
            let file = SnapshotFile::parse(r.get(1)).unwrap_or(SnapshotFile::Holdings);
            let line: Option<i64> = r.get(2);
            if kind == "reject" {
                findings.rejects.push(RejectRecord {
                    file,
                    line: line.unwrap_or(0) as u64,
                    column: r.get(3),
                    value: r.get(4),
                    reason: r.get(5),
                    account_number: r.get::<_, Option<String>>(6).map(Into::into),
                    isin: r.get::<_, Option<String>>(7).map(Into::into),
                });
            } else {
                findings.warnings.push(WarningRecord {
                    file,
                    line: line.map(|l| l as u64),
                    column: r.get(3),
                    value: r.get(4),
                    message: r.get(5),
                });
            }
        }
        Ok(findings)
    }

    async fn create_deposit(
        &self,
        new: NewDeposit,
    ) -> StoreResult<Result<Deposit, DepositRefusal>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let row = match AccountNumber::parse(&new.account_number) {
            Ok(n) => tx
                .query_opt(
                    "SELECT a.id, a.customer_id, c.name, a.status FROM accounts a \
                     JOIN customers c ON c.id = a.customer_id WHERE a.account_number = $1",
                    &[&n.as_str()],
                )
                .await
                .map_err(map_err)?,
            Err(_) => None,
        };
        let row = row.map(|r| {
            (
                r.get::<_, i64>(0),
                r.get::<_, i64>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3),
            )
        });
        let refusal = match &row {
            None => Some(DepositRefusal::AccountNotFound),
            Some((_, cust, _, _)) if new.scope.customer_id().is_some_and(|s| s != *cust) => {
                Some(DepositRefusal::AccountNotFound)
            }
            Some((_, _, holder, _)) if holder != new.user_name.trim() => {
                Some(DepositRefusal::NameMismatch)
            }
            Some((_, _, _, status)) if status != "active" => Some(DepositRefusal::AccountInactive),
            _ => None,
        };
        if let Some(refusal) = refusal {
            let outcome = refusal.audit_label();
            record_attempt(&tx, new.user_id, 1, None, outcome, new.now).await?;
            tx.commit().await.map_err(map_err)?;
            return Ok(Err(refusal));
        }
        let Some((account_id, _, holder, _)) = row else {
            return Err(StoreError::Internal("unreachable: checked above".into()));
        };
        tx.execute(
            "INSERT INTO deposits (identifier, user_id, account_id, user_name, amount, created_at, \
             expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &new.identifier,
                &new.user_id,
                &account_id,
                &holder,
                &new.amount.get(),
                &new.now.timestamp_millis(),
                &new.expires_at.timestamp_millis(),
            ],
        )
        .await
        .map_err(map_err)?;
        record_attempt(
            &tx,
            new.user_id,
            1,
            Some(&new.identifier),
            "created",
            new.now,
        )
        .await?;
        let d = deposit_from_row(
            &tx.query_one(
                &format!("{DEPOSIT_SELECT} WHERE d.identifier = $1"),
                &[&new.identifier],
            )
            .await
            .map_err(map_err)?,
        );
        tx.commit().await.map_err(map_err)?;
        Ok(Ok(d))
    }

    async fn confirm_deposit(
        &self,
        user_id: UserId,
        scope: Scope,
        identifier: &str,
        signature: Option<&Signature>,
        now: DateTime<Utc>,
    ) -> StoreResult<ConfirmOutcome> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        tx.batch_execute("SET LOCAL lock_timeout = '10s'")
            .await
            .map_err(map_err)?;
        tx.execute("SELECT pg_advisory_xact_lock_shared($1)", &[&HOLDINGS_LOCK])
            .await
            .map_err(map_err)?;
        // FOR UPDATE serialises concurrent confirmations of one identifier across replicas.
        let row = tx
            .query_opt(
                "SELECT d.id, d.account_id, a.account_number, d.user_name, d.amount, d.status, \
                 d.expires_at, a.customer_id, a.status FROM deposits d \
                 JOIN accounts a ON a.id = d.account_id \
                 WHERE d.identifier = $1 FOR UPDATE OF d",
                &[&identifier],
            )
            .await
            .map_err(map_err)?;
        let outcome = match row {
            None => ConfirmOutcome::NotFound,
            Some(r) => {
                let (id, account_id, number, name, amount, status, expires, cust): (
                    i64,
                    i64,
                    String,
                    String,
                    i64,
                    String,
                    i64,
                    i64,
                ) = (
                    r.get(0),
                    r.get(1),
                    r.get(2),
                    r.get(3),
                    r.get(4),
                    r.get(5),
                    r.get(6),
                    r.get(7),
                );
                if scope.customer_id().is_some_and(|s| s != cust) {
                    ConfirmOutcome::NotFound
                } else if status == "confirmed" {
                    ConfirmOutcome::AlreadyConfirmed
                } else if expires <= now.timestamp_millis() {
                    ConfirmOutcome::Expired
                } else if r.get::<_, String>(8) != "active" {
                    ConfirmOutcome::AccountInactive
                } else {
                    let ok = match (signature, AccountNumber::parse(&number)) {
                        (Some(sig), Ok(n)) => sig.matches(&n, &name, Won::new(amount)),
                        _ => false,
                    };
                    if !ok {
                        ConfirmOutcome::BadSignature
                    } else {
                        let changed = tx
                            .execute(
                                "UPDATE deposits SET status = 'confirmed', confirmed_at = $1, \
                                 confirmed_date = $2 WHERE id = $3 AND status = 'pending'",
                                &[
                                    &now.timestamp_millis(),
                                    &date_key(ginkgo_domain::time::to_kst(now).date_naive()),
                                    &id,
                                ],
                            )
                            .await
                            .map_err(map_err)?;
                        if changed == 1 {
                            apply_deposit(&tx, account_id, amount).await?;
                            ConfirmOutcome::Confirmed(deposit_from_row(
                                &tx.query_one(&format!("{DEPOSIT_SELECT} WHERE d.id = $1"), &[&id])
                                    .await
                                    .map_err(map_err)?,
                            ))
                        } else {
                            ConfirmOutcome::AlreadyConfirmed
                        }
                    }
                }
            }
        };
        let label = outcome.audit_label();
        record_attempt(&tx, user_id, 2, Some(identifier), label, now).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(outcome)
    }

    async fn deposits(&self, scope: Scope, limit: u32) -> StoreResult<Vec<Deposit>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "{DEPOSIT_SELECT} WHERE ($1::BIGINT IS NULL OR a.customer_id = $1) \
                     ORDER BY d.id DESC LIMIT $2"
                ),
                &[&scope.customer_id(), &i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(deposit_from_row).collect())
    }

    async fn record_deposit_attempt(
        &self,
        user_id: UserId,
        phase: u8,
        identifier: Option<&str>,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        record_attempt(&c, user_id, i64::from(phase), identifier, outcome, at).await
    }

    async fn deposit_attempts(
        &self,
        user_id: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<DepositAttempt>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, user_id, phase, identifier, outcome, at FROM deposit_attempts \
                 WHERE ($1::BIGINT IS NULL OR user_id = $1) ORDER BY id DESC LIMIT $2",
                &[&user_id, &i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| DepositAttempt {
                id: r.get(0),
                user_id: r.get(1),
                phase: u8::try_from(r.get::<_, i64>(2)).unwrap_or(0),
                identifier: r.get(3),
                outcome: r.get(4),
                at: ts(r.get(5)),
            })
            .collect())
    }
}
