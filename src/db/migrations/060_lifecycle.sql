-- Data lifecycle (issue 7 of 7 §5). The ledger (settlements, payments, discrepancies, audit trail) is
-- kept. Raw message bodies have their own retention (GATEWAY_RAW_BODY_RETENTION_DAYS): they live in
-- `message_bodies`, partitioned by month of received_at (CST month boundaries), so `gateway purge`
-- drops whole expired partitions instead of running a long DELETE that would block live traffic.
-- messages.raw_body stays (NULL for new messages) so older rows and readers keep working.

CREATE TABLE message_bodies (
  message_id   uuid NOT NULL,
  received_at  timestamptz NOT NULL,
  raw_body     bytea NOT NULL,
  PRIMARY KEY (message_id, received_at)
) PARTITION BY RANGE (received_at);

-- Rows outside every monthly partition (a clock far off, a month not yet created) land here; purge
-- deletes its expired rows in small batches. It stays small because partitions are created ahead.
CREATE TABLE message_bodies_default PARTITION OF message_bodies DEFAULT;

-- Create the monthly partitions of `months_ahead` months from the month of `at` (and the month
-- before it), moving any rows of such a month out of the default partition first. Idempotent;
-- serialised by an advisory lock so processes starting together do not race.
CREATE FUNCTION message_bodies_ensure_partitions(at timestamptz, months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  first_month date := (date_trunc('month', at AT TIME ZONE 'Asia/Shanghai') - interval '1 month')::date;
  m date;
  lo timestamptz;
  hi timestamptz;
  part text;
  created integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(7340160);
  FOR i IN 0 .. months_ahead + 1 LOOP
    m := (first_month + make_interval(months => i))::date;
    part := 'message_bodies_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM');
    IF to_regclass(part) IS NULL THEN
      lo := (m::timestamp AT TIME ZONE 'Asia/Shanghai');
      hi := ((m + interval '1 month')::timestamp AT TIME ZONE 'Asia/Shanghai');
      EXECUTE format('CREATE TABLE %I (LIKE message_bodies INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', part);
      EXECUTE format('WITH moved AS (DELETE FROM message_bodies_default WHERE received_at >= %L AND received_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved', lo, hi, part);
      EXECUTE format('ALTER TABLE message_bodies ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
      created := created + 1;
    END IF;
  END LOOP;
  RETURN created;
END $$;

SELECT message_bodies_ensure_partitions(now(), 3);

-- Purge's other targets: webhook ids older than 24 h (replay protection needs no more) and relayed
-- outbox rows. Both are purged in small batches by these indexes (they are small, hot tables whose
-- rows are short-lived; partitioning them by day would add DDL churn for little gain).
CREATE INDEX outbox_relayed_at ON outbox (relayed_at) WHERE relayed_at IS NOT NULL;

-- The relay's re-queue of unfinished messages whose jobs were lost (src/queue/outbox-relay.ts
-- requeueStuck) reads the few unfinished messages and their outbox rows by message id.
CREATE INDEX messages_unfinished ON messages (message_id) WHERE status IN ('accepted','processing');
CREATE INDEX outbox_message ON outbox (message_id);
