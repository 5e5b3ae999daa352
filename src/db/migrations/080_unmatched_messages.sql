-- The messages whose facts matching may not have applied yet: every status but 'processed' (the
-- ingest worker sets it only after the matching handler re-evaluated what the message affects). A
-- few rows at any time; the incremental sweep (src/matching/sweep.ts) and the reconciliation report
-- (src/reconciliation/report-sql.ts) start from them instead of comparing every fact with every
-- settlement's last evaluation. messages_unfinished (060) leaves out 'failed', which counts here.
CREATE INDEX IF NOT EXISTS messages_unmatched ON messages (message_id) WHERE status <> 'processed';
