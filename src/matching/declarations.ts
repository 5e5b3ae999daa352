/**
 * DECLARATION_MISSING for institution-periods (spec §4): the I/O shell around evaluateDeclaration.
 * One aggregate query per chunk of (fixmedins, insurer, period) keys; the group of each is its
 * subject `decl:<fixmedins>:<insurer>:<period>`, locked like a settlement's group.
 */
import type { Db, Sql } from '../db/db';
import { syncGroups, type CaseGroup } from '../discrepancies/case-store';
import { loadDeclarationFacts } from '../ledger/batch-store';
import { chunkFor, lockAll, type MatchingDeps } from './chunks';
import { evaluateDeclaration, subjectKey } from './rules';
import { cmpStr, fallbackAdmdvs } from './finding';

export interface DeclarationKey {
  fixmedins_code: string;
  insurer_code: string;
  period: string;
}

export const declarationGroup = (k: DeclarationKey): string =>
  subjectKey({ kind: 'declaration', fixmedins_code: k.fixmedins_code, insurer_code: k.insurer_code, period: k.period });

/** `finish` runs in the last chunk's transaction (none without keys). */
export async function reevaluateDeclarations(
  db: Db,
  keys: Iterable<DeclarationKey>,
  asOf: Date,
  deps: MatchingDeps,
  finish?: (q: Sql) => Promise<void>,
): Promise<{ evaluated: number }> {
  const byGroup = new Map<string, DeclarationKey>();
  for (const k of keys)
    byGroup.set(declarationGroup(k), {
      fixmedins_code: k.fixmedins_code,
      insurer_code: k.insurer_code,
      period: k.period,
    });
  const groups = [...byGroup.keys()].sort(cmpStr);
  const size = chunkFor(db);
  for (let n = 0; n < groups.length; n += size) {
    const chunk = groups.slice(n, n + size).map((g) => byGroup.get(g)!);
    const last = n + size >= groups.length;
    await db.tx(async (q) => {
      await reevaluateChunk(q, chunk, asOf, deps);
      if (last && finish) await finish(q);
    });
  }
  return { evaluated: groups.length };
}

async function reevaluateChunk(q: Sql, keys: DeclarationKey[], asOf: Date, deps: MatchingDeps): Promise<void> {
  const groups = keys.map(declarationGroup);
  await lockAll(q, groups);
  // Owed direct settlements: valid, direct, hifob_pay > 0, and not reversed (a reversal is final).
  const facts = await loadDeclarationFacts(q, keys);
  const caseGroups: CaseGroup[] = [];
  for (const r of facts) {
    const key = { fixmedins_code: r.fixmedins_code, insurer_code: r.insurer_code, period: r.period };
    const admdvs = r.admdvs ?? fallbackAdmdvs({}, { insurer_code: r.insurer_code, fixmedins_code: r.fixmedins_code });
    const { findings } = evaluateDeclaration(
      {
        ...key,
        admdvs,
        owedDirectCount: r.owedDirectCount,
        ...(r.batchReceivedAt ? { batchReceivedAt: r.batchReceivedAt } : {}),
      },
      { asOf, params: deps.regions.loopParamsFor(admdvs) },
    );
    caseGroups.push({ groupKey: declarationGroup(key), findings });
  }
  // The case store takes the open cases' row locks, then the audit chain's lock (one order for every caller).
  await syncGroups(q, caseGroups, asOf);
}
