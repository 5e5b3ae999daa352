/**
 * The matching service: what the workers call, and the re-evaluation itself. `applyMessages` is the
 * ingest queue's handler for the fact-bearing kinds (the handler map in src/composition-root.ts):
 * which settlements the messages can change (the ledger's rule, src/ledger/fact-loader.ts), then
 * `reevaluate` — per chunk, one transaction: lock the settlements' groups, load their facts, run the
 * pure rules (evaluateSettlement), write the loops, sync the cases (src/discrepancies/case-store.ts).
 * `processRecheck` is the `recheck` queue's process function, for results that change with time alone
 * (a due date lapsing, a grace period expiring). Re-checks are best-effort: the nightly sweep
 * (sweep.ts) is the safety net.
 *
 * Re-evaluation is idempotent by construction (it recomputes from the facts, never increments), so
 * messages may arrive in any order, twice, or be processed by several workers at once; each chunk
 * takes its groups' advisory locks before it reads (chunks.ts says why that suffices).
 */
import type { Job } from 'bullmq';
import type { Db, Sql } from '../db/db';
import type { Logger } from '../logging/logger';
import type { MessageKind } from '../ingest/kinds';
import type { MessageRow } from '../queue/ingest-worker';
import { RECHECK_QUEUE, type Queues } from '../queue/queues';
import { syncGroups } from '../discrepancies/case-store';
import type { AuditEvent } from '../audit/audit-trail';
import { affectedByMessages, loadSettlementInputs } from '../ledger/fact-loader';
import { loadLoopFreshness, loopsDueBy, upsertLoops as writeLoops, type StoredLoopFigures } from '../ledger/loop-store';
import { analyzeIfStale } from '../ledger/settlement-store';
import { analyzePaymentsIfStale } from '../ledger/payment-store';
import { analyzeBatchesIfStale } from '../ledger/batch-store';
import { evaluateSettlement, type SettlementEvaluation, type SettlementInput } from './rules';
import { cmpStr, fallbackAdmdvs } from './finding';
import { chunkFor, type MatchingDeps } from './chunks';
import { databaseClock, lockAll, runChunks, tryLockAll } from '../db/advisory-locks';
import { databaseIdentity } from '../db/migrate';
import { reevaluateDeclarations, type DeclarationKey } from './declarations';

/** Where re-checks are queued, and the clock they are timed by. */
export interface RecheckDeps {
  db: Db;
  queues: Pick<Queues, 'get'>;
  log: Logger;
  now: () => number;
}

export interface MatchingServiceDeps extends MatchingDeps, RecheckDeps {
  db: Db;
  log: Logger;
}

export interface NextCheck {
  setl_id: string;
  at: Date;
  /**
   * Its loop row holds the time (settlement_loops.next_check_at): re-checked with every loop due by
   * that instant (one job per instant). Without a loop row (lines or items naming a settlement the
   * agency has not recorded: their grace period), a job of its own.
   */
  stored?: boolean;
}
export interface ReevaluateResult {
  evaluated: number;
  nextChecks: NextCheck[];
}

/** The evaluation group of a settlement id in the discrepancy ledger. */
const settlementGroup = (setlId: string): string => `setl:${setlId}`;

/**
 * Re-evaluates everything the stored messages can change, as of the service's clock: the union of
 * what each one affects, once (the messages a worker applies together share their settlements' chunks).
 */
