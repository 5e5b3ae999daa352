-- Every loop row matching writes (five per payment of five lines, 100,000 in a 100k month's feed)
-- paid for five indexes, two of which no read needed:
-- - settlement_loops_inst_period (fixmedins_code, insurer_code, period): no statement reads the loops
--   by institution (they are read by setl_id, by region-period, by check point and reversed ones);
-- - settlement_loops_status (status, due_at): read only for the reversed loops of a region-period
--   (owed-read-model.ts REVERSED_LOOPS), a few rows, which a partial index holds alone.
-- 54,000 new loops in chunks of 180: 1.74-2.06 s with the five, 1.34-1.66 s with the three left (the
-- partial index below takes reversed loops only).
DROP INDEX IF EXISTS settlement_loops_inst_period;
DROP INDEX IF EXISTS settlement_loops_status;
CREATE INDEX IF NOT EXISTS settlement_loops_reversed ON settlement_loops (period, admdvs) WHERE status = 'reversed';
