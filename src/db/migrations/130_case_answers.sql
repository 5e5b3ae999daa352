-- Issue 18 (spec §10): the parties around a case. An insurer or institution may dispute a case; the
-- agency or ops decide. The dispute in force (open, or the last decided) is one jsonb on the case:
-- {status: open|upheld|rejected, reason_code, note, by, at, attachments?, decision_note?, decided_by?, decided_at?}.
-- Every step (comment, dispute, decision) is also an audit event of the case (its history).
ALTER TABLE discrepancies ADD COLUMN dispute jsonb;
CREATE INDEX discrepancies_disputed ON discrepancies (admdvs, period) WHERE dispute->>'status' = 'open';

-- A dispute's evidence: the files come with the dispute and are committed with it, in the transaction
-- that changes the case and appends the audit event (whose data names each file's sha256), so a 200
-- means stored — the message log's guarantee. Evidence is kept as long as its case (never purged).
CREATE TABLE case_attachments (
  id              uuid PRIMARY KEY,
  discrepancy_id  uuid NOT NULL REFERENCES discrepancies (id),
  step_id         uuid NOT NULL,
  filename        text NOT NULL,
  content_type    text NOT NULL,
  bytes           integer NOT NULL,
  sha256          text NOT NULL,
  content         bytea NOT NULL,
  uploaded_by     text NOT NULL,
  uploaded_at     timestamptz NOT NULL
);
CREATE INDEX case_attachments_case ON case_attachments (discrepancy_id, uploaded_at);
