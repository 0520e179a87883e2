-- A sync is recorded when it starts (`running`, no finish time yet) and finished in place, so
-- that a sync that outlives its HTTP request can be polled and a killed one is visible.
CREATE TABLE bank_syncs_new (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    status       TEXT NOT NULL,
    accounts     INTEGER NOT NULL,
    added        INTEGER NOT NULL,
    error        TEXT
);
INSERT INTO bank_syncs_new (id, user_id, started_at, finished_at, status, accounts, added, error)
    SELECT id, user_id, started_at, finished_at, status, accounts, added, error FROM bank_syncs;
DROP TABLE bank_syncs;
ALTER TABLE bank_syncs_new RENAME TO bank_syncs;
CREATE INDEX bank_syncs_user ON bank_syncs(user_id, id);
