use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::GenericClient;
use ginkgo_domain::Won;
use ginkgo_store::{
    BankAccount, BankAccountId, BankAccountInfo, BankLink, BankStore, BankTxn, CategoryChange,
    InsightOverride, NewBankLink, NewBankTxn, RuleRow, StoreError, StoreResult, SyncRecord,
    TxnFilter, TxnPage, UserId, date_key,
};
use tokio_postgres::Row;

use crate::auth::ts;
use crate::{PostgresStore, map_err};

const LINK_SELECT: &str = "SELECT id, user_id, user_seq_no, access_token_enc, refresh_token_enc, scope, \
     access_expires_at, status, updated_at FROM bank_links";

fn link_from_row(r: &Row) -> BankLink {
    BankLink {
        id: r.get(0),
        user_id: r.get(1),
        user_seq_no: r.get(2),
        access_token_enc: r.get(3),
        refresh_token_enc: r.get(4),
        scope: r.get(5),
        access_expires_at: ts(r.get(6)),
        status: r.get(7),
        updated_at: ts(r.get(8)),
    }
}

const ACCOUNT_SELECT: &str = "SELECT id, user_id, fintech_use_num, bank_name, bank_code, account_alias, \
     account_num_masked, balance, available, product_name, last_synced_at, synced_through, sync_status, \
     sync_attempted_at, sync_warning, account_issue_date, maturity_date, last_tran_date \
     FROM bank_accounts";

fn opt_date(text: Option<String>) -> Option<NaiveDate> {
    text.and_then(|d| d.parse().ok())
}

fn account_from_row(r: &Row) -> BankAccount {
    let through: Option<String> = r.get(11);
    BankAccount {
        id: r.get(0),
        user_id: r.get(1),
        fintech_use_num: r.get(2),
        bank_name: r.get(3),
        bank_code: r.get(4),
        account_alias: r.get(5),
        account_num_masked: r.get(6),
        balance: r.get::<_, Option<i64>>(7).map(Won::new),
        available: r.get::<_, Option<i64>>(8).map(Won::new),
        product_name: r.get(9),
        last_synced_at: r.get::<_, Option<i64>>(10).map(ts),
        synced_through: through.and_then(|d| d.parse().ok()),
        sync_status: r.get(12),
        sync_attempted_at: r.get::<_, Option<i64>>(13).map(ts),
        sync_warning: r.get(14),
        dates: ginkgo_store::BalanceDates {
            account_issue_date: opt_date(r.get(15)),
            maturity_date: opt_date(r.get(16)),
            last_tran_date: opt_date(r.get(17)),
        },
    }
}

const TXN_COLUMNS: &str = "t.id, t.account_id, t.tran_date, t.tran_time, t.direction, t.tran_type, t.memo, \
     t.memo_norm, t.amount, t.balance_after, t.branch_name, t.category, t.category_source, t.rule_id, t.manual, \
     t.out_of_period";

fn txn_from_row(r: &Row) -> BankTxn {
    let d: String = r.get(2);
    BankTxn {
        id: r.get(0),
        account_id: r.get(1),
        date: d.parse().unwrap_or_default(),
        time: r.get(3),
        direction: r.get(4),
        tran_type: r.get(5),
        memo: r.get(6),
        memo_norm: r.get(7),
        amount: Won::new(r.get(8)),
        balance_after: Won::new(r.get(9)),
        branch_name: r.get(10),
        category: r.get(11),
        category_source: r.get(12),
        rule_id: r.get(13),
        manual: r.get::<_, i64>(14) != 0,
        out_of_period: r.get::<_, i64>(15) != 0,
    }
}

