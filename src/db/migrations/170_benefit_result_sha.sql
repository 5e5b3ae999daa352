-- The benefit audit re-evaluates whole person-years, so most of the rows it computes are the rows it
-- stored last time (issue 15: a 100k month wrote settlement_benefits 2.5 times per settlement,
-- DELETE and INSERT of every row of every person-year a feed part touched). Each row now carries a
-- digest of its stored result (every column but evaluated_at); the audit rewrites only rows whose
-- digest changed, and evaluated_at is when the stored result was last written. Rows stored before
-- have none, so they are rewritten the next time their person-year is audited.
ALTER TABLE settlement_benefits ADD COLUMN result_sha text;
