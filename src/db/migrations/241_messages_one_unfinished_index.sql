-- messages_unfinished (060: status accepted or processing) and messages_unmatched (080: every status
-- but processed) differed only by 'failed'. Each message wrote both, at its insert and again at its
-- 'processing' update (neither update is HOT: status is in their predicates). The relay's re-queue
-- of unfinished messages (outbox-relay.ts requeueStuck) and the count of unfinished ones read
-- messages_unmatched now, leaving out the few failed rows (PostgreSQL proves that status IN
-- ('accepted','processing') implies status <> 'processed').
DROP INDEX IF EXISTS messages_unfinished;