fn sync_from_row(r: &Row) -> SyncRecord {
    SyncRecord {
        id: r.get(0),
        started_at: ts(r.get(1)),
        finished_at: r.get::<_, Option<i64>>(2).map(ts),
        status: r.get(3),
        accounts: r.get::<_, i64>(4) as u32,
        added: r.get::<_, i64>(5) as u64,
        error: r.get(6),
        warnings: r
            .get::<_, Option<String>>(7)
            .map(|t| {
                t.split(',')
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
    }
}

async fn rules_of(c: &impl GenericClient, user_id: UserId) -> StoreResult<Vec<RuleRow>> {
    let rows = c
        .query(
            "SELECT id, kind, pattern, category, position FROM category_rules WHERE user_id = $1 ORDER BY position, id",
            &[&user_id],
        )
        .await
        .map_err(map_err)?;
    Ok(rows
        .iter()
        .map(|r| RuleRow {
            id: r.get(0),
            kind: r.get(1),
            pattern: r.get(2),
            category: r.get(3),
            position: r.get::<_, i64>(4) as i32,
        })
        .collect())
}

async fn renumber(c: &impl GenericClient, user_id: UserId, ids: &[i64]) -> StoreResult<()> {
    let positions: Vec<i64> = (0..ids.len() as i64).collect();
    c.execute(
        "UPDATE category_rules r SET position = t.p FROM UNNEST($1::BIGINT[], $2::BIGINT[]) AS t(id, p) \
         WHERE r.id = t.id AND r.user_id = $3",
        &[&ids, &positions, &user_id],
    )
    .await
    .map_err(map_err)?;
    Ok(())
}

async fn rule_by_id(c: &impl GenericClient, user_id: UserId, id: i64) -> StoreResult<RuleRow> {
    rules_of(c, user_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or(StoreError::NotFound)
}

#[async_trait]
impl BankStore for PostgresStore {
    async fn create_oauth_state(
        &self,
        state: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM oauth_states WHERE expires_at < $1",
            &[&(Utc::now().timestamp_millis() - 86_400_000)],
        )
        .await
        .map_err(map_err)?;
        c.execute(
            "INSERT INTO oauth_states (state, user_id, expires_at) VALUES ($1, $2, $3)",
            &[&state, &user_id, &expires_at.timestamp_millis()],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn take_oauth_state(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "UPDATE oauth_states SET used_at = $2 WHERE state = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING user_id",
                &[&state, &now.timestamp_millis()],
            )
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| r.get(0)))
    }

    async fn save_bank_link(&self, link: NewBankLink) -> StoreResult<BankLink> {
        let mut c = self.client().await?;
        let now = link.now.timestamp_millis();
        let tx = c.transaction().await.map_err(map_err)?;
        tx.execute(
            "INSERT INTO bank_links (user_id, user_seq_no, access_token_enc, refresh_token_enc, scope, \
             access_expires_at, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $7) \
             ON CONFLICT (user_id) DO UPDATE SET user_seq_no = excluded.user_seq_no, \
             access_token_enc = excluded.access_token_enc, refresh_token_enc = excluded.refresh_token_enc, \
             scope = excluded.scope, access_expires_at = excluded.access_expires_at, status = 'active', \
             updated_at = excluded.updated_at",
            &[
                &link.user_id,
                &link.user_seq_no,
                &link.access_token_enc,
                &link.refresh_token_enc,
                &link.scope,
                &link.access_expires_at.timestamp_millis(),
                &now,
            ],
        )
        .await
        .map_err(map_err)?;
        // A new link: accounts unlinked one by one may come back (if the bank reports them).
        tx.execute(
            "UPDATE bank_accounts SET unlinked = 0 WHERE user_id = $1",
            &[&link.user_id],
        )
        .await
        .map_err(map_err)?;
        let row = tx
            .query_one(
                &format!("{LINK_SELECT} WHERE user_id = $1"),
                &[&link.user_id],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(link_from_row(&row))
    }

    async fn update_bank_tokens(&self, link_id: i64, link: NewBankLink) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE bank_links SET access_token_enc = $1, refresh_token_enc = $2, scope = $3, \
                 access_expires_at = $4, updated_at = $5 WHERE id = $6 AND user_id = $7",
                &[
                    &link.access_token_enc,
                    &link.refresh_token_enc,
                    &link.scope,
                    &link.access_expires_at.timestamp_millis(),
                    &link.now.timestamp_millis(),
                    &link_id,
                    &link.user_id,
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn bank_links_with_identity(&self, user_seq_no: &str) -> StoreResult<Vec<BankLink>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("{LINK_SELECT} WHERE user_seq_no = $1 ORDER BY id"),
                &[&user_seq_no],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(link_from_row).collect())
    }

    async fn bank_link(&self, user_id: UserId) -> StoreResult<Option<BankLink>> {
        let c = self.client().await?;
        let row = c
            .query_opt(&format!("{LINK_SELECT} WHERE user_id = $1"), &[&user_id])
            .await
            .map_err(map_err)?;
        Ok(row.as_ref().map(link_from_row))
    }

    async fn active_bank_links(&self) -> StoreResult<Vec<BankLink>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("{LINK_SELECT} WHERE status = 'active' ORDER BY id"),
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(link_from_row).collect())
    }

    async fn set_bank_link_status(
        &self,
        user_id: UserId,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE bank_links SET status = $1, updated_at = $2 WHERE user_id = $3",
            &[&status, &now.timestamp_millis(), &user_id],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn delete_bank_link(&self, user_id: UserId) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute("DELETE FROM bank_links WHERE user_id = $1", &[&user_id])
            .await
            .map_err(map_err)?;
        tx.execute(
            "UPDATE bank_accounts SET active = 0 WHERE user_id = $1",
            &[&user_id],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn unlink_bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE bank_accounts SET unlinked = 1, active = 0 \
                 WHERE id = $1 AND user_id = $2 AND active = 1",
                &[&id, &user_id],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn upsert_bank_accounts(
        &self,
        user_id: UserId,
        link_id: i64,
        accounts: Vec<BankAccountInfo>,
    ) -> StoreResult<Vec<BankAccount>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // The link row is locked so that an unlink cannot slip between the check and the writes.
        let linked = tx
            .query_opt(
                "SELECT id FROM bank_links WHERE id = $1 AND user_id = $2 FOR UPDATE",
                &[&link_id, &user_id],
            )
            .await
            .map_err(map_err)?;
        if linked.is_none() {
            return Err(StoreError::NotFound);
        }
        let mut ids: Vec<i64> = Vec::with_capacity(accounts.len());
        for a in &accounts {
            let id = tx
                .query_one(
                    "INSERT INTO bank_accounts (user_id, fintech_use_num, bank_name, bank_code, account_alias, \
                     account_num_masked, active) VALUES ($1, $2, $3, $4, $5, $6, 1) \
                     ON CONFLICT (user_id, fintech_use_num) DO UPDATE SET bank_name = excluded.bank_name, \
                     bank_code = excluded.bank_code, account_alias = excluded.account_alias, \
                     account_num_masked = excluded.account_num_masked, \
                     active = CASE WHEN bank_accounts.unlinked = 1 THEN 0 ELSE 1 END, \
                     sync_status = CASE WHEN bank_accounts.sync_status = 'disconnected' \
                         THEN 'pending' ELSE bank_accounts.sync_status END \
                     RETURNING id, unlinked",
                    &[&user_id, &a.fintech_use_num, &a.bank_name, &a.bank_code, &a.account_alias, &a.account_num_masked],
                )
                .await
                .map_err(map_err)?;
            // An account the customer unlinked stays hidden and unsynced.
            if id.get::<_, i64>(1) == 0 {
                ids.push(id.get(0));
            }
        }
        // Accounts the bank no longer reports keep their history, visibly disconnected.
        tx.execute(
            "UPDATE bank_accounts SET sync_status = 'disconnected' \
             WHERE user_id = $1 AND active = 1 AND NOT (id = ANY($2))",
            &[&user_id, &ids],
        )
        .await
        .map_err(map_err)?;
        let rows = tx
            .query(
                &format!("{ACCOUNT_SELECT} WHERE id = ANY($1) ORDER BY id"),
                &[&ids],
            )
            .await
            .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(rows.iter().map(account_from_row).collect())
    }

    async fn bank_accounts(&self, user_id: UserId) -> StoreResult<Vec<BankAccount>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!("{ACCOUNT_SELECT} WHERE user_id = $1 AND active = 1 ORDER BY id"),
                &[&user_id],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(account_from_row).collect())
    }

    async fn bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<BankAccount> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!("{ACCOUNT_SELECT} WHERE id = $1 AND user_id = $2 AND active = 1"),
                &[&id, &user_id],
            )
            .await
            .map_err(map_err)?;
        row.as_ref()
            .map(account_from_row)
            .ok_or(StoreError::NotFound)
    }

    async fn record_balance(
        &self,
        account_id: BankAccountId,
        balance: Won,
        available: Won,
        product_name: &str,
        dates: ginkgo_store::BalanceDates,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE bank_accounts SET balance = $1, available = $2, product_name = $3, \
             account_issue_date = $5, maturity_date = $6, last_tran_date = $7 WHERE id = $4",
            &[
                &balance.get(),
                &available.get(),
                &product_name,
                &account_id,
                &dates.account_issue_date.map(date_key),
                &dates.maturity_date.map(date_key),
                &dates.last_tran_date.map(date_key),
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn insert_bank_transactions(
        &self,
        account_id: BankAccountId,
        rows: Vec<NewBankTxn>,
    ) -> StoreResult<u64> {
        if rows.is_empty() {
            return Ok(0);
        }
        let c = self.client().await?;
        let mut added = 0u64;
        for chunk in rows.chunks(5_000) {
            let dates: Vec<String> = chunk.iter().map(|t| date_key(t.date)).collect();
            let times: Vec<&str> = chunk.iter().map(|t| t.time.as_str()).collect();
            let dirs: Vec<&str> = chunk.iter().map(|t| t.direction.as_str()).collect();
            let types: Vec<&str> = chunk.iter().map(|t| t.tran_type.as_str()).collect();
            let memos: Vec<&str> = chunk.iter().map(|t| t.memo.as_str()).collect();
            let norms: Vec<&str> = chunk.iter().map(|t| t.memo_norm.as_str()).collect();
            let amounts: Vec<i64> = chunk.iter().map(|t| t.amount.get()).collect();
            let balances: Vec<i64> = chunk.iter().map(|t| t.balance_after.get()).collect();
            let branches: Vec<&str> = chunk.iter().map(|t| t.branch_name.as_str()).collect();
            let ordinals: Vec<i64> = chunk.iter().map(|t| i64::from(t.ordinal)).collect();
            let cats: Vec<&str> = chunk.iter().map(|t| t.category.as_str()).collect();
            let sources: Vec<&str> = chunk.iter().map(|t| t.category_source.as_str()).collect();
            let rule_ids: Vec<Option<i64>> = chunk.iter().map(|t| t.rule_id).collect();
            let flags: Vec<i64> = chunk.iter().map(|t| i64::from(t.out_of_period)).collect();
            added += c
                .execute(
                    "INSERT INTO bank_transactions (account_id, tran_date, tran_time, direction, tran_type, memo, \
                     memo_norm, amount, balance_after, branch_name, ordinal, category, category_source, rule_id, out_of_period) \
                     SELECT $1, * FROM UNNEST($2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[], \
                     $8::BIGINT[], $9::BIGINT[], $10::TEXT[], $11::BIGINT[], $12::TEXT[], $13::TEXT[], $14::BIGINT[], \
                     $15::BIGINT[]) \
                     ON CONFLICT DO NOTHING",
                    &[
                        &account_id, &dates, &times, &dirs, &types, &memos, &norms, &amounts, &balances, &branches,
                        &ordinals, &cats, &sources, &rule_ids, &flags,
                    ],
                )
                .await
                .map_err(map_err)?;
        }
        Ok(added)
    }

    async fn bank_balance_before(
        &self,
        account_id: BankAccountId,
        date: NaiveDate,
    ) -> StoreResult<Option<Won>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT balance_after FROM bank_transactions WHERE account_id = $1 AND tran_date < $2 \
                 ORDER BY tran_date DESC, tran_time DESC, id DESC LIMIT 1",
                &[&account_id, &date_key(date)],
            )
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| Won::new(r.get::<_, i64>(0))))
    }

    async fn finish_account_sync(
        &self,
        account_id: BankAccountId,
        synced_through: Option<NaiveDate>,
        status: &str,
        warning: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE bank_accounts SET synced_through = COALESCE($1, synced_through), sync_status = $2, \
             last_synced_at = CASE WHEN $1::TEXT IS NULL THEN last_synced_at ELSE $3 END, \
             sync_attempted_at = $3, sync_warning = $5 WHERE id = $4",
            &[&synced_through.map(date_key), &status, &now.timestamp_millis(), &account_id, &warning],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn begin_sync(
        &self,
        user_id: UserId,
        started_at: DateTime<Utc>,
    ) -> StoreResult<SyncRecord> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let at = started_at.timestamp_millis();
        tx.execute(
            "UPDATE bank_syncs SET status = 'interrupted', finished_at = $2, \
             error = 'the process running this sync stopped' \
             WHERE user_id = $1 AND status = 'running'",
            &[&user_id, &at],
        )
        .await
        .map_err(map_err)?;
        let id: i64 = tx
            .query_one(
                "INSERT INTO bank_syncs (user_id, started_at, finished_at, status, accounts, added, error) \
                 VALUES ($1, $2, NULL, 'running', 0, 0, NULL) RETURNING id",
                &[&user_id, &at],
            )
            .await
            .map_err(map_err)?
            .get(0);
        tx.commit().await.map_err(map_err)?;
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
    }

    async fn finish_sync(&self, user_id: UserId, record: SyncRecord) -> StoreResult<()> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE bank_syncs SET finished_at = $1, status = $2, accounts = $3, added = $4, error = $5, \
                 warnings = $8 WHERE id = $6 AND user_id = $7",
                &[
                    &record.finished_at.map(|t| t.timestamp_millis()),
                    &record.status,
                    &i64::from(record.accounts),
                    &i64::try_from(record.added).unwrap_or(i64::MAX),
                    &record.error,
                    &record.id,
                    &user_id,
                    &(!record.warnings.is_empty()).then(|| record.warnings.join(",")),
                ],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            Err(StoreError::NotFound)
        } else {
            Ok(())
        }
    }

    async fn sync_record(&self, user_id: UserId, id: i64) -> StoreResult<SyncRecord> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT id, started_at, finished_at, status, accounts, added, error, warnings FROM bank_syncs \
                 WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await
            .map_err(map_err)?
            .ok_or(StoreError::NotFound)?;
        Ok(sync_from_row(&row))
    }

    async fn syncs(&self, user_id: UserId, limit: u32) -> StoreResult<Vec<SyncRecord>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT id, started_at, finished_at, status, accounts, added, error, warnings FROM bank_syncs \
                 WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
                &[&user_id, &i64::from(limit)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(sync_from_row).collect())
    }

    async fn bank_transactions(
        &self,
        user_id: UserId,
        account_id: BankAccountId,
        filter: TxnFilter,
    ) -> StoreResult<TxnPage> {
        let c = self.client().await?;
        let owned: bool = c
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM bank_accounts WHERE id = $1 AND user_id = $2 AND active = 1)",
                &[&account_id, &user_id],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if !owned {
            return Err(StoreError::NotFound);
        }
        let per_page = filter.per_page.clamp(1, 500);
        let page = filter.page.max(1);
        let from = filter.from.map(date_key);
        let to = filter.to.map(date_key);
        let total: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM bank_transactions t WHERE t.account_id = $1 \
                 AND ($2::TEXT IS NULL OR t.tran_date >= $2) AND ($3::TEXT IS NULL OR t.tran_date <= $3) \
                 AND ($4::TEXT IS NULL OR t.category = $4)",
                &[&account_id, &from, &to, &filter.category],
            )
            .await
            .map_err(map_err)?
            .get(0);
        let rows = c
            .query(
                &format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t WHERE t.account_id = $1 \
                     AND ($2::TEXT IS NULL OR t.tran_date >= $2) AND ($3::TEXT IS NULL OR t.tran_date <= $3) \
                     AND ($4::TEXT IS NULL OR t.category = $4) \
                     ORDER BY t.tran_date DESC, t.tran_time DESC, t.id DESC LIMIT $5 OFFSET $6"
                ),
                &[&account_id, &from, &to, &filter.category, &i64::from(per_page), &(i64::from(page - 1) * i64::from(per_page))],
            )
            .await
            .map_err(map_err)?;
        Ok(TxnPage {
            items: rows.iter().map(txn_from_row).collect(),
            total: total as u64,
            page,
            per_page,
        })
    }

    async fn bank_transaction(&self, user_id: UserId, txn_id: i64) -> StoreResult<BankTxn> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE t.id = $1 AND a.user_id = $2 AND a.active = 1"
                ),
                &[&txn_id, &user_id],
            )
            .await
            .map_err(map_err)?;
        row.as_ref().map(txn_from_row).ok_or(StoreError::NotFound)
    }

    async fn all_bank_transactions(
        &self,
        user_id: UserId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<BankTxn>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE a.user_id = $1 AND a.active = 1 AND ($2::TEXT IS NULL OR t.tran_date >= $2) \
                     AND ($3::TEXT IS NULL OR t.tran_date <= $3) ORDER BY t.tran_date, t.tran_time, t.id"
                ),
                &[&user_id, &from.map(date_key), &to.map(date_key)],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(txn_from_row).collect())
    }

    async fn bank_transactions_touched(
        &self,
        user_id: UserId,
        patterns: Vec<String>,
        rule_ids: Vec<i64>,
    ) -> StoreResult<Vec<BankTxn>> {
        let c = self.client().await?;
        let patterns: Vec<String> = patterns.into_iter().filter(|p| !p.is_empty()).collect();
        let rows = c
            .query(
                &format!(
                    "SELECT {TXN_COLUMNS} FROM bank_transactions t JOIN bank_accounts a ON a.id = t.account_id \
                     WHERE a.user_id = $1 AND (t.rule_id = ANY($2) OR EXISTS \
                     (SELECT 1 FROM UNNEST($3::TEXT[]) AS p(x) WHERE strpos(t.memo_norm, p.x) > 0))"
                ),
                &[&user_id, &rule_ids, &patterns],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(txn_from_row).collect())
    }

    async fn apply_category_changes(
        &self,
        user_id: UserId,
        changes: Vec<CategoryChange>,
    ) -> StoreResult<u64> {
        let c = self.client().await?;
        let ids: Vec<i64> = changes.iter().map(|c| c.txn_id).collect();
        let cats: Vec<&str> = changes.iter().map(|c| c.category.as_str()).collect();
        let sources: Vec<&str> = changes.iter().map(|c| c.source.as_str()).collect();
        let rules: Vec<Option<i64>> = changes.iter().map(|c| c.rule_id).collect();
        let n = c
            .execute(
                "UPDATE bank_transactions t SET category = u.c, category_source = u.s, rule_id = u.r \
                 FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[], $4::BIGINT[]) AS u(id, c, s, r) \
                 WHERE t.id = u.id AND t.manual = 0 AND t.account_id IN \
                 (SELECT id FROM bank_accounts WHERE user_id = $5)",
                &[&ids, &cats, &sources, &rules, &user_id],
            )
            .await
            .map_err(map_err)?;
        Ok(n)
    }

    async fn set_manual_category(
        &self,
        user_id: UserId,
        txn_id: i64,
        category: &str,
    ) -> StoreResult<BankTxn> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE bank_transactions SET category = $1, category_source = 'manual', rule_id = NULL, manual = 1 \
                 WHERE id = $2 AND account_id IN (SELECT id FROM bank_accounts WHERE user_id = $3 AND active = 1)",
                &[&category, &txn_id, &user_id],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let row = c
            .query_one(
                &format!("SELECT {TXN_COLUMNS} FROM bank_transactions t WHERE t.id = $1"),
                &[&txn_id],
            )
            .await
            .map_err(map_err)?;
        Ok(txn_from_row(&row))
    }

    async fn rules(&self, user_id: UserId) -> StoreResult<Vec<RuleRow>> {
        let c = self.client().await?;
        rules_of(&c, user_id).await
    }

    async fn upsert_rule(
        &self,
        user_id: UserId,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // Serialise rule edits of one login (positions are renumbered).
        tx.execute(
            "SELECT pg_advisory_xact_lock(42, $1::INT)",
            &[&(user_id as i32)],
        )
        .await
        .map_err(map_err)?;
        let now = Utc::now().timestamp_millis();
        let existing = tx
            .query_opt(
                "SELECT id FROM category_rules WHERE user_id = $1 AND kind = $2 AND pattern = $3",
                &[&user_id, &kind, &pattern],
            )
            .await
            .map_err(map_err)?;
        let id: i64 = match existing {
            Some(r) => {
                let id: i64 = r.get(0);
                tx.execute(
                    "UPDATE category_rules SET category = $1, updated_at = $2 WHERE id = $3",
                    &[&category, &now, &id],
                )
                .await
                .map_err(map_err)?;
                // A re-filing wins: the rule moves to the front.
                let mut ids: Vec<i64> = rules_of(&tx, user_id)
                    .await?
                    .iter()
                    .map(|r| r.id)
                    .filter(|r| *r != id)
                    .collect();
                ids.insert(0, id);
                renumber(&tx, user_id, &ids).await?;
                id
            }
            None => {
                tx.execute(
                    "UPDATE category_rules SET position = position + 1 WHERE user_id = $1",
                    &[&user_id],
                )
                .await
                .map_err(map_err)?;
                tx.query_one(
                    "INSERT INTO category_rules (user_id, kind, pattern, category, position, updated_at) \
                     VALUES ($1, $2, $3, $4, 0, $5) RETURNING id",
                    &[&user_id, &kind, &pattern, &category, &now],
                )
                .await
                .map_err(map_err)?
                .get(0)
            }
        };
        let rule = rule_by_id(&tx, user_id, id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rule)
    }

    async fn update_rule(
        &self,
        user_id: UserId,
        id: i64,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE category_rules SET kind = $1, pattern = $2, category = $3, updated_at = $4 \
                 WHERE id = $5 AND user_id = $6",
                &[
                    &kind,
                    &pattern,
                    &category,
                    &Utc::now().timestamp_millis(),
                    &id,
                    &user_id,
                ],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        rule_by_id(&c, user_id, id).await
    }

    async fn delete_rule(&self, user_id: UserId, id: i64) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "DELETE FROM category_rules WHERE id = $1 AND user_id = $2",
                &[&id, &user_id],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        let ids: Vec<i64> = rules_of(&tx, user_id).await?.iter().map(|r| r.id).collect();
        renumber(&tx, user_id, &ids).await?;
        tx.commit().await.map_err(map_err)
    }

    async fn reorder_rules(&self, user_id: UserId, ids: Vec<i64>) -> StoreResult<Vec<RuleRow>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let mut current: Vec<i64> = rules_of(&tx, user_id).await?.iter().map(|r| r.id).collect();
        let mut wanted = ids.clone();
        current.sort_unstable();
        wanted.sort_unstable();
        if current != wanted {
            return Err(StoreError::Rejected(
                "ids must list each of your rules exactly once".into(),
            ));
        }
        renumber(&tx, user_id, &ids).await?;
        let rules = rules_of(&tx, user_id).await?;
        tx.commit().await.map_err(map_err)?;
        Ok(rules)
    }

    async fn insight_overrides(&self, user_id: UserId) -> StoreResult<Vec<InsightOverride>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT kind, subject, data FROM insight_overrides WHERE user_id = $1 \
                 ORDER BY kind, subject",
                &[&user_id],
            )
            .await
            .map_err(map_err)?;
        Ok(rows
            .iter()
            .map(|r| InsightOverride {
                kind: r.get(0),
                subject: r.get(1),
                data: r.get(2),
            })
            .collect())
    }

    async fn put_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
        data: &str,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO insight_overrides (user_id, kind, subject, data) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, kind, subject) DO UPDATE SET data = EXCLUDED.data",
            &[&user_id, &kind, &subject, &data],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn delete_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
    ) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "DELETE FROM insight_overrides WHERE user_id = $1 AND kind = $2 AND subject = $3",
                &[&user_id, &kind, &subject],
            )
            .await
            .map_err(map_err)?;
        Ok(n > 0)
    }

    async fn set_memo_norms(
        &self,
        user_id: UserId,
        changes: Vec<(i64, String)>,
    ) -> StoreResult<u64> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let st = tx
            .prepare(
                "UPDATE bank_transactions SET memo_norm = $1 \
                 WHERE id = $2 AND memo_norm <> $1 AND account_id IN \
                 (SELECT id FROM bank_accounts WHERE user_id = $3)",
            )
            .await
            .map_err(map_err)?;
        let mut n = 0u64;
        for (id, norm) in &changes {
            n += tx
                .execute(&st, &[norm, id, &user_id])
                .await
                .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(n)
    }

    async fn pending_task(&self, name: &str) -> StoreResult<bool> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM pending_tasks WHERE name = $1)",
                &[&name],
            )
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    async fn finish_pending_task(&self, name: &str) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM pending_tasks WHERE name = $1", &[&name])
            .await
            .map_err(map_err)?;
        Ok(())
    }

    async fn next_tran_id_sequence(&self, day: NaiveDate) -> StoreResult<u64> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(
                "INSERT INTO tran_id_counters (day, next) VALUES ($1, 1) \
                 ON CONFLICT (day) DO UPDATE SET next = tran_id_counters.next + 1 RETURNING next",
                &[&date_key(day)],
            )
            .await
            .map_err(map_err)?
            .get(0);
        Ok(n as u64)
    }
}
