/**
 * The sweep of one region-period as of a time (spec §4: deadlines are judged "as of" any time): the
 * safety net under the best-effort re-check jobs, and what nightly reconciliation runs call. It
 * re-evaluates the settlements of the region-period whose result can differ as of `asOf`, every
 * reference to a still-unknown setl_id of that period (grace expiries), and DECLARATION_MISSING of
 * every institution-period concerned.
 *
 * A settlement's evaluation is a function of its facts and of asOf, and constant in asOf between its
 * check points (due-date lapses, grace expiries: settlement_loops.next_check_at). So one already
 * evaluated at or before asOf, with no check point in between and no fact it has not seen, is left as
 * it is — at a million settlements that is most of them, and the sweep's cost follows what changed.
 *
 * Which facts an evaluation has not seen is asked of the message log, set-based: the ingest worker
 * marks a message `processed` only after its matching handler (matching-service.ts, applyMessages) has
 * re-evaluated every settlement the message can change (affectedBy), each evaluation reading the
 * facts after they were committed. So every fact of a processed message is reflected in the
 * evaluations of the settlements it concerns, and the facts not yet reflected are among those of the
 * messages not processed (accepted, processing, failed: a few, found by a partial index, migration
 * 080). Every path into the ledger goes through a message row written in the same transaction as its
 * facts (message-store.ts, the streamed feed and the agency pull: settlement-feed.ts; the CLI import
 * posts to the feed), and facts are never changed afterwards. Which settlements those messages can
 * change is the rule affectedBy applies to one message (src/ledger/fact-loader.ts, written
 * once). (This replaces six correlated EXISTS per settlement comparing each fact's received_at with
 * settlement_loops.facts_seen_at: 10.5 s at 100k settlements selecting none.)
 *
 * The SQL is the ledger's (src/ledger/sweep-read-model.ts); open DECLARATION_MISSING cases are the
 * case store's; the message log says which messages are not applied yet.
 */
import type { Db } from '../db/db';
import type { Logger } from '../logging/logger';
import { openDeclarationMissingKeys } from '../discrepancies/discrepancy-queries';
import { unmatchedMessageIds } from '../ingest/message-store';
import { sweepSelection, undeclaredInstitutionPeriods } from '../ledger/sweep-read-model';
import type { MonthLoopSums } from '../ledger/owed-read-model';
import type { MatchingDeps } from './chunks';
import { reevaluate } from './matching-service';
import { reevaluateDeclarations } from './declarations';

export interface SweepDeps extends MatchingDeps {
  db: Db;
  log: Logger;
}

export async function sweepRegionPeriod(
  gw: SweepDeps,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
): Promise<{ settlements: number; declarations: number }> {
  return (await sweepMonth(gw, admdvsPrefix, period, asOf)).swept;
}

/**
 * A reconciliation run's sweep (run-reconciliation.ts): sweepRegionPeriod, and what its one pass over
 * the month with its loop rows found for the run's report (`knownAt`, the report's cut-off): the sums
 * of the settlements it left as they were, and the setl_ids it re-evaluated (the report recomputes
 * those). `before` is absent when the report has to sum the loop rows after the sweep (too many to
 * recompute: owed-read-model.ts monthWithLoops).
 */
export async function sweepForRun(
  gw: SweepDeps,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
  knownAt: Date,
): Promise<{
  swept: { settlements: number; declarations: number };
  before?: { sums: MonthLoopSums; swept: readonly string[] };
}> {
  return sweepMonth(gw, admdvsPrefix, period, asOf, knownAt);
}

async function sweepMonth(
  gw: SweepDeps,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
  knownAt?: Date,
): Promise<{
  swept: { settlements: number; declarations: number };
  before?: { sums: MonthLoopSums; swept: readonly string[] };
}> {
  if (!/^\d{2,6}$/.test(admdvsPrefix)) throw new RangeError(`admdvs prefix must be 2–6 digits: ${admdvsPrefix}`);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new RangeError(`period must be yyyy-MM: ${period}`);
  const { db } = gw;
  const { ids, month } = await select(db, admdvsPrefix, period, asOf, knownAt);
  const settled = await reevaluate(db, ids, asOf, gw);
  // Institution-periods whose DECLARATION_MISSING can be open as of any time: owed direct settlements
  // and no current batch, and those with a case open (reevaluateDeclarations evaluates each once).
  const decl = [
    ...(await undeclaredInstitutionPeriods(db, admdvsPrefix, period)),
    ...(await openDeclarationMissingKeys(db, admdvsPrefix, period)),
  ];
  const declared = await reevaluateDeclarations(db, decl, asOf, gw);
  gw.log.info(
    {
      admdvs: admdvsPrefix,
      period,
      as_of: asOf.toISOString(),
      settlements: settled.evaluated,
      declarations: declared.evaluated,
    },
    'matching sweep done',
  );
  const swept = { settlements: settled.evaluated, declarations: declared.evaluated };
  return month ? { swept, before: { sums: month, swept: ids } } : { swept };
}

/** The setl_ids the sweep re-evaluates (exported for the tests). */
export async function selectSettlements(
  db: Pick<Db, 'tx'>,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
): Promise<string[]> {
  return (await select(db, admdvsPrefix, period, asOf)).ids;
}

/**
 * The selection in one snapshot (REPEATABLE READ, read only): the unapplied messages, the month with
 * its loop rows and the references are read as of one instant, so that a run's sums and the
 * settlements it recomputes neither overlap nor leave one out.
 */
function select(
  db: Pick<Db, 'tx'>,
  admdvsPrefix: string,
  period: string,
  asOf: Date,
  knownAt?: Date,
): Promise<{ ids: string[]; month: MonthLoopSums | null }> {
  return db.tx(async (q) => {
    await q.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    return sweepSelection(q, admdvsPrefix, period, asOf, await unmatchedMessageIds(q), knownAt);
  });
}
