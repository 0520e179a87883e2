use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use deadpool_postgres::GenericClient;
use ginkgo_store::{
    AuthStore, CUSTOMER_HAS_LOGIN, Credentials, Customer, CustomerId, EMAIL_TAKEN, JobStore,
    NewUser, Role, StoreError, StoreResult, User, UserId,
};
use tokio_postgres::Row;

use crate::{PostgresStore, map_err};

pub(crate) fn ts(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

const USER_COLUMNS: &str = "u.id, u.email, u.role, u.customer_id, c.name, u.created_at";

fn user_from_row(r: &Row) -> User {
    let role: String = r.get(2);
    User {
        id: r.get(0),
        email: r.get(1),
        role: Role::parse(&role).unwrap_or(Role::Customer),
        customer_id: r.get(3),
        customer_name: r.get(4),
        created_at: ts(r.get(5)),
    }
}

async fn load_user(c: &impl GenericClient, id: UserId) -> StoreResult<Option<User>> {
    let row = c
        .query_opt(
            &format!(
                "SELECT {USER_COLUMNS} FROM users u LEFT JOIN customers c ON c.id = u.customer_id \
                 WHERE u.id = $1"
            ),
            &[&id],
        )
        .await
        .map_err(map_err)?;
    Ok(row.as_ref().map(user_from_row))
}

async fn link(c: &impl GenericClient, user_id: UserId, customer_id: CustomerId) -> StoreResult<()> {
    let current = c
        .query_opt(
            "SELECT customer_id FROM users WHERE id = $1 FOR UPDATE",
            &[&user_id],
        )
        .await
        .map_err(map_err)?;
    match current.map(|r| r.get::<_, Option<i64>>(0)) {
        None => return Err(StoreError::NotFound),
        Some(Some(existing)) if existing == customer_id => return Ok(()),
        Some(Some(_)) => {
            return Err(StoreError::Conflict(
                "this login is already linked to a customer".into(),
            ));
        }
        Some(None) => {}
    }
    c.execute(
        "UPDATE users SET customer_id = $1 WHERE id = $2",
        &[&customer_id, &user_id],
    )
    .await
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict(CUSTOMER_HAS_LOGIN.into()),
        other => other,
    })?;
    Ok(())
}

