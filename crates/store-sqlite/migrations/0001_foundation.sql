-- Customers exist independently of logins: the daily snapshot creates them by name.
CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
);

CREATE TABLE users (
    id             INTEGER PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('customer', 'operator')),
    customer_id    INTEGER UNIQUE REFERENCES customers(id),
    created_at     INTEGER NOT NULL
);

CREATE TABLE refresh_tokens (
    token_hash  BLOB PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    created_at  INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);

CREATE TABLE login_failures (
    subject  TEXT NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_subject_at ON login_failures(subject, at);

CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  INTEGER NOT NULL
);
