-- Issue 18: arrears by age (应支未支, spec §10). Each institution and insurer row of a run carries its
-- outstanding in working-day buckets past the due date as of the run's as_of:
-- {"not_due","d1_10","d11_30","d31_60","over_60"} → amount strings. Null on rows of runs before this
-- migration (their report has no ageing; a new run of the region-period has).
ALTER TABLE reconciliation_institutions ADD COLUMN ageing jsonb;
ALTER TABLE reconciliation_insurers ADD COLUMN ageing jsonb;
