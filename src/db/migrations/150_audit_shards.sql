-- The audit trail in shards (issue 15): one hash chain per region instead of one for everything, so
-- that commits of different regions never wait for one chain lock (src/audit/audit-trail.ts says
-- why by region). Each event names its shard; each shard's head (its event count, last event and
-- last hash) is moved in the transaction that appends to it, so verify-audit finds removed events
-- at a chain's end as well as edited or removed ones inside it.
--
-- The events written before this migration form shard 0, the legacy chain: unchanged (same hashes,
-- same links) and sealed here with its head, from now on as checkable as any other shard. New
-- events go to shards 1 (no region) and 1101..9999 (the 4-digit admdvs prefix), never to shard 0.
ALTER TABLE audit_events ADD COLUMN shard integer NOT NULL DEFAULT 0;
-- Every writer names the shard; a writer that forgets fails instead of joining the legacy chain.
ALTER TABLE audit_events ALTER COLUMN shard DROP DEFAULT;
CREATE INDEX audit_events_shard_seq ON audit_events (shard, seq);

CREATE TABLE audit_heads (
  shard      integer PRIMARY KEY,
  events     bigint NOT NULL,   -- how many events the chain holds
  last_seq   bigint NOT NULL,   -- its last event
  last_hash  text NOT NULL      -- that event's hash: the next event's prev_hash
);

INSERT INTO audit_heads (shard, events, last_seq, last_hash)
SELECT 0, count(*), max(seq), (SELECT hash FROM audit_events ORDER BY seq DESC LIMIT 1)
  FROM audit_events HAVING count(*) > 0;

-- A head only moves forward and is never deleted (a superuser switching this off is what
-- verify-audit's printed heads, kept elsewhere, are for).
CREATE FUNCTION audit_heads_forward_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.shard <> OLD.shard OR NEW.events < OLD.events OR NEW.last_seq < OLD.last_seq THEN
    RAISE EXCEPTION 'audit_heads only move forward';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER audit_heads_forward BEFORE UPDATE OR DELETE ON audit_heads
  FOR EACH ROW EXECUTE FUNCTION audit_heads_forward_only();
