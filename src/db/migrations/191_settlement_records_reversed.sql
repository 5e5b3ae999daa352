-- The reversed settlement records, by setl_id (issue 15): "not reversed" is asked of every owed
-- settlement (NOT EXISTS a reversed row of its setl_id: DECLARATION_MISSING, the run report, the
-- benefit counts), and without an index on status PostgreSQL answered it by reading the whole
-- primary key (setl_id, status) for status = 'reversed': 277 ms for each declaration statement at
-- 300k settlements, i.e. once per feed part and batch. Reversals are few: the index is small.
CREATE INDEX settlement_records_reversed ON settlement_records (setl_id) WHERE status = 'reversed';