export async function applyMessages(
  deps: MatchingServiceDeps,
  msgs: readonly Pick<MessageRow, 'message_id' | 'kind'>[],
  finish?: (q: Sql) => Promise<void>,
): Promise<void> {
  const asOf = new Date(deps.now());
  if (deps.db.kind === 'pg') await analyzeStaleTables(deps.db, msgs);
  const setlIds = new Set<string>();
  const declarations: DeclarationKey[] = [];
  // The database's clock, read with what the messages affect (after they were claimed, so after
  // their facts were committed): a settlement whose loop another evaluation wrote from facts read
  // after this needs no evaluation of ours (reevaluate).
  let factsAfter: string | undefined;
  for (const kind of new Set(msgs.map((m) => m.kind))) {
    const affected = await affectedBy(
      deps.db,
      kind,
      msgs.filter((m) => m.kind === kind).map((m) => m.message_id),
    );
    factsAfter ??= affected.readAt;
    for (const id of affected.setlIds) setlIds.add(id);
    declarations.push(...affected.declarations);
  }
  if (deps.db.kind !== 'pg') factsAfter = undefined;
  else if (factsAfter === undefined && setlIds.size) factsAfter = await databaseClock(deps.db);
  // `finish` (the messages' `processed`) goes into the last transaction of the two passes.
  const r = await reevaluate(deps.db, setlIds, asOf, deps, declarations.length ? undefined : finish, factsAfter);
  // reevaluateDeclarations evaluates each institution-period once, however often it is named.
  if (declarations.length) await reevaluateDeclarations(deps.db, declarations, asOf, deps, finish);
  await scheduleRechecks(deps, r.nextChecks);
}

/** How often a worker process asks whether a ledger table's statistics are stale, at most. */
const STATISTICS_CHECK_MS = 1000;
const statisticsCheckedAt = new WeakMap<Db, Map<string, number>>();

/**
 * Tables filling up faster than autovacuum analyses them: the chunks' reads need fresh statistics
 * for their plans. A feed can bring more rows than settlement_records had; payments and recoveries fill a young
 * table (the lines' foreign-key check, payment-store.ts); batches likewise (the chunks' read of their
 * items by setl_id, batch-store.ts). Asked at most once a second per kind and process: the question
 * (pg_stat_user_tables) cost a statement per batch, ~2 % of a payment's PostgreSQL work in small batches.
 */
async function analyzeStaleTables(db: Db, msgs: readonly Pick<MessageRow, 'kind'>[]): Promise<void> {
  const checked = statisticsCheckedAt.get(db) ?? new Map<string, number>();
  statisticsCheckedAt.set(db, checked);
  const now = Date.now();
  const due = (kind: MessageKind) => {
    if (!msgs.some((m) => m.kind === kind) || now - (checked.get(kind) ?? -Infinity) < STATISTICS_CHECK_MS)
      return false;
    checked.set(kind, now);
    return true;
  };
  if (due('agency_settlements')) await analyzeIfStale(db);
  if (due('insurer_payment') || due('recovery')) await analyzePaymentsIfStale(db);
  if (due('settlement_batch')) await analyzeBatchesIfStale(db);
}

/** Spending plans and disbursements are reconciliation's (PLAN_VARIANCE, DISBURSEMENT_MISMATCH): they change no settlement. */
const FACT_KINDS: ReadonlySet<MessageKind> = new Set<MessageKind>([
  'agency_settlements',
  'settlement_batch',
  'insurer_payment',
  'recovery',
]);

/**
 * Which evaluation groups newly stored messages of one kind can change: the ledger's rule, asked only
 * for the kinds that bring loop facts. Re-evaluating exactly these after each message (plus the sweep
 * for the clock) is what makes the final state independent of arrival order.
 */
async function affectedBy(
  q: Sql,
  kind: MessageKind,
  messageIds: readonly string[],
): Promise<{ setlIds: string[]; declarations: DeclarationKey[]; readAt?: string }> {
  if (!FACT_KINDS.has(kind)) return { setlIds: [], declarations: [] };
  return affectedByMessages(q, messageIds, kind);
}

