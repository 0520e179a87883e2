-- A sync is recorded when it starts (`running`, no finish time yet) and finished in place, so
-- that a sync that outlives its HTTP request can be polled and a killed one is visible.
ALTER TABLE bank_syncs ALTER COLUMN finished_at DROP NOT NULL;
