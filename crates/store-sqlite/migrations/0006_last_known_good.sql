-- Provider deliveries that go wrong (issue 14).
--
-- Last known good: when today's row for a holding or a principal is rejected, the account keeps
-- the earlier value, marked with the date it is from; the account and its history carry how many
-- of the day's rows were rejected and the oldest date of a value standing in for one.
ALTER TABLE accounts ADD COLUMN principal_unknown INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN principal_since TEXT;
ALTER TABLE accounts ADD COLUMN partial_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN partial_since TEXT;
-- The load that last delivered the account (a same-date replacement deactivates the others).
ALTER TABLE accounts ADD COLUMN load_seq INTEGER;
CREATE INDEX accounts_partial ON accounts(id) WHERE partial_rows <> 0;
ALTER TABLE holdings ADD COLUMN stale_since TEXT;
ALTER TABLE account_history ADD COLUMN principal_unknown INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_history ADD COLUMN partial_rows INTEGER NOT NULL DEFAULT 0;
ALTER TABLE account_history ADD COLUMN partial_since TEXT;

-- Good rows per file, held runs (with the previous run's counts) and their release, the source
-- folder, and what a same-date replacement changed.
ALTER TABLE batch_runs ADD COLUMN instruments_loaded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batch_runs ADD COLUMN holdings_loaded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batch_runs ADD COLUMN principals_loaded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE batch_runs ADD COLUMN prev_accounts INTEGER;
ALTER TABLE batch_runs ADD COLUMN prev_holdings INTEGER;
ALTER TABLE batch_runs ADD COLUMN prev_instruments INTEGER;
ALTER TABLE batch_runs ADD COLUMN prev_principals INTEGER;
ALTER TABLE batch_runs ADD COLUMN released_by INTEGER;
ALTER TABLE batch_runs ADD COLUMN releases INTEGER;
ALTER TABLE batch_runs ADD COLUMN source_dir TEXT;
ALTER TABLE batch_runs ADD COLUMN replaced_run INTEGER;
ALTER TABLE batch_runs ADD COLUMN replace_added INTEGER;
ALTER TABLE batch_runs ADD COLUMN replace_removed INTEGER;
ALTER TABLE batch_runs ADD COLUMN replace_changed INTEGER;

-- Which account and instrument a reject is about.
ALTER TABLE batch_findings ADD COLUMN account_number TEXT;
ALTER TABLE batch_findings ADD COLUMN isin TEXT;