/**
 * Re-derive the loop state and the open discrepancies of settlements from the ledger of facts, as of
 * `asOf`: one transaction per chunk, in setl_id order; returns when each needs its next check.
 * `finish` runs in the last transaction (none without settlements).
 *
 * `factsAfter` (messages' evaluations: a database time after their facts were committed): a
 * settlement whose loop row another evaluation wrote from facts it read after that time, and whose
 * result still holds as of `asOf`, is left as it is (loop-store.ts loadLoopFreshness: it would give
 * the same row and the same findings). Two workers, or two batches of one, whose messages name the
 * same settlements (an institution's declaration and its payments) thus evaluate each once; and a
 * chunk whose locks another transaction holds is put off until the chunks nobody holds are done
 * (db/advisory-locks.ts runChunks), by when it is mostly fresh. Without `factsAfter` (the sweep, re-checks),
 * every settlement is evaluated, chunk after chunk.
 */
export async function reevaluate(
  db: Db,
  setlIds: Iterable<string>,
  asOf: Date,
  deps: MatchingDeps,
  finish?: (q: Sql) => Promise<void>,
  factsAfter?: string,
): Promise<ReevaluateResult> {
  const ids = [...new Set(setlIds)].sort(cmpStr);
  const nextChecks: NextCheck[] = [];
  const size = chunkFor(db);
  const chunks: string[][] = [];
  for (let i = 0; i < ids.length; i += size) chunks.push(ids.slice(i, i + size));
  await runChunks(chunks, (chunk, wait, last) =>
    db.tx(async (q) => {
      const groups = chunk.map(settlementGroup);
      if (wait || factsAfter === undefined) await lockAll(q, groups);
      else if (!(await tryLockAll(q, groups))) return false;
      nextChecks.push(...(await reevaluateChunk(q, chunk, asOf, deps, factsAfter)));
      if (last && finish) await finish(q);
      return true;
    }),
  );
  return { evaluated: ids.length, nextChecks };
}

/** One chunk, its groups' locks held. */
async function reevaluateChunk(
  q: Sql,
  chunk: string[],
  asOf: Date,
  deps: MatchingDeps,
  factsAfter: string | undefined,
): Promise<NextCheck[]> {
  // Read under the settlements' advisory locks: nobody else changes these rows until we commit.
  const stored = await loadLoopFreshness(q, chunk, factsAfter, asOf);
  const ids = stored.fresh.size ? chunk.filter((id) => !stored.fresh.has(id)) : chunk;
  if (!ids.length) return [];
  const inputs = await loadSettlementInputs(q, ids);
  const results = new Map<string, SettlementEvaluation>();
  for (const id of ids) results.set(id, evaluate(inputs.get(id)!, asOf, deps));

  const loopEvents = await upsertLoops(q, ids, inputs, results, asOf, stored.figures, stored.readAt);

  // The case store takes the open cases' row locks, then the audit chain's shard locks (one order
  // for every caller). Loop-state changes join the hash-chained audit trail (issue 7 §6) in the same
  // append as the cases' events, so the shards are locked once, in order (audit/audit-trail.ts).
  await syncGroups(
    q,
    ids.map((id) => ({ groupKey: settlementGroup(id), findings: results.get(id)!.findings })),
    asOf,
    'system',
    loopEvents,
  );
  return ids.flatMap((id) => {
    const r = results.get(id)!;
    if (!r.nextCheckAt) return [];
    // upsertLoops wrote its row (with next_check_at) when it has a settlement and a loop.
    return [{ setl_id: id, at: r.nextCheckAt, ...(inputs.get(id)!.settlement && r.loop ? { stored: true } : {}) }];
  });
}

/** The region parameters of an id: its settlement's pooling region, or the institution a reference names. */
export function evaluate(input: SettlementInput, asOf: Date, deps: MatchingDeps): SettlementEvaluation {
  const admdvs = input.settlement?.insuplc_admdvs ?? referenceAdmdvs(input);
  return evaluateSettlement(input, { asOf, params: deps.regions.loopParamsFor(admdvs), calendar: deps.calendar });
}

