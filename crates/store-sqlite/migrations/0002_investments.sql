CREATE TABLE brokers (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE asset_groups (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL UNIQUE
);

CREATE TABLE instruments (
    id              INTEGER PRIMARY KEY,
    isin            TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    asset_group_id  INTEGER NOT NULL REFERENCES asset_groups(id)
);

INSERT INTO asset_groups (name) VALUES ('채권 / 현금');
INSERT INTO instruments (isin, name, asset_group_id)
    SELECT 'CASH', '현금', id FROM asset_groups WHERE name = '채권 / 현금';

-- status: 'active' while the account is in the provider's latest snapshot, 'inactive' after it
-- disappears from one (holdings cleared, history kept).
CREATE TABLE accounts (
    id              INTEGER PRIMARY KEY,
    account_number  TEXT NOT NULL UNIQUE,
    customer_id     INTEGER NOT NULL REFERENCES customers(id),
    broker_id       INTEGER NOT NULL REFERENCES brokers(id),
    name            TEXT NOT NULL,
    principal       INTEGER NOT NULL DEFAULT 0,
    total_assets    INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'active',
    as_of           TEXT
);
CREATE INDEX accounts_customer ON accounts(customer_id);

-- The current day's holdings. Replaced as a whole by each snapshot load (built as
-- holdings_next, then swapped in inside the load's transaction).
CREATE TABLE holdings (
    account_id     INTEGER NOT NULL,
    instrument_id  INTEGER NOT NULL,
    quantity       INTEGER NOT NULL,
    price          INTEGER NOT NULL
);
CREATE INDEX holdings_account ON holdings(account_id);

CREATE TABLE account_history (
    account_id    INTEGER NOT NULL,
    date          TEXT NOT NULL,
    total_assets  INTEGER NOT NULL,
    principal     INTEGER NOT NULL,
    PRIMARY KEY (account_id, date)
) WITHOUT ROWID;

CREATE TABLE batch_runs (
    id              INTEGER PRIMARY KEY,
    business_date   TEXT NOT NULL,
    status          TEXT NOT NULL,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    files           TEXT NOT NULL,
    rows_read       INTEGER NOT NULL,
    rows_loaded     INTEGER NOT NULL,
    rows_rejected   INTEGER NOT NULL,
    warnings        INTEGER NOT NULL,
    accounts_loaded INTEGER NOT NULL,
    accounts_deactivated INTEGER NOT NULL,
    error           TEXT
);

CREATE TABLE batch_findings (
    run_id   INTEGER NOT NULL REFERENCES batch_runs(id),
    seq      INTEGER NOT NULL,
    kind     TEXT NOT NULL CHECK (kind IN ('reject', 'warning')),
    file     TEXT NOT NULL,
    line     INTEGER,
    col      TEXT,
    value    TEXT,
    message  TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE deposits (
    id            INTEGER PRIMARY KEY,
    identifier    TEXT NOT NULL UNIQUE,
    user_id       INTEGER NOT NULL REFERENCES users(id),
    account_id    INTEGER NOT NULL REFERENCES accounts(id),
    user_name     TEXT NOT NULL,
    amount        INTEGER NOT NULL CHECK (amount > 0),
    status        TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'confirmed')),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    confirmed_at  INTEGER,
    confirmed_date TEXT
);
CREATE INDEX deposits_account ON deposits(account_id);
CREATE INDEX deposits_confirmed_date ON deposits(confirmed_date) WHERE status = 'confirmed';

-- Every phase-1 and phase-2 attempt, whatever its outcome.
CREATE TABLE deposit_attempts (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    phase       INTEGER NOT NULL,
    identifier  TEXT,
    outcome     TEXT NOT NULL,
    at          INTEGER NOT NULL
);
