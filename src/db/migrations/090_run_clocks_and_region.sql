-- The two clocks of a reconciliation run (spec §5) and the region of plans and disbursements (spec §3).

-- known_at: the knowledge cut-off (facts received after it are left out of the run). NULL while a run
-- asked for without one is queued: it becomes the run's start when the worker claims it.
-- report_only: the run's known_at lay before its start, so it only reproduces a report and changed
-- no discrepancy (no sweep, no plan findings, no digest).
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS known_at timestamptz;
ALTER TABLE reconciliation_runs ADD COLUMN IF NOT EXISTS report_only boolean NOT NULL DEFAULT false;
-- Runs before this migration counted the facts received by as_of (and by their start, of course).
UPDATE reconciliation_runs SET known_at = least(as_of, coalesce(started_at, created_at))
 WHERE known_at IS NULL AND status IN ('completed', 'failed');

-- admdvs (2–6 digits): the region a plan or a disbursement is for; NULL = every region in which the
-- insurer owes, pays or is planned for settlements.
ALTER TABLE spending_plans ADD COLUMN IF NOT EXISTS admdvs text;
ALTER TABLE disbursements ADD COLUMN IF NOT EXISTS admdvs text;
-- The sending agency's scope (admdvs prefixes) when the disbursement was received: a disbursement
-- counts only in regions inside it. NULL for disbursements received before this migration (counted
-- as before: in every region).
ALTER TABLE disbursements ADD COLUMN IF NOT EXISTS sender_scope text[];