function referenceAdmdvs(input: SettlementInput): string {
  const refs = [
    ...input.lines.map((l) => ({
      insurer_code: l.insurer_code,
      ...(l.payee_type === 'institution' ? { fixmedins_code: l.payee_id } : {}),
    })),
    ...input.declaredItems.map((i) => ({ insurer_code: i.insurer_code, fixmedins_code: i.fixmedins_code })),
  ].sort((a, b) => cmpStr(a.fixmedins_code ?? '\uffff', b.fixmedins_code ?? '\uffff'));
  return fallbackAdmdvs({}, refs[0] ?? { insurer_code: '' });
}

/** The audited part of a loop row: a change in any of these is an audit event. */
const AUDITED = ['status', 'owed', 'paid', 'rejected', 'recovered', 'outstanding', 'due_date', 'closed_at'] as const;
type AuditedLoop = Record<(typeof AUDITED)[number], string | null>;

/** Upsert the loop rows; returns one audit event per row created or whose status or amounts changed. */
async function upsertLoops(
  q: Sql,
  ids: string[],
  inputs: Map<string, SettlementInput>,
  results: Map<string, SettlementEvaluation>,
  asOf: Date,
  before: readonly StoredLoopFigures[],
  factsSeenAt: string,
): Promise<AuditEvent[]> {
  const rows = ids.flatMap((id) => {
    const s = inputs.get(id)!.settlement;
    const r = results.get(id)!;
    return s && r.loop ? [{ s, loop: r.loop, next: r.nextCheckAt ?? null }] : [];
  });
  if (!rows.length) return [];
  const prev = new Map<string, AuditedLoop>(before.map((r) => [r.setl_id, r]));
  const events: AuditEvent[] = [];
  // Each amount in text once (decimal.js toFixed), for the audit comparison and the row alike.
  const figures = rows.map((r): AuditedLoop => ({
    status: r.loop.status,
    owed: r.loop.owed.toString(),
    paid: r.loop.paid.toString(),
    rejected: r.loop.rejected.toString(),
    recovered: r.loop.recovered.toString(),
    outstanding: r.loop.outstanding.toString(),
    due_date: r.loop.due_date,
    closed_at: r.loop.closed_at?.toISOString() ?? null,
  }));
  for (const [i, r] of rows.entries()) {
    const now = figures[i]!;
    const was = prev.get(r.s.setl_id);
    const changed = was ? AUDITED.filter((k) => was[k] !== now[k]) : [...AUDITED];
    if (!changed.length) continue;
    const data: Record<string, unknown> = { ...now };
    if (was) data.previous = Object.fromEntries(changed.map((k) => [k, was[k]]));
    events.push({
      entity: 'loop',
      entity_id: r.s.setl_id,
      admdvs: r.s.insuplc_admdvs,
      action: was ? 'changed' : 'created',
      actor: 'system',
      at: asOf,
      data,
    });
  }
  await writeLoops(
    q,
    rows.map((r, i) => ({
      setl_id: r.s.setl_id,
      status: r.loop.status,
      owed: figures[i]!.owed!,
      paid: figures[i]!.paid!,
      rejected: figures[i]!.rejected!,
      recovered: figures[i]!.recovered!,
      outstanding: figures[i]!.outstanding!,
      due_date: r.loop.due_date,
      due_at: r.loop.due_at,
      closed_at: r.loop.closed_at ?? null,
      admdvs: r.s.insuplc_admdvs,
      insurer_code: r.s.insurer_code,
      fixmedins_code: r.s.fixmedins_code,
      period: r.s.period,
      next_check_at: r.next,
    })),
    asOf,
    factsSeenAt,
    // None of them has a row (read under the groups' locks): a plain INSERT.
    rows.every((r) => !prev.has(r.s.setl_id)),
  );
  return events;
}

/**
 * Ids only: the worker loads the facts (no personal data in job payloads). `{ at }` (epoch ms): every
 * loop whose next check is due by then; `{ setl_id }`: one settlement (one without a loop row, or a
 * job queued before the per-instant jobs).
 */
