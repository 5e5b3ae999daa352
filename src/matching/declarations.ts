/**
 * DECLARATION_MISSING for institution-periods (spec §4): the I/O shell around evaluateDeclaration.
 * One aggregate query per chunk of (fixmedins, insurer, period) keys; the group of each is its
 * subject `decl:<fixmedins>:<insurer>:<period>`, locked like a settlement's group.
 */
import type { Db, Sql } from '../db/db';
import { syncGroups, type CaseGroup } from '../discrepancies/case-store';
import { countOwedDirect, loadDeclarationFacts } from '../ledger/batch-store';
import { chunkFor, type MatchingDeps } from './chunks';
import { lockAll } from '../db/advisory-locks';
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
  // Whether each owes direct settlements decides the finding; how many are owed is only in its text,
  // so they are counted for the keys with a finding (counting every key read every settlement of the
  // institution-period for each feed part and batch naming it).
  const facts = await loadDeclarationFacts(q, keys);
  const evaluateAll = (counts: (number | undefined)[]) =>
    facts.map((r, n) => {
      const key = { fixmedins_code: r.fixmedins_code, insurer_code: r.insurer_code, period: r.period };
      const admdvs = r.admdvs ?? fallbackAdmdvs({}, { insurer_code: r.insurer_code, fixmedins_code: r.fixmedins_code });
      const { findings } = evaluateDeclaration(
        {
          ...key,
          admdvs,
          owedDirectCount: counts[n] ?? (r.owesDirect ? 1 : 0),
          ...(r.batchReceivedAt ? { batchReceivedAt: r.batchReceivedAt } : {}),
        },
        { asOf, params: deps.regions.loopParamsFor(admdvs) },
      );
      return { key, findings };
    });
  let evaluated = evaluateAll([]);
  const counted = evaluated.flatMap((e, n) => (e.findings.length ? [n] : []));
  if (counted.length) {
    const owed = await countOwedDirect(
      q,
      counted.map((n) => evaluated[n]!.key),
    );
    const counts: (number | undefined)[] = [];
    counted.forEach((n, j) => (counts[n] = owed[j]));
    evaluated = evaluateAll(counts);
  }
  const caseGroups: CaseGroup[] = evaluated.map((e) => ({ groupKey: declarationGroup(e.key), findings: e.findings }));
  // The case store takes the open cases' row locks, then the audit chain's lock (one order for every caller).
  await syncGroups(q, caseGroups, asOf);
}
