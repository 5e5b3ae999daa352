-- Issue 13: a batch's business key is the institution's own, (fixmedins_code, batch_id), so another
-- institution taking a batch_id first never blocks, voids or answers for the owner's batch. Every
-- join on batch_id (items, replacements) also matches the institution (src/ledger/fact-loader.ts
-- CURRENT_BATCH, src/matching, src/reconciliation).

ALTER TABLE batch_items ADD COLUMN fixmedins_code text;
UPDATE batch_items i SET fixmedins_code = b.fixmedins_code FROM batches b WHERE b.batch_id = i.batch_id;
ALTER TABLE batch_items ALTER COLUMN fixmedins_code SET NOT NULL;

ALTER TABLE batch_items DROP CONSTRAINT batch_items_batch_id_fkey;
ALTER TABLE batch_items DROP CONSTRAINT batch_items_pkey;
ALTER TABLE batches DROP CONSTRAINT batches_pkey;
ALTER TABLE batches ADD PRIMARY KEY (fixmedins_code, batch_id);
ALTER TABLE batch_items ADD PRIMARY KEY (fixmedins_code, batch_id, setl_id);
ALTER TABLE batch_items ADD FOREIGN KEY (fixmedins_code, batch_id) REFERENCES batches (fixmedins_code, batch_id);

-- "Is batch b replaced?" is asked within its institution.
DROP INDEX batches_replaces;
CREATE INDEX batches_replaces ON batches (fixmedins_code, replaces_batch_id) WHERE replaces_batch_id IS NOT NULL;

-- The message log's business key of a batch takes the same form as kinds.ts batchSpec.businessKey.
UPDATE messages m SET business_key = b.fixmedins_code || ':' || b.batch_id
  FROM batches b
 WHERE m.kind = 'settlement_batch' AND b.message_id = m.message_id AND m.business_key = b.batch_id;
