-- When (wall clock) an evaluation read the facts. settlement_loops.evaluated_at is the evaluation's
-- as_of, which a sweep sets to a past as_of; whether a fact arrived after the evaluation is a
-- question of wall-clock time, which the incremental sweep (src/matching/sweep.ts) asks here.
ALTER TABLE settlement_loops ADD COLUMN facts_seen_at timestamptz NOT NULL DEFAULT now();