export type RecheckJob = { setl_id: string } | { at: number };

/** How early a per-instant job may start (timer skew) before it waits for its instant. */
const RECHECK_EARLY_MS = 5_000;

/**
 * The `recheck` queue's job: re-evaluate, as of now, one settlement or every loop due by the job's
 * instant (matching/sweep.ts evaluates the same way), and schedule their next checks.
 */
export async function processRecheck(deps: MatchingServiceDeps, job: Job<RecheckJob>): Promise<void> {
  const data = job.data;
  if ('at' in data) {
    // Started a moment early (timers): wait for the instant, else the loops due then would not
    // have changed yet, and their next check — this same instant — would be this job again.
    const early = data.at - deps.now();
    if (early > 0 && early <= RECHECK_EARLY_MS) await new Promise((r) => setTimeout(r, early + 1));
    const ids = await loopsDueBy(deps.db, new Date(data.at));
    const r = await reevaluate(deps.db, ids, new Date(deps.now()), deps);
    await scheduleRechecks(deps, r.nextChecks);
    return;
  }
  const r = await reevaluate(deps.db, [data.setl_id], new Date(deps.now()), deps);
  await scheduleRechecks(deps, r.nextChecks);
}

/**
 * `recheck.<database>:<setl_id>:<epoch ms>`: the same re-check scheduled twice is one job (BullMQ
 * allows one `:` pair). `<database>` is db/migrate.ts `databaseIdentity`: another database on the
 * same Redis and prefix schedules jobs of its own.
 */
export function recheckJobId(database: string, c: Pick<NextCheck, 'setl_id' | 'at'>): string {
  return `recheck.${database}:${c.setl_id.replace(/%/g, '%25').replace(/:/g, '%3A')}:${c.at.getTime()}`;
}

/**
 * `recheck.<database>::<epoch ms>`: every loop due by that instant, one job however many loops name
 * it (the empty middle part is no setl_id: an id has 1 to 30 characters).
 */
export const recheckAtJobId = (database: string, at: number): string => `recheck.${database}::${at}`;

/**
 * Queue the re-checks: one job per instant for loops (a month's owed settlements share a few due
 * dates: a 100k month queued 200,000 delayed jobs, one per settlement and evaluation, ~8 % of the
 * worker's CPU in BullMQ and ioredis), one per settlement without a loop row.
 */
export async function scheduleRechecks(deps: RecheckDeps, checks: readonly NextCheck[]): Promise<void> {
  if (!checks.length) return;
  const database = await databaseIdentity(deps.db);
  const now = deps.now();
  const queue = deps.queues.get(RECHECK_QUEUE);
  const instants = new Set<number>();
  const single: NextCheck[] = [];
  for (const c of checks) {
    if (c.stored) instants.add(c.at.getTime());
    else single.push(c);
  }
  const jobs = [
    ...[...instants].sort((a, b) => a - b).map((at) => ({ jobId: recheckAtJobId(database, at), data: { at }, at })),
    // ids only: the worker loads the facts (no personal data in job payloads)
    ...single.map((c) => ({ jobId: recheckJobId(database, c), data: { setl_id: c.setl_id }, at: c.at.getTime() })),
  ];
  try {
    for (let i = 0; i < jobs.length; i += 1000) {
      await queue.addBulk(
        jobs.slice(i, i + 1000).map((j) => ({
          name: 'recheck',
          data: j.data,
          opts: {
            jobId: j.jobId,
            delay: Math.max(0, j.at - now),
            attempts: 5,
            backoff: { type: 'exponential', delay: 1000 },
            removeOnComplete: { age: 86_400, count: 100_000 },
            removeOnFail: { age: 7 * 86_400 },
          },
        })),
      );
    }
  } catch (err) {
    deps.log.warn(
      { err, count: checks.length },
      'could not schedule settlement re-checks; the nightly sweep covers them',
    );
  }
}
