-- OAuth `state` values: single use, short-lived, bound to the login that started linking.
CREATE TABLE oauth_states (
    state       TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id),
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);

-- One Open Banking link per login; tokens encrypted at rest (AES-256-GCM, nonce || ciphertext).
CREATE TABLE bank_links (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT NOT NULL UNIQUE REFERENCES users(id),
    user_seq_no        TEXT NOT NULL,
    access_token_enc   BYTEA NOT NULL,
    refresh_token_enc  BYTEA,
    scope              TEXT NOT NULL,
    access_expires_at  BIGINT NOT NULL,
    status             TEXT NOT NULL DEFAULT 'active',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL
);

CREATE TABLE bank_accounts (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id             BIGINT NOT NULL REFERENCES users(id),
    fintech_use_num     TEXT NOT NULL,
    bank_name           TEXT NOT NULL,
    bank_code           TEXT NOT NULL,
    account_alias       TEXT NOT NULL,
    account_num_masked  TEXT NOT NULL,
    balance             BIGINT,
    available           BIGINT,
    product_name        TEXT NOT NULL DEFAULT '',
    last_synced_at      BIGINT,
    synced_through      TEXT,
    sync_status         TEXT NOT NULL DEFAULT 'never',
    active              BIGINT NOT NULL DEFAULT 1,
    UNIQUE (user_id, fintech_use_num)
);

-- The API has no transaction id: a row's identity is every field it returns plus its ordinal
-- among identical rows of the same day (see ginkgo-openbanking's crate docs).
CREATE TABLE bank_transactions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       BIGINT NOT NULL REFERENCES bank_accounts(id),
    tran_date        TEXT NOT NULL,
    tran_time        TEXT NOT NULL,
    direction        TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    tran_type        TEXT NOT NULL,
    memo             TEXT NOT NULL,
    memo_norm        TEXT NOT NULL,
    amount           BIGINT NOT NULL,
    balance_after    BIGINT NOT NULL,
    branch_name      TEXT NOT NULL,
    ordinal          BIGINT NOT NULL,
    category         TEXT NOT NULL,
    category_source  TEXT NOT NULL,
    rule_id          BIGINT,
    manual           BIGINT NOT NULL DEFAULT 0,
    UNIQUE (account_id, tran_date, tran_time, direction, amount, balance_after, memo, tran_type, ordinal)
);
CREATE INDEX bank_transactions_date ON bank_transactions(account_id, tran_date);

CREATE TABLE bank_syncs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    finished_at  BIGINT NOT NULL,
    status       TEXT NOT NULL,
    accounts     BIGINT NOT NULL,
    added        BIGINT NOT NULL,
    error        TEXT
);
CREATE INDEX bank_syncs_user ON bank_syncs(user_id, id);

-- bank_tran_id allocation: one counter per KST day, shared by every replica.
CREATE TABLE tran_id_counters (
    day   TEXT PRIMARY KEY,
    next  BIGINT NOT NULL
);

CREATE TABLE category_rules (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users(id),
    kind      TEXT NOT NULL CHECK (kind IN ('contains', 'equals')),
    pattern   TEXT NOT NULL,
    category  TEXT NOT NULL,
    position  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX category_rules_user ON category_rules(user_id, position);
