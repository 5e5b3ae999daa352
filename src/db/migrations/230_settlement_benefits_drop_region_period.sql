-- settlement_benefits (admdvs, period) was made for the run's benefit summary, which has counted the
-- month's stored results by setl_id (the primary key) since the summary became one statement: no
-- statement reads it any more. The benefit audit writes a row per checked settlement (issue 15: a
-- 100k month's feed inserts 100,000), and this index was a third of each row's index upkeep
-- (20,000 rows: 80 against 65 ms) and ~30 MB at 1M settlements.
DROP INDEX IF EXISTS settlement_benefits_region_period;
