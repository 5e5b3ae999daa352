-- When the benefit audit last read each person-year's records (issue 15, several worker processes).
-- A batch of benefit jobs audits every person-year its feed parts name, and a month's parts name the
-- same people (each person's settlements arrive in several parts): two worker processes each audited
-- most people of a 100k month once more. The audit now skips a person-year whose records another
-- audit read after the batch's messages were committed (the same records, so the same results and
-- findings). facts_read_at is the database's clock taken under the person-year's lock, before the
-- records were read, written in the transaction that stored the results.
CREATE TABLE person_year_audits (
  person_year text PRIMARY KEY,
  facts_read_at timestamptz NOT NULL
);
