/**
 * The premium chain as cases (spec §8): loads the collections and transfers (ledger/fund-store.ts),
 * runs the pure rules (rules/premium-chain.ts) and syncs their groups through the case lifecycle
 * (discrepancies/case-store.ts syncGroups: one lock order with every other caller). Called
 *  - by the ingest worker for newly stored collections and transfers (applyFundMessages: the
 *    region-periods they touch, as of now), and
 *  - by each reconciliation run (sweepPremiumChain, in the run's transaction, as of its as_of): the
 *    run's region prefix, every period from January of the year before the run's period up to it —
 *    so a county account's 31 December (003 art. 47) lapses into a finding in the nightly run of
 *    the next January, and a tax account's day 10 in the run of the month after.
 * A due date that lapses with no new message is noticed by the next run (there are no timed
 * re-checks for the fund, as there are for settlements).
 */
import type { Db, Sql } from '../db/db';
import type { RegionPolicies } from '../benefits/region-policy';
import { syncGroups } from '../discrepancies/case-store';
import { fundPairsOfMessages, loadCollections, loadTransfers, type FundFactFilter } from '../ledger/fund-store';
import { enqueueDigest } from '../notifications/fan-out';
import { DEFAULT_FUND_POLICY, premiumChainGroups, type ChainContext } from './rules';

export interface PremiumChainDeps {
  regions: Pick<RegionPolicies, 'regionFor' | 'loopParamsFor' | 'all'>;
}

export interface ChainSyncResult {
  groups: number;
  opened: number;
  resolved: number;
}
/** The result with the ids of the cases opened (for their digest; not kept in a run's summary). */
export interface ChainSync {
  result: ChainSyncResult;
  openedIds: string[];
}

function context(regions: PremiumChainDeps['regions']): ChainContext {
  return {
    fundPolicyFor: (admdvs) => regions.regionFor(admdvs)?.fund ?? DEFAULT_FUND_POLICY,
    graceDaysFor: (admdvs) => regions.loopParamsFor(admdvs).grace_days,
  };
}

async function syncChain(
  q: Sql,
  deps: PremiumChainDeps,
  filter: FundFactFilter,
  asOf: Date,
  at: Date,
): Promise<ChainSync> {
  // Facts dated after asOf are read too (and not counted by the rules), so an account-region-period
  // whose facts all lie after asOf still has its group judged.
  const [collections, transfers] = [await loadCollections(q, filter), await loadTransfers(q, filter)];
  const groups = premiumChainGroups(collections, transfers, asOf, context(deps.regions));
  const r = await syncGroups(q, groups, at);
  return {
    result: { groups: groups.length, opened: r.opened.length, resolved: r.resolved.length },
    openedIds: r.opened,
  };
}

/**
 * The region-periods the stored messages touch, re-judged as of `asOf` (the ingest worker's handler).
 * The non-critical cases it opens are told in a digest of their own, committed with them (a critical
 * one goes out at once through the case store's hook).
 */
export async function applyFundMessages(
  db: Db,
  deps: PremiumChainDeps,
  messageIds: readonly string[],
  asOf: Date,
): Promise<ChainSyncResult> {
  return db.tx(async (q) => {
    const pairs = await fundPairsOfMessages(q, messageIds);
    if (!pairs.length) return { groups: 0, opened: 0, resolved: 0 };
    const { result, openedIds } = await syncChain(q, deps, { pairs }, asOf, asOf);
    if (openedIds.length) {
      await enqueueDigest(q, {
        window_start: new Date(asOf.getTime() - 1),
        window_end: new Date(asOf.getTime() + 1),
        ids: openedIds,
        onlyIds: true,
      });
    }
    return result;
  });
}

/** A reconciliation run's sweep of the premium chain of a region prefix, in the run's transaction (the run's digest lists the cases it opened). */
export function sweepPremiumChain(
  q: Sql,
  deps: PremiumChainDeps,
  run: { admdvs: string; period: string; asOf: Date },
  at: Date,
): Promise<ChainSync> {
  const fromPeriod = `${Number(run.period.slice(0, 4)) - 1}-01`;
  return syncChain(q, deps, { admdvsPrefix: run.admdvs, fromPeriod, toPeriod: run.period }, run.asOf, at);
}
