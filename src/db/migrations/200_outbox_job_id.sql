-- The BullMQ job an outbox row was relayed in (issue 15, matching latency). The relay puts the
-- ingest rows of a pass into a few jobs of many messages each (src/queue/outbox-relay.ts) instead of
-- one job per message: BullMQ's per-job Redis work on both sides was a large part of a message's
-- cost. A row's job id is then no longer its message id, so the relay notes it here, and
-- requeueStuck finds the job of a stuck message by it. NULL for rows relayed one job per row (the
-- job id is then payload.job_id, else message_id, as before).
ALTER TABLE outbox ADD COLUMN job_id text;