#[async_trait]
impl AuthStore for PostgresStore {
    async fn create_customer(&self, name: &str) -> StoreResult<Customer> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "INSERT INTO customers (name, created_at) VALUES ($1, $2) RETURNING id",
                &[&name, &Utc::now().timestamp_millis()],
            )
            .await
            .map_err(map_err)?;
        Ok(Customer {
            id: row.get(0),
            name: name.to_string(),
        })
    }

    async fn customer_by_name(&self, name: &str) -> StoreResult<Option<Customer>> {
        let c = self.client().await?;
        let row = c
            .query_opt("SELECT id, name FROM customers WHERE name = $1", &[&name])
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| Customer {
            id: r.get(0),
            name: r.get(1),
        }))
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        let c = self.client().await?;
        let id = insert_user(&c, &new).await?;
        load_user(&c, id).await?.ok_or(StoreError::NotFound)
    }

    async fn create_user_claiming(
        &self,
        new: NewUser,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let customer = claimable_customer(&tx, customer_name, account_number).await?;
        // users.customer_id is unique: a concurrent claim of the same customer fails there.
        let id = insert_user(
            &tx,
            &NewUser {
                customer_id: Some(customer),
                ..new
            },
        )
        .await?;
        let user = load_user(&tx, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(map_err)?;
        Ok(user)
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        let c = self.client().await?;
        load_user(&c, id).await
    }

    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                &format!(
                    "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                     LEFT JOIN customers c ON c.id = u.customer_id WHERE u.email = $1"
                ),
                &[&email],
            )
            .await
            .map_err(map_err)?;
        Ok(row.map(|r| Credentials {
            user: user_from_row(&r),
            password_hash: r.get(6),
        }))
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users u LEFT JOIN customers c \
                     ON c.id = u.customer_id ORDER BY u.id"
                ),
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    async fn set_password_hash(&self, user_id: UserId, hash: &str) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let n = tx
            .execute(
                "UPDATE users SET password_hash = $1 WHERE id = $2",
                &[&hash, &user_id],
            )
            .await
            .map_err(map_err)?;
        if n == 0 {
            return Err(StoreError::NotFound);
        }
        // A new password ends every session the old one opened.
        tx.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
            &[&user_id, &Utc::now().timestamp_millis()],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)
    }

    async fn claim_customer(
        &self,
        user_id: UserId,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let customer = claimable_customer(&tx, customer_name, account_number).await?;
        link(&tx, user_id, customer).await?;
        let user = load_user(&tx, user_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(map_err)?;
        Ok(user)
    }

    async fn link_customer(&self, user_id: UserId, customer_id: i64) -> StoreResult<User> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM customers WHERE id = $1)",
                &[&customer_id],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if !exists {
            return Err(StoreError::NotFound);
        }
        link(&tx, user_id, customer_id).await?;
        let user = load_user(&tx, user_id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await.map_err(map_err)?;
        Ok(user)
    }

    async fn insert_refresh_token(
        &self,
        user_id: UserId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &token_hash,
                &user_id,
                &expires_at.timestamp_millis(),
                &Utc::now().timestamp_millis(),
            ],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let now_ms = now.timestamp_millis();
        let user = tx
            .query_opt(
                "UPDATE refresh_tokens SET revoked_at = $2 \
                 WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2 \
                 RETURNING user_id",
                &[&old_hash, &now_ms],
            )
            .await
            .map_err(map_err)?;
        let Some(user) = user.map(|r| r.get::<_, i64>(0)) else {
            return Ok(None);
        };
        tx.execute(
            "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) \
             VALUES ($1, $2, $3, $4)",
            &[
                &new_hash,
                &user,
                &new_expires_at.timestamp_millis(),
                &now_ms,
            ],
        )
        .await
        .map_err(map_err)?;
        tx.commit().await.map_err(map_err)?;
        Ok(Some(user))
    }

    async fn revoke_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            &[&token_hash, &now.timestamp_millis()],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }

    async fn count_login_failures(&self, subject: &str, since: DateTime<Utc>) -> StoreResult<u32> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one(
                "SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at >= $2",
                &[&subject, &since.timestamp_millis()],
            )
            .await
            .map_err(map_err)?
            .get(0);
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn record_login_failure(
        &self,
        subjects: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        let at_ms = at.timestamp_millis();
        tx.execute(
            "DELETE FROM login_failures WHERE at < $1",
            &[&(at_ms - 86_400_000)],
        )
        .await
        .map_err(map_err)?;
        for s in subjects {
            tx.execute(
                "INSERT INTO login_failures (subject, at) VALUES ($1, $2)",
                &[s, &at_ms],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }

    async fn reserve_login_attempt(
        &self,
        subjects: &[(String, u32)],
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        // One transaction-scoped advisory lock per subject, taken in a fixed order (no
        // deadlock between two attempts naming the same subjects), serialises the count and
        // the provisional failure across every replica.
        let mut names: Vec<&str> = subjects.iter().map(|(s, _)| s.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in &names {
            tx.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 7310))",
                &[name],
            )
            .await
            .map_err(map_err)?;
        }
        for (subject, limit) in subjects {
            let n: i64 = tx
                .query_one(
                    "SELECT COUNT(*) FROM login_failures WHERE subject = $1 AND at >= $2",
                    &[subject, &since.timestamp_millis()],
                )
                .await
                .map_err(map_err)?
                .get(0);
            if n >= i64::from(*limit) {
                return Ok(false);
            }
        }
        let at_ms = at.timestamp_millis();
        tx.execute(
            "DELETE FROM login_failures WHERE at < $1",
            &[&(at_ms - 86_400_000)],
        )
        .await
        .map_err(map_err)?;
        for (subject, _) in subjects {
            tx.execute(
                "INSERT INTO login_failures (subject, at) VALUES ($1, $2)",
                &[subject, &at_ms],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
        Ok(true)
    }

    async fn forgive_login_attempt(
        &self,
        subjects: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(map_err)?;
        for subject in subjects {
            tx.execute(
                "DELETE FROM login_failures WHERE ctid IN \
                 (SELECT ctid FROM login_failures WHERE subject = $1 AND at = $2 LIMIT 1)",
                &[subject, &at.timestamp_millis()],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)
    }
}

async fn insert_user(c: &impl GenericClient, new: &NewUser) -> StoreResult<UserId> {
    let row = c
        .query_one(
            "INSERT INTO users (email, password_hash, role, customer_id, created_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            &[
                &new.email,
                &new.password_hash,
                &new.role.as_str(),
                &new.customer_id,
                &Utc::now().timestamp_millis(),
            ],
        )
        .await
        .map_err(|e| match map_err(e) {
            StoreError::Conflict(m) if m.contains("email") => {
                StoreError::Conflict(EMAIL_TAKEN.into())
            }
            StoreError::Conflict(_) => StoreError::Conflict(CUSTOMER_HAS_LOGIN.into()),
            other => other,
        })?;
    Ok(row.get(0))
}

/// The customer called `name` who holds the account `number`, if any.
async fn claimable_customer(
    c: &impl GenericClient,
    name: &str,
    number: &str,
) -> StoreResult<CustomerId> {
    Ok(c.query_opt(
        "SELECT c.id FROM customers c JOIN accounts a ON a.customer_id = c.id \
         WHERE c.name = $1 AND a.account_number = $2",
        &[&name, &number],
    )
    .await
    .map_err(map_err)?
    .ok_or(StoreError::NotFound)?
    .get(0))
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                 expires_at = excluded.expires_at \
                 WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= $4",
                &[
                    &name,
                    &holder,
                    &until.timestamp_millis(),
                    &now.timestamp_millis(),
                ],
            )
            .await
            .map_err(map_err)?;
        Ok(n == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute(
            "DELETE FROM job_leases WHERE name = $1 AND holder = $2",
            &[&name, &holder],
        )
        .await
        .map_err(map_err)?;
        Ok(())
    }
}
