use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::Won;
use ginkgo_store::{
    BankAccount, BankAccountId, BankAccountInfo, BankLink, BankStore, BankTxn, CategoryChange,
    InsightOverride, NewBankLink, NewBankTxn, RuleRow, StoreError, StoreResult, SyncRecord,
    TxnFilter, TxnPage, UserId, date_key,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteStore;
use crate::auth::ts;
use crate::conn::map_err;

const LINK_SELECT: &str = "SELECT id, user_id, user_seq_no, access_token_enc, refresh_token_enc, scope, \
     access_expires_at, status, updated_at FROM bank_links";

fn link_from_row(r: &Row<'_>) -> rusqlite::Result<BankLink> {
    Ok(BankLink {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user_seq_no: r.get(2)?,
        access_token_enc: r.get(3)?,
        refresh_token_enc: r.get(4)?,
        scope: r.get(5)?,
        access_expires_at: ts(r.get(6)?),
        status: r.get(7)?,
        updated_at: ts(r.get(8)?),
    })
}

const ACCOUNT_SELECT: &str = "SELECT id, user_id, fintech_use_num, bank_name, bank_code, account_alias, \
     account_num_masked, balance, available, product_name, last_synced_at, synced_through, sync_status, \
     sync_attempted_at, sync_warning, account_issue_date, maturity_date, last_tran_date \
     FROM bank_accounts";

fn opt_date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|d| d.parse().ok())
}

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<BankAccount> {
    let through: Option<String> = r.get(11)?;
    Ok(BankAccount {
        id: r.get(0)?,
        user_id: r.get(1)?,
        fintech_use_num: r.get(2)?,
        bank_name: r.get(3)?,
        bank_code: r.get(4)?,
        account_alias: r.get(5)?,
        account_num_masked: r.get(6)?,
        balance: r.get::<_, Option<i64>>(7)?.map(Won::new),
        available: r.get::<_, Option<i64>>(8)?.map(Won::new),
        product_name: r.get(9)?,
        last_synced_at: r.get::<_, Option<i64>>(10)?.map(ts),
        synced_through: through.and_then(|d| d.parse().ok()),
        sync_status: r.get(12)?,
        sync_attempted_at: r.get::<_, Option<i64>>(13)?.map(ts),
        sync_warning: r.get(14)?,
        dates: ginkgo_store::BalanceDates {
            account_issue_date: opt_date(r.get(15)?),
            maturity_date: opt_date(r.get(16)?),
            last_tran_date: opt_date(r.get(17)?),
        },
    })
}

const TXN_COLUMNS: &str = "t.id, t.account_id, t.tran_date, t.tran_time, t.direction, t.tran_type, t.memo, \
     t.memo_norm, t.amount, t.balance_after, t.branch_name, t.category, t.category_source, t.rule_id, t.manual, \
     t.out_of_period";

fn txn_from_row(r: &Row<'_>) -> rusqlite::Result<BankTxn> {
    let d: String = r.get(2)?;
    Ok(BankTxn {
        id: r.get(0)?,
        account_id: r.get(1)?,
        date: d.parse().unwrap_or_default(),
        time: r.get(3)?,
        direction: r.get(4)?,
        tran_type: r.get(5)?,
        memo: r.get(6)?,
        memo_norm: r.get(7)?,
        amount: Won::new(r.get(8)?),
        balance_after: Won::new(r.get(9)?),
        branch_name: r.get(10)?,
        category: r.get(11)?,
        category_source: r.get(12)?,
        rule_id: r.get(13)?,
        manual: r.get::<_, i64>(14)? != 0,
        out_of_period: r.get::<_, i64>(15)? != 0,
    })
}

fn sync_from_row(r: &Row<'_>) -> rusqlite::Result<SyncRecord> {
    Ok(SyncRecord {
        id: r.get(0)?,
        started_at: ts(r.get(1)?),
        finished_at: r.get::<_, Option<i64>>(2)?.map(ts),
        status: r.get(3)?,
        accounts: r.get::<_, i64>(4)? as u32,
        added: r.get::<_, i64>(5)? as u64,
        error: r.get(6)?,
        warnings: split_warnings(r.get(7)?),
    })
}

