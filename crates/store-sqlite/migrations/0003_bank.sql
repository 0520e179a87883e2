-- OAuth `state` values: single use, short-lived, bound to the login that started linking.
CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);

-- One Open Banking link per login; tokens encrypted at rest (AES-256-GCM, nonce || ciphertext).
CREATE TABLE bank_links (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL UNIQUE REFERENCES users(id),
    user_seq_no        TEXT NOT NULL,
    access_token_enc   BLOB NOT NULL,
    refresh_token_enc  BLOB,
    scope              TEXT NOT NULL,
    access_expires_at  INTEGER NOT NULL,
    status             TEXT NOT NULL DEFAULT 'active',
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
);

CREATE TABLE bank_accounts (
    id                  INTEGER PRIMARY KEY,
    user_id             INTEGER NOT NULL REFERENCES users(id),
    fintech_use_num     TEXT NOT NULL,
    bank_name           TEXT NOT NULL,
    bank_code           TEXT NOT NULL,
    account_alias       TEXT NOT NULL,
    account_num_masked  TEXT NOT NULL,
    balance             INTEGER,
    available           INTEGER,
    product_name        TEXT NOT NULL DEFAULT '',
    last_synced_at      INTEGER,
    synced_through      TEXT,
    sync_status         TEXT NOT NULL DEFAULT 'never',
    active              INTEGER NOT NULL DEFAULT 1,
    UNIQUE (user_id, fintech_use_num)
);

-- The API has no transaction id: a row's identity is every field it returns plus its ordinal
-- among identical rows of the same day (see ginkgo-openbanking's crate docs).
CREATE TABLE bank_transactions (
    id               INTEGER PRIMARY KEY,
    account_id       INTEGER NOT NULL REFERENCES bank_accounts(id),
    tran_date        TEXT NOT NULL,
    tran_time        TEXT NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    tran_type        TEXT NOT NULL,
    memo             TEXT NOT NULL,
    memo_norm        TEXT NOT NULL,
    amount           INTEGER NOT NULL,
    balance_after    INTEGER NOT NULL,
    branch_name      TEXT NOT NULL,
    ordinal          INTEGER NOT NULL,
    category         TEXT NOT NULL,
    category_source  TEXT NOT NULL,
    rule_id          INTEGER,
    manual           INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account_id, tran_date, tran_time, direction, amount, balance_after, memo, tran_type, ordinal)
);
CREATE INDEX bank_transactions_date ON bank_transactions(account_id, tran_date);

CREATE TABLE bank_syncs (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER NOT NULL,
    status       TEXT NOT NULL,
    accounts     INTEGER NOT NULL,
    added        INTEGER NOT NULL,
    error        TEXT
);
CREATE INDEX bank_syncs_user ON bank_syncs(user_id, id);

-- bank_tran_id allocation: one counter per KST day, shared by every replica.
CREATE TABLE tran_id_counters (
    day   TEXT PRIMARY KEY,
    next  INTEGER NOT NULL
);

CREATE TABLE category_rules (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users(id),
    kind      TEXT NOT NULL CHECK (kind IN ('contains', 'equals')),
    pattern   TEXT NOT NULL,
    category  TEXT NOT NULL,
    position  INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX category_rules_user ON category_rules(user_id, position);
