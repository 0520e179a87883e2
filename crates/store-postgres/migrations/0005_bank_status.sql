-- What a link's status page needs to never lie, and what a sync of the real testbed's canned
-- answers leaves behind.

-- A row dated outside the period its sync asked for (the testbed echoes canned rows whatever
-- the period): stored, but flagged.
ALTER TABLE bank_transactions ADD COLUMN out_of_period BIGINT NOT NULL DEFAULT 0;

-- The last sync attempt of an account (last_synced_at is the last success), its warning, and
-- the dates of its last balance answer (NULL when the bank gave none, e.g. "00000000").
ALTER TABLE bank_accounts ADD COLUMN sync_attempted_at BIGINT;
ALTER TABLE bank_accounts ADD COLUMN sync_warning TEXT;
ALTER TABLE bank_accounts ADD COLUMN account_issue_date TEXT;
ALTER TABLE bank_accounts ADD COLUMN maturity_date TEXT;
ALTER TABLE bank_accounts ADD COLUMN last_tran_date TEXT;
-- 1 when the customer unlinked this account alone: hidden and not synced until a new link.
ALTER TABLE bank_accounts ADD COLUMN unlinked BIGINT NOT NULL DEFAULT 0;

-- Warning codes of a sync, comma-separated (NULL: none).
ALTER TABLE bank_syncs ADD COLUMN warnings TEXT;
