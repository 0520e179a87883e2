-- What the customer told Ginkgo about their insight figures, kept across syncs:
-- kind 'unpair' (subject: a bank transaction id the customer un-paired from an own transfer),
-- 'series_dismiss' (subject: direction ':' recurring key), 'series_add' (same subject, data:
-- the period code the customer gave) and 'own_name' (subject: the account holder's name the
-- bank gave when linking, for recognising transfers between the customer's own accounts).
CREATE TABLE insight_overrides (
    user_id  BIGINT NOT NULL REFERENCES users(id),
    kind     TEXT NOT NULL CHECK (kind IN ('unpair', 'series_dismiss', 'series_add', 'own_name')),
    subject  TEXT NOT NULL,
    data     TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, kind, subject)
);

-- One-off work a migration asks the application to do (it needs Rust code): the server runs
-- each at start-up and removes the row when done. 'nfkc_refile': memos are now matched in
-- Unicode NFKC; recompute every stored memo_norm and re-file the rows whose category changes.
CREATE TABLE pending_tasks (
    name  TEXT PRIMARY KEY
);
INSERT INTO pending_tasks (name) VALUES ('nfkc_refile');
