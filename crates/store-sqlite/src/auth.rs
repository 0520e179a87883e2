use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use ginkgo_store::{
    AuthStore, CUSTOMER_HAS_LOGIN, Credentials, Customer, CustomerId, EMAIL_TAKEN, JobStore,
    NewUser, Role, StoreError, StoreResult, User, UserId,
};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::SqliteStore;
use crate::conn::map_err;

pub(crate) fn ts(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

const USER_COLUMNS: &str = "u.id, u.email, u.role, u.customer_id, c.name, u.created_at";

fn user_from_row(r: &Row<'_>) -> rusqlite::Result<User> {
    let role: String = r.get(2)?;
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        role: Role::parse(&role).unwrap_or(Role::Customer),
        customer_id: r.get(3)?,
        customer_name: r.get(4)?,
        created_at: ts(r.get(5)?),
    })
}

fn load_user(c: &Connection, id: UserId) -> rusqlite::Result<Option<User>> {
    c.query_row(
        &format!(
            "SELECT {USER_COLUMNS} FROM users u LEFT JOIN customers c ON c.id = u.customer_id \
             WHERE u.id = ?1"
        ),
        [id],
        user_from_row,
    )
    .optional()
}

#[async_trait]
impl AuthStore for SqliteStore {
    async fn create_customer(&self, name: &str) -> StoreResult<Customer> {
        let name = name.to_string();
        self.pools
            .write(move |c| {
                let id = c
                    .query_row(
                        "INSERT INTO customers (name, created_at) VALUES (?1, ?2) RETURNING id",
                        params![name, Utc::now().timestamp_millis()],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                Ok(Customer { id, name })
            })
            .await
    }

    async fn customer_by_name(&self, name: &str) -> StoreResult<Option<Customer>> {
        let name = name.to_string();
        self.pools
            .read(move |c| {
                c.query_row(
                    "SELECT id, name FROM customers WHERE name = ?1",
                    [name],
                    |r| {
                        Ok(Customer {
                            id: r.get(0)?,
                            name: r.get(1)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    async fn create_user(&self, new: NewUser) -> StoreResult<User> {
        self.pools
            .write(move |c| {
                let id = insert_user(c, &new)?;
                load_user(c, id)
                    .map_err(map_err)?
                    .ok_or(StoreError::NotFound)
            })
            .await
    }

    async fn create_user_claiming(
        &self,
        new: NewUser,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User> {
        let (name, number) = (customer_name.to_string(), account_number.to_string());
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let customer = claimable_customer(&tx, &name, &number)?;
                let taken: bool = tx
                    .query_row(
                        "SELECT EXISTS(SELECT 1 FROM users WHERE customer_id = ?1)",
                        [customer],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                if taken {
                    return Err(StoreError::Conflict(CUSTOMER_HAS_LOGIN.into()));
                }
                let id = insert_user(
                    &tx,
                    &NewUser {
                        customer_id: Some(customer),
                        ..new
                    },
                )?;
                let user = load_user(&tx, id)
                    .map_err(map_err)?
                    .ok_or(StoreError::NotFound)?;
                tx.commit().map_err(map_err)?;
                Ok(user)
            })
            .await
    }

    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>> {
        self.pools.read(move |c| load_user(c, id)).await
    }

    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>> {
        let email = email.to_string();
        self.pools
            .read(move |c| {
                c.query_row(
                    &format!(
                        "SELECT {USER_COLUMNS}, u.password_hash FROM users u \
                         LEFT JOIN customers c ON c.id = u.customer_id WHERE u.email = ?1"
                    ),
                    [email],
                    |r| {
                        Ok(Credentials {
                            user: user_from_row(r)?,
                            password_hash: r.get(6)?,
                        })
                    },
                )
                .optional()
            })
            .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.pools
            .read(|c| {
                let mut st = c.prepare(&format!(
                    "SELECT {USER_COLUMNS} FROM users u LEFT JOIN customers c \
                     ON c.id = u.customer_id ORDER BY u.id"
                ))?;
                let rows = st.query_map([], user_from_row)?;
                rows.collect()
            })
            .await
    }

    async fn set_password_hash(&self, user_id: UserId, hash: &str) -> StoreResult<()> {
        let hash = hash.to_string();
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let n = tx
                    .execute(
                        "UPDATE users SET password_hash = ?1 WHERE id = ?2",
                        params![hash, user_id],
                    )
                    .map_err(map_err)?;
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                // A new password ends every session the old one opened.
                tx.execute(
                    "UPDATE refresh_tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
                    params![user_id, Utc::now().timestamp_millis()],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn claim_customer(
        &self,
        user_id: UserId,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User> {
        let (name, number) = (customer_name.to_string(), account_number.to_string());
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let customer = claimable_customer(&tx, &name, &number)?;
                link(&tx, user_id, customer)?;
                let user = load_user(&tx, user_id)
                    .map_err(map_err)?
                    .ok_or(StoreError::NotFound)?;
                tx.commit().map_err(map_err)?;
                Ok(user)
            })
            .await
    }

    async fn link_customer(&self, user_id: UserId, customer_id: i64) -> StoreResult<User> {
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let exists: bool = tx
                    .query_row(
                        "SELECT EXISTS(SELECT 1 FROM customers WHERE id = ?1)",
                        [customer_id],
                        |r| r.get(0),
                    )
                    .map_err(map_err)?;
                if !exists {
                    return Err(StoreError::NotFound);
                }
                link(&tx, user_id, customer_id)?;
                let user = load_user(&tx, user_id)
                    .map_err(map_err)?
                    .ok_or(StoreError::NotFound)?;
                tx.commit().map_err(map_err)?;
                Ok(user)
            })
            .await
    }

    async fn insert_refresh_token(
        &self,
        user_id: UserId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let hash = token_hash.to_vec();
        self.pools
            .write(move |c| {
                c.execute(
                    "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        hash,
                        user_id,
                        expires_at.timestamp_millis(),
                        Utc::now().timestamp_millis()
                    ],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>> {
        let (old, new) = (old_hash.to_vec(), new_hash.to_vec());
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                let user: Option<UserId> = tx
                    .query_row(
                        "UPDATE refresh_tokens SET revoked_at = ?2 \
                         WHERE token_hash = ?1 AND revoked_at IS NULL AND expires_at > ?2 \
                         RETURNING user_id",
                        params![old, now.timestamp_millis()],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(map_err)?;
                let Some(user) = user else {
                    return Ok(None);
                };
                tx.execute(
                    "INSERT INTO refresh_tokens (token_hash, user_id, expires_at, created_at) \
                     VALUES (?1, ?2, ?3, ?4)",
                    params![
                        new,
                        user,
                        new_expires_at.timestamp_millis(),
                        now.timestamp_millis()
                    ],
                )
                .map_err(map_err)?;
                tx.commit().map_err(map_err)?;
                Ok(Some(user))
            })
            .await
    }

    async fn revoke_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<()> {
        let hash = token_hash.to_vec();
        self.pools
            .write(move |c| {
                c.execute(
                    "UPDATE refresh_tokens SET revoked_at = ?2 \
                     WHERE token_hash = ?1 AND revoked_at IS NULL",
                    params![hash, now.timestamp_millis()],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }

    async fn count_login_failures(&self, subject: &str, since: DateTime<Utc>) -> StoreResult<u32> {
        let subject = subject.to_string();
        self.pools
            .read(move |c| {
                c.query_row(
                    "SELECT COUNT(*) FROM login_failures WHERE subject = ?1 AND at >= ?2",
                    params![subject, since.timestamp_millis()],
                    |r| r.get(0),
                )
            })
            .await
    }

    async fn record_login_failure(
        &self,
        subjects: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let subjects = subjects.to_vec();
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                // Failures older than a day no longer matter to any limit.
                tx.execute(
                    "DELETE FROM login_failures WHERE at < ?1",
                    [at.timestamp_millis() - 86_400_000],
                )
                .map_err(map_err)?;
                for s in &subjects {
                    tx.execute(
                        "INSERT INTO login_failures (subject, at) VALUES (?1, ?2)",
                        params![s, at.timestamp_millis()],
                    )
                    .map_err(map_err)?;
                }
                tx.commit().map_err(map_err)
            })
            .await
    }

    async fn reserve_login_attempt(
        &self,
        subjects: &[(String, u32)],
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let subjects = subjects.to_vec();
        self.pools
            .write(move |c| {
                // The transaction holds SQLite's one write lock from its start, so the counts
                // and the provisional failures are one atomic step against every other writer.
                let tx = c.transaction().map_err(map_err)?;
                for (subject, limit) in &subjects {
                    let n: u32 = tx
                        .query_row(
                            "SELECT COUNT(*) FROM login_failures WHERE subject = ?1 AND at >= ?2",
                            params![subject, since.timestamp_millis()],
                            |r| r.get(0),
                        )
                        .map_err(map_err)?;
                    if n >= *limit {
                        return Ok(false);
                    }
                }
                tx.execute(
                    "DELETE FROM login_failures WHERE at < ?1",
                    [at.timestamp_millis() - 86_400_000],
                )
                .map_err(map_err)?;
                for (subject, _) in &subjects {
                    tx.execute(
                        "INSERT INTO login_failures (subject, at) VALUES (?1, ?2)",
                        params![subject, at.timestamp_millis()],
                    )
                    .map_err(map_err)?;
                }
                tx.commit().map_err(map_err)?;
                Ok(true)
            })
            .await
    }

    async fn forgive_login_attempt(
        &self,
        subjects: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let subjects = subjects.to_vec();
        self.pools
            .write(move |c| {
                let tx = c.transaction().map_err(map_err)?;
                for subject in &subjects {
                    tx.execute(
                        "DELETE FROM login_failures WHERE rowid IN \
                         (SELECT rowid FROM login_failures WHERE subject = ?1 AND at = ?2 LIMIT 1)",
                        params![subject, at.timestamp_millis()],
                    )
                    .map_err(map_err)?;
                }
                tx.commit().map_err(map_err)
            })
            .await
    }
}

fn insert_user(c: &Connection, new: &NewUser) -> StoreResult<UserId> {
    c.query_row(
        "INSERT INTO users (email, password_hash, role, customer_id, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![
            new.email,
            new.password_hash,
            new.role.as_str(),
            new.customer_id,
            Utc::now().timestamp_millis()
        ],
        |r| r.get(0),
    )
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(m) if m.contains("users.email") => {
            StoreError::Conflict(EMAIL_TAKEN.into())
        }
        StoreError::Conflict(_) => StoreError::Conflict(CUSTOMER_HAS_LOGIN.into()),
        other => other,
    })
}

/// The customer called `name` who holds the account `number`, if any.
fn claimable_customer(c: &Connection, name: &str, number: &str) -> StoreResult<CustomerId> {
    c.query_row(
        "SELECT c.id FROM customers c JOIN accounts a ON a.customer_id = c.id \
         WHERE c.name = ?1 AND a.account_number = ?2",
        params![name, number],
        |r| r.get(0),
    )
    .optional()
    .map_err(map_err)?
    .ok_or(StoreError::NotFound)
}

fn link(c: &Connection, user_id: UserId, customer_id: CustomerId) -> StoreResult<()> {
    let current: Option<Option<CustomerId>> = c
        .query_row(
            "SELECT customer_id FROM users WHERE id = ?1",
            [user_id],
            |r| r.get(0),
        )
        .optional()
        .map_err(map_err)?;
    match current {
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
        "UPDATE users SET customer_id = ?1 WHERE id = ?2",
        params![customer_id, user_id],
    )
    .map_err(|e| match map_err(e) {
        StoreError::Conflict(_) => StoreError::Conflict(CUSTOMER_HAS_LOGIN.into()),
        other => other,
    })?;
    Ok(())
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.pools
            .write(move |c| {
                let n = c
                    .execute(
                        "INSERT INTO job_leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at \
                         WHERE job_leases.holder = excluded.holder OR job_leases.expires_at <= ?4",
                        params![
                            name,
                            holder,
                            until.timestamp_millis(),
                            now.timestamp_millis()
                        ],
                    )
                    .map_err(map_err)?;
                Ok(n == 1)
            })
            .await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        let (name, holder) = (name.to_string(), holder.to_string());
        self.pools
            .write(move |c| {
                c.execute(
                    "DELETE FROM job_leases WHERE name = ?1 AND holder = ?2",
                    params![name, holder],
                )
                .map_err(map_err)?;
                Ok(())
            })
            .await
    }
}