fn split_warnings(text: Option<String>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .filter(|w| !w.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

fn join_warnings(warnings: &[String]) -> Option<String> {
    (!warnings.is_empty()).then(|| warnings.join(","))
}

fn rules_of(c: &Connection, user_id: UserId) -> rusqlite::Result<Vec<RuleRow>> {
    let mut st = c.prepare_cached(
        "SELECT id, kind, pattern, category, position FROM category_rules WHERE user_id = ?1 \
         ORDER BY position, id",
    )?;
    let rows = st.query_map([user_id], |r| {
        Ok(RuleRow {
            id: r.get(0)?,
            kind: r.get(1)?,
            pattern: r.get(2)?,
            category: r.get(3)?,
            position: r.get(4)?,
        })
    })?;
    rows.collect()
}

fn renumber(c: &Connection, user_id: UserId, ids: &[i64]) -> rusqlite::Result<()> {
    let mut st =
        c.prepare_cached("UPDATE category_rules SET position = ?1 WHERE id = ?2 AND user_id = ?3")?;
    for (i, id) in ids.iter().enumerate() {
        st.execute(params![i as i64, id, user_id])?;
    }
    Ok(())
}

fn rule_by_id(c: &Connection, user_id: UserId, id: i64) -> StoreResult<RuleRow> {
    rules_of(c, user_id)
        .map_err(map_err)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)
}

#[async_trait]
impl BankStore for SqliteStore {
    async fn create_oauth_state(
        &self,
        state: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let state = state.to_string();
        self.pools
            .write(move |c| {
                c.execute(
                    "DELETE FROM oauth_states WHERE expires_at < ?1",
                    [Utc::now().timestamp_millis() - 86_400_000],
                )
                .map_err(map_err)?;
                c.execute(
                    "INSERT INTO oauth_states (state, user_id, expires_at) VALUES (?1, ?2, ?3)",
                    params![state, user_id, expires_at.timestamp_millis()],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn take_oauth_state(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        let state = state.to_string();
        self.pools
            .write(move |c| {
                c.query_row(
                    "UPDATE oauth_states SET used_at = ?2 WHERE state = ?1 AND used_at IS NULL AND expires_at > ?2 \
                     RETURNING user_id",
                    params![state, now.timestamp_millis()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(map_err)
            })
            .await
    }

    async fn save_bank_link(&self, link: NewBankLink) -> StoreResult<BankLink> {
        self.pools
            .write(move |c| {
                let now = link.now.timestamp_millis();
                let tx = c.transaction().map_err(map_err)?;
                tx.execute(
                    "INSERT INTO bank_links (user_id, user_seq_no, access_token_enc, refresh_token_enc, scope, \
                     access_expires_at, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'active', ?7, ?7) \
                     ON CONFLICT(user_id) DO UPDATE SET user_seq_no = excluded.user_seq_no, \
                     access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc, \
                     scope = excluded.scope, access_expires_at = excluded.access_expires_at, status = 'active', \
                     updated_at = excluded.updated_at",
                    params![
                        link.user_id,
                        link.user_seq_no,
                        link.access_token_enc,
                        link.refresh_token_enc,
                        link.scope,
                        link.access_expires_at.timestamp_millis(),
                        now
                    ],
                )
                .map_err(map_err)?;
                // A new link: accounts unlinked one by one may come back (if the bank reports them).
                tx.execute("UPDATE bank_accounts SET unlinked = 0 WHERE user_id = ?1", [link.user_id])
                    .map_err(map_err)?;
                let saved = tx
                    .query_row(&format!("{LINK_SELECT} WHERE user_id = ?1"), [link.user_id], link_from_row)
                    .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(saved)
            })
            .await
    }

    async fn update_bank_tokens(&self, link_id: i64, link: NewBankLink) -> StoreResult<bool> {
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE bank_links SET access_token_enc = ?1, refresh_token_enc = ?2, scope = ?3, \
                         access_expires_at = ?4, updated_at = ?5 WHERE id = ?6 AND user_id = ?7",
                        params![
                            link.access_token_enc,
                            link.refresh_token_enc,
                            link.scope,
                            link.access_expires_at.timestamp_millis(),
                            link.now.timestamp_millis(),
                            link_id,
                            link.user_id
                        ],
                    )
                    .map_err(map_err)?;
                Ok(n == 1)
            })
            .await
    }

    async fn bank_links_with_identity(&self, user_seq_no: &str) -> StoreResult<Vec<BankLink>> {
        let user_seq_no = user_seq_no.to_string();
        self.pools
            .read(move |c| {
                let mut st =
                    c.prepare_cached(&format!("{LINK_SELECT} WHERE user_seq_no = ?1 ORDER BY id"))?;
                let rows = st.query_map([user_seq_no], link_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn bank_link(&self, user_id: UserId) -> StoreResult<Option<BankLink>> {
        self.pools
            .read(move |c| {
                c.query_row(
                    &format!("{LINK_SELECT} WHERE user_id = ?1"),
                    [user_id],
                    link_from_row,
                )
                .optional()
            })
            .await
    }

    async fn active_bank_links(&self) -> StoreResult<Vec<BankLink>> {
        self.pools
            .read(|c| {
                let mut st = c.prepare(&format!(
                    "{LINK_SELECT} WHERE status = 'active' ORDER BY id"
                ))?;
                let rows = st.query_map([], link_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn set_bank_link_status(
        &self,
        user_id: UserId,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let status = status.to_string();
        self.pools
            .write(move |c| {
                c.execute(
                    "UPDATE bank_links SET status = ?1, updated_at = ?2 WHERE user_id = ?3",
                    params![status, now.timestamp_millis(), user_id],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn delete_bank_link(&self, user_id: UserId) -> StoreResult<()> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let n = tx
                    .execute("DELETE FROM bank_links WHERE user_id = ?1", [user_id])
                    .map_err(map_err)?;
                tx.execute(
                    "UPDATE bank_accounts SET active = 0 WHERE user_id = ?1",
                    [user_id],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn unlink_bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<()> {
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE bank_accounts SET unlinked = 1, active = 0 \
                         WHERE id = ?1 AND user_id = ?2 AND active = 1",
                        params![id, user_id],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn upsert_bank_accounts(
        &self,
        user_id: UserId,
        link_id: i64,
        accounts: Vec<BankAccountInfo>,
    ) -> StoreResult<Vec<BankAccount>> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let linked: bool = tx
                    .query_row(
                        "SELECT EXISTS(SELECT 1 FROM bank_links WHERE id = ?1 AND user_id = ?2)",
                        params![link_id, user_id],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                if !linked {
                    return Err(StoreError::NotFound);
                }
                let mut ids = Vec::with_capacity(accounts.len());
                for a in &accounts {
                    let (id, unlinked): (i64, i64) = tx.query_row(
                        "INSERT INTO bank_accounts (user_id, fintech_use_num, bank_name, bank_code, account_alias, \
                         account_num_masked, active) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1) \
                         ON CONFLICT(user_id, fintech_use_num) DO UPDATE SET bank_name = excluded.bank_name, \
                         bank_code = excluded.bank_code, account_alias = excluded.account_alias, \
                         account_num_masked = excluded.account_num_masked, \
                         active = CASE WHEN bank_accounts.unlinked = 1 THEN 0 ELSE 1 END, \
                         sync_status = CASE WHEN bank_accounts.sync_status = 'disconnected' \
                             THEN 'pending' ELSE bank_accounts.sync_status END \
                         RETURNING id, unlinked",
                        params![user_id, a.fintech_use_num, a.bank_name, a.bank_code, a.account_alias, a.account_num_masked],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .map_err(map_err)?;
                    // An account the customer unlinked stays hidden and unsynced.
                    if unlinked == 0 {
                        ids.push(id);
                    }
                }
                // Accounts the bank no longer reports keep their history, visibly disconnected.
                {
                    let mut st = tx
                        .prepare("SELECT id FROM bank_accounts WHERE user_id = ?1 AND active = 1")
                        .map_err(map_err)?;
                    let shown: Vec<i64> = st
                        .query_map([user_id], |r| r.get(0))
                        .map_err(map_err)?
                        .collect::<Result<_, _>>()
                        .map_err(map_err)?;
                    for id in shown.iter().filter(|id| !ids.contains(id)) {
                        tx.execute(
                            "UPDATE bank_accounts SET sync_status = 'disconnected' WHERE id = ?1",
                            [id],
                        )
                        .map_err(map_err)?;
                    }
                }
                let mut out = Vec::with_capacity(ids.len());
                for id in &ids {
                    out.push(
                        tx.query_row(&format!("{ACCOUNT_SELECT} WHERE id = ?1"), [id], account_from_row)
                            .map_err(map_err)?,
                    );
                }
                tx.commit().map_err(map_err)?;
                out.sort_by_key(|a| a.id);
                Ok(out)
            })
            .await
    }

    async fn bank_accounts(&self, user_id: UserId) -> StoreResult<Vec<BankAccount>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "{ACCOUNT_SELECT} WHERE user_id = ?1 AND active = 1 ORDER BY id"
                ))?;
                let rows = st.query_map([user_id], account_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<BankAccount> {
        self.pools
            .read(move |c| {
                c.query_row(
                    &format!("{ACCOUNT_SELECT} WHERE id = ?1 AND user_id = ?2 AND active = 1"),
                    params![id, user_id],
                    account_from_row,
                )
            })
            .await
    }

    async fn record_balance(
        &self,
        account_id: BankAccountId,
        balance: Won,
        available: Won,
        product_name: &str,
        dates: ginkgo_store::BalanceDates,
    ) -> StoreResult<()> {
        let product = product_name.to_string();
        self.pools
            .write(move |c| {
                c.execute(
                    "UPDATE bank_accounts SET balance = ?1, available = ?2, product_name = ?3, \
                     account_issue_date = ?5, maturity_date = ?6, last_tran_date = ?7 WHERE id = ?4",
                    params![
                        balance.get(),
                        available.get(),
                        product,
                        account_id,
                        dates.account_issue_date.map(date_key),
                        dates.maturity_date.map(date_key),
                        dates.last_tran_date.map(date_key)
                    ],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn insert_bank_transactions(
        &self,
        account_id: BankAccountId,
        rows: Vec<NewBankTxn>,
    ) -> StoreResult<u64> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let mut added = 0u64;
                {
                    let mut st = tx
                        .prepare_cached(
                            "INSERT INTO bank_transactions (account_id, tran_date, tran_time, direction, tran_type, memo, \
                             memo_norm, amount, balance_after, branch_name, ordinal, category, category_source, rule_id, out_of_period) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15) ON CONFLICT DO NOTHING",
                        )
                        .map_err(map_err)?;
                    for t in &rows {
                        added += st
                            .execute(params![
                                account_id,
                                date_key(t.date),
                                t.time,
                                t.direction,
                                t.tran_type,
                                t.memo,
                                t.memo_norm,
                                t.amount.get(),
                                t.balance_after.get(),
                                t.branch_name,
                                i64::from(t.ordinal),
                                t.category,
                                t.category_source,
                                t.rule_id,
                                i64::from(t.out_of_period)
                            ])
                            .map_err(map_err)? as u64;
                    }
                }
                tx.commit().map_err(map_err)?;
                Ok(added)
            })
            .await
    }

    async fn bank_balance_before(
        &self,
        account_id: BankAccountId,
        date: NaiveDate,
    ) -> StoreResult<Option<Won>> {
        self.pools
            .read(move |c| {
                c.query_row(
                    "SELECT balance_after FROM bank_transactions WHERE account_id = ?1 AND tran_date < ?2 \
                     ORDER BY tran_date DESC, tran_time DESC, id DESC LIMIT 1",
                    params![account_id, date_key(date)],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
                .map(|b| b.map(Won::new))
            })
            .await
    }

    async fn finish_account_sync(
        &self,
        account_id: BankAccountId,
        synced_through: Option<NaiveDate>,
        status: &str,
        warning: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let status = status.to_string();
        let warning = warning.map(str::to_string);
        self.pools
            .write(move |c| {
                c.execute(
                    "UPDATE bank_accounts SET synced_through = COALESCE(?1, synced_through), sync_status = ?2, \
                     last_synced_at = CASE WHEN ?1 IS NULL THEN last_synced_at ELSE ?3 END, \
                     sync_attempted_at = ?3, sync_warning = ?5 WHERE id = ?4",
                    params![synced_through.map(date_key), status, now.timestamp_millis(), account_id, warning],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn begin_sync(
        &self,
        user_id: UserId,
        started_at: DateTime<Utc>,
    ) -> StoreResult<SyncRecord> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                tx.execute(
                    "UPDATE bank_syncs SET status = 'interrupted', finished_at = ?2, \
                     error = 'the process running this sync stopped' \
                     WHERE user_id = ?1 AND status = 'running'",
                    params![user_id, started_at.timestamp_millis()],
                )
                .map_err(map_err)?;
                let id: i64 = tx
                    .query_row(
                        "INSERT INTO bank_syncs (user_id, started_at, finished_at, status, accounts, added, error) \
                         VALUES (?1, ?2, NULL, 'running', 0, 0, NULL) RETURNING id",
                        params![user_id, started_at.timestamp_millis()],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(SyncRecord {
                    id,
                    started_at,
                    finished_at: None,
                    status: "running".into(),
                    accounts: 0,
                    added: 0,
                    error: None,
                    warnings: Vec::new(),
                })
            })
            .await
    }

    async fn finish_sync(&self, user_id: UserId, record: SyncRecord) -> StoreResult<()> {
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE bank_syncs SET finished_at = ?1, status = ?2, accounts = ?3, added = ?4, error = ?5, \
                         warnings = ?8 WHERE id = ?6 AND user_id = ?7",
                        params![
                            record.finished_at.map(|t| t.timestamp_millis()),
                            record.status,
                            i64::from(record.accounts),
                            i64::try_from(record.added).unwrap_or(i64::MAX),
                            record.error,
                            record.id,
                            user_id,
                            join_warnings(&record.warnings)
                        ],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    Err(StoreError::NotFound)
                } else {
                    Ok(())
                }
            })
            .await
    }

    async fn sync_record(&self, user_id: UserId, id: i64) -> StoreResult<SyncRecord> {
        self.pools
            .read(move |c| {
                c.query_row(
                    "SELECT id, started_at, finished_at, status, accounts, added, error, warnings FROM bank_syncs \
                     WHERE id = ?1 AND user_id = ?2",
                    params![id, user_id],
                    sync_from_row,
                )
            })
            .await
    }

    async fn syncs(&self, user_id: UserId, limit: u32) -> StoreResult<Vec<SyncRecord>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT id, started_at, finished_at, status, accounts, added, error, warnings FROM bank_syncs \
                     WHERE user_id = ?1 ORDER BY id DESC LIMIT ?2",
                )?;
                let rows = st.query_map(params![user_id, limit], sync_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn bank_transactions(
        &self,
        user_id: UserId,
        account_id: BankAccountId,
        filter: TxnFilter,
    ) -> StoreResult<TxnPage> {
        self.pools
            .read(move |c| {
                let owned: bool = c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM bank_accounts WHERE id = ?1 AND user_id = ?2 AND active = 1)",
                    params![account_id, user_id],
                    |r| r.get(0),
                )?;
                if !owned {
                    return Err(rusqlite::Error::QueryReturnedNoRows);
                }
                let per_page = filter.per_page.clamp(1, 500);
                let page = filter.page.max(1);
                let from = filter.from.map(date_key);
                let to = filter.to.map(date_key);
                let total: i64 = c.query_row(
                    "SELECT COUNT(*) FROM bank_transactions t WHERE t.account_id = ?1 \
                     AND (?2 IS NULL OR t.tran_date >= ?2) AND (?3 IS NULL OR t.tran_date <= ?3) \
                     AND (?4 IS NULL OR t.category = ?4)",
                    params![account_id, from, to, filter.category],
                    |r| r.get(0),
                )?;
                let mut st = c.prepare_cached(&format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t WHERE t.account_id = ?1 \
                     AND (?2 IS NULL OR t.tran_date >= ?2) AND (?3 IS NULL OR t.tran_date <= ?3) \
                     AND (?4 IS NULL OR t.category = ?4) \
                     ORDER BY t.tran_date DESC, t.tran_time DESC, t.id DESC LIMIT ?5 OFFSET ?6"
                ))?;
                let items = st
                    .query_map(
                        params![account_id, from, to, filter.category, per_page, i64::from(page - 1) * i64::from(per_page)],
                        txn_from_row,
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(TxnPage { items, total: total as u64, page, per_page })
            })
            .await
    }

    async fn bank_transaction(&self, user_id: UserId, txn_id: i64) -> StoreResult<BankTxn> {
        self.pools
            .read(move |c| {
                c.query_row(
                    &format!(
                        "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                         WHERE t.id = ?1 AND a.user_id = ?2 AND a.active = 1"
                    ),
                    params![txn_id, user_id],
                    txn_from_row,
                )
            })
            .await
    }

    async fn all_bank_transactions(
        &self,
        user_id: UserId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<BankTxn>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(&format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE a.user_id = ?1 AND a.active = 1 AND (?2 IS NULL OR t.tran_date >= ?2) \
                     AND (?3 IS NULL OR t.tran_date <= ?3) ORDER BY t.tran_date, t.tran_time, t.id"
                ))?;
                let rows = st.query_map(params![user_id, from.map(date_key), to.map(date_key)], txn_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn bank_transactions_touched(
        &self,
        user_id: UserId,
        patterns: Vec<String>,
        rule_ids: Vec<i64>,
    ) -> StoreResult<Vec<BankTxn>> {
        self.pools
            .read(move |c| {
                let mut out: Vec<BankTxn> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                let mut by_pattern = c.prepare_cached(&format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE a.user_id = ?1 AND instr(t.memo_norm, ?2) > 0"
                ))?;
                for p in patterns.iter().filter(|p| !p.is_empty()) {
                    for t in by_pattern.query_map(params![user_id, p], txn_from_row)? {
                        let t = t?;
                        if seen.insert(t.id) {
                            out.push(t);
                        }
                    }
                }
                let mut by_rule = c.prepare_cached(&format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE a.user_id = ?1 AND t.rule_id = ?2"
                ))?;
                for id in &rule_ids {
                    for t in by_rule.query_map(params![user_id, id], txn_from_row)? {
                        let t = t?;
                        if seen.insert(t.id) {
                            out.push(t);
                        }
                    }
                }
                Ok(out)
            })
            .await
    }

    async fn apply_category_changes(
        &self,
        user_id: UserId,
        changes: Vec<CategoryChange>,
    ) -> StoreResult<u64> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let mut n = 0u64;
                {
                    let mut st = tx
                        .prepare_cached(
                            "UPDATE bank_transactions SET category = ?1, category_source = ?2, rule_id = ?3 \
                             WHERE id = ?4 AND manual = 0 AND account_id IN \
                             (SELECT id FROM bank_accounts WHERE user_id = ?5)",
                        )
                        .map_err(map_err)?;
                    for ch in &changes {
                        n += st.execute(params![ch.category, ch.source, ch.rule_id, ch.txn_id, user_id]).map_err(map_err)? as u64;
                    }
                }
                tx.commit().map_err(map_err)?;
                Ok(n)
            })
            .await
    }

    async fn set_manual_category(
        &self,
        user_id: UserId,
        txn_id: i64,
        category: &str,
    ) -> StoreResult<BankTxn> {
        let category = category.to_string();
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE bank_transactions SET category = ?1, category_source = 'manual', rule_id = NULL, manual = 1 \
                         WHERE id = ?2 AND account_id IN (SELECT id FROM bank_accounts WHERE user_id = ?3 AND active = 1)",
                        params![category, txn_id, user_id],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                c.query_row(&format!("SELECT {TXN_COLUMNS} FROM bank_transactions t WHERE t.id = ?1"), [txn_id], txn_from_row)
                    .map_err(map_err)
            })
            .await
    }

    async fn rules(&self, user_id: UserId) -> StoreResult<Vec<RuleRow>> {
        self.pools.read(move |c| rules_of(c, user_id)).await
    }

    async fn upsert_rule(
        &self,
        user_id: UserId,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow> {
        let (kind, pattern, category) =
            (kind.to_string(), pattern.to_string(), category.to_string());
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let existing: Option<i64> = tx
                    .query_row(
                        "SELECT id FROM category_rules WHERE user_id = ?1 AND kind = ?2 AND pattern = ?3",
                        params![user_id, kind, pattern],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(map_err)?;
                let id = match existing {
                    Some(id) => {
                        // A re-filing wins: the rule moves to the front.
                        tx.execute(
                            "UPDATE category_rules SET category = ?1, updated_at = ?2 WHERE id = ?3",
                            params![category, Utc::now().timestamp_millis(), id],
                        )
                        .map_err(map_err)?;
                        let mut ids: Vec<i64> = rules_of(&tx, user_id)
                            .map_err(map_err)?
                            .iter()
                            .map(|r| r.id)
                            .filter(|r| *r != id)
                            .collect();
                        ids.insert(0, id);
                        renumber(&tx, user_id, &ids).map_err(map_err)?;
                        id
                    }
                    None => {
                        tx.execute("UPDATE category_rules SET position = position + 1 WHERE user_id = ?1", [user_id])
                            .map_err(map_err)?;
                        tx.query_row(
                            "INSERT INTO category_rules (user_id, kind, pattern, category, position, updated_at) \
                             VALUES (?1, ?2, ?3, ?4, 0, ?5) RETURNING id",
                            params![user_id, kind, pattern, category, Utc::now().timestamp_millis()],
                            |r| r.get(0),
                        )
                        .map_err(map_err)?
                    }
                };
                let rule = rule_by_id(&tx, user_id, id)?;
                tx.commit().map_err(map_err)?;
                Ok(rule)
            })
            .await
    }

    async fn update_rule(
        &self,
        user_id: UserId,
        id: i64,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow> {
        let (kind, pattern, category) =
            (kind.to_string(), pattern.to_string(), category.to_string());
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE category_rules SET kind = ?1, pattern = ?2, category = ?3, updated_at = ?4 \
                         WHERE id = ?5 AND user_id = ?6",
                        params![kind, pattern, category, Utc::now().timestamp_millis(), id, user_id],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                rule_by_id(c, user_id, id)
            })
            .await
    }

    async fn delete_rule(&self, user_id: UserId, id: i64) -> StoreResult<()> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let n = tx
                    .execute(
                        "DELETE FROM category_rules WHERE id = ?1 AND user_id = ?2",
                        params![id, user_id],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                let ids: Vec<i64> = rules_of(&tx, user_id)
                    .map_err(map_err)?
                    .iter()
                    .map(|r| r.id)
                    .collect();
                renumber(&tx, user_id, &ids).map_err(map_err)?;
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn reorder_rules(&self, user_id: UserId, ids: Vec<i64>) -> StoreResult<Vec<RuleRow>> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let mut current: Vec<i64> = rules_of(&tx, user_id)
                    .map_err(map_err)?
                    .iter()
                    .map(|r| r.id)
                    .collect();
                let mut wanted = ids.clone();
                current.sort_unstable();
                wanted.sort_unstable();
                if current != wanted {
                    return Err(StoreError::Rejected(
                        "ids must list each of your rules exactly once".into(),
                    ));
                }
                renumber(&tx, user_id, &ids).map_err(map_err)?;
                let rules = rules_of(&tx, user_id).map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(rules)
            })
            .await
    }

    async fn insight_overrides(&self, user_id: UserId) -> StoreResult<Vec<InsightOverride>> {
        self.pools
            .read(move |c| {
                let mut st = c.prepare_cached(
                    "SELECT kind, subject, data FROM insight_overrides WHERE user_id = ?1 \
                         ORDER BY kind, subject",
                )?;
                let rows = st.query_map(params![user_id], |r| {
                    Ok(InsightOverride {
                        kind: r.get(0)?,
                        subject: r.get(1)?,
                        data: r.get(2)?,
                    })
                })?;
                rows.collect::<Result<Vec<_>, _>>()
            })
            .await
    }

    async fn put_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
        data: &str,
    ) -> StoreResult<()> {
        let (kind, subject, data) = (kind.to_string(), subject.to_string(), data.to_string());
        self.pools
            .write(move |c| {
                c.execute(
                    "INSERT INTO insight_overrides (user_id, kind, subject, data) \
                     VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (user_id, kind, subject) DO UPDATE SET data = excluded.data",
                    params![user_id, kind, subject, data],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn delete_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        let (kind, subject) = (kind.to_string(), subject.to_string());
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "DELETE FROM insight_overrides WHERE user_id = ?1 AND kind = ?2 AND subject = ?3",
                        params![user_id, kind, subject],
                    )
                    .map_err(map_err)?;
                Ok(n > 0)
            })
            .await
    }

    async fn set_memo_norms(
        &self,
        user_id: UserId,
        changes: Vec<(i64, String)>,
    ) -> StoreResult<u64> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let mut n = 0u64;
                {
                    let mut st = tx
                        .prepare_cached(
                            "UPDATE bank_transactions SET memo_norm = ?1 \
                             WHERE id = ?2 AND memo_norm <> ?1 AND account_id IN \
                             (SELECT id FROM bank_accounts WHERE user_id = ?3)",
                        )
                        .map_err(map_err)?;
                    for (id, norm) in &changes {
                        n += st.execute(params![norm, id, user_id]).map_err(map_err)? as u64;
                    }
                }
                tx.commit().map_err(map_err)?;
                Ok(n)
            })
            .await
    }

    async fn pending_task(&self, name: &str) -> StoreResult<bool> {
        let name = name.to_string();
        self.pools
            .read(move |c| {
                c.query_row(
                    "SELECT EXISTS(SELECT 1 FROM pending_tasks WHERE name = ?1)",
                    params![name],
                    |r| r.get(0),
                )
            })
            .await
    }

    async fn finish_pending_task(&self, name: &str) -> StoreResult<()> {
        let name = name.to_string();
        self.pools
            .write(move |c| {
                c.execute("DELETE FROM pending_tasks WHERE name = ?1", params![name])
                    .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn next_tran_id_sequence(&self, day: NaiveDate) -> StoreResult<u64> {
        self.pools
            .write(move |c| {
                let n: i64 = c
                    .query_row(
                        "INSERT INTO tran_id_counters (day, next) VALUES (?1, 1) \
                         ON CONFLICT(day) DO UPDATE SET next = next + 1 RETURNING next",
                        [date_key(day)],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                Ok(n as u64)
            })
            .await
    }
}
