/**
 * DECLARATION_MISSING for institution-periods (spec §4): the I/O shell around evaluateDeclaration.
 * One aggregate query per chunk of (fixmedins, insurer, period) keys; the group of each is its
 * subject `decl:<fixmedins>:<insurer>:<period>`, locked like a settlement's group.
 */
import type { Db, Sql } from '../db/db';
import { syncGroups, type CaseGroup } from '../discrepancies/sync-groups';
import { CURRENT_BATCH } from '../ledger/fact-loader';
import { chunkFor, lockAll, type MatchingDeps } from './apply';
import { evaluateDeclaration, subjectKey } from './rules';
import { cmpStr, fallbackAdmdvs } from './finding';

export interface DeclarationKey { fixmedins_code: string; insurer_code: string; period: string }

export const declarationGroup = (k: DeclarationKey): string =>
  subjectKey({ kind: 'declaration', fixmedins_code: k.fixmedins_code, insurer_code: k.insurer_code, period: k.period });

interface DeclRow { f: string; i: string; p: string; owed: string; admdvs: string | null; batch_received_at: Date | null }

export async function reevaluateDeclarations(db: Db, keys: Iterable<DeclarationKey>, asOf: Date, deps: MatchingDeps): Promise<{ evaluated: number }> {
  const byGroup = new Map<string, DeclarationKey>();
  for (const k of keys) byGroup.set(declarationGroup(k), { fixmedins_code: k.fixmedins_code, insurer_code: k.insurer_code, period: k.period });
  const groups = [...byGroup.keys()].sort(cmpStr);
  const size = chunkFor(db);
  for (let n = 0; n < groups.length; n += size) {
    const chunk = groups.slice(n, n + size).map((g) => byGroup.get(g)!);
    await db.tx((q) => reevaluateChunk(q, chunk, asOf, deps));
  }
  return { evaluated: groups.length };
}

async function reevaluateChunk(q: Sql, keys: DeclarationKey[], asOf: Date, deps: MatchingDeps): Promise<void> {
  const groups = keys.map(declarationGroup);
  await lockAll(q, groups);
  // Owed direct settlements: valid, direct, hifob_pay > 0, and not reversed (a reversal is final).
  const { rows } = await q.query<DeclRow>(
    `SELECT k.f, k.i, k.p,
        (SELECT count(*) FROM settlement_records s
          WHERE s.fixmedins_code = k.f AND s.insurer_code = k.i AND s.period = k.p AND s.status = 'valid' AND s.setl_mode = 'direct'
            AND s.hifob_pay > 0 AND NOT EXISTS (SELECT 1 FROM settlement_records r WHERE r.setl_id = s.setl_id AND r.status = 'reversed')) AS owed,
        (SELECT min(s.insuplc_admdvs) FROM settlement_records s WHERE s.fixmedins_code = k.f AND s.insurer_code = k.i AND s.period = k.p) AS admdvs,
        (SELECT min(b.received_at) FROM batches b WHERE b.fixmedins_code = k.f AND b.insurer_code = k.i AND b.period = k.p AND ${CURRENT_BATCH}) AS batch_received_at
       FROM unnest($1::text[], $2::text[], $3::text[]) AS k(f, i, p)`,
    [keys.map((k) => k.fixmedins_code), keys.map((k) => k.insurer_code), keys.map((k) => k.period)],
  );
  const caseGroups: CaseGroup[] = [];
  for (const r of rows) {
    const key = { fixmedins_code: r.f, insurer_code: r.i, period: r.p };
    const admdvs = r.admdvs ?? fallbackAdmdvs({}, { insurer_code: r.i, fixmedins_code: r.f });
    const { findings } = evaluateDeclaration(
      { ...key, admdvs, owedDirectCount: Number(r.owed), ...(r.batch_received_at ? { batchReceivedAt: r.batch_received_at } : {}) },
      { asOf, params: deps.regions.loopParamsFor(admdvs) },
    );
    caseGroups.push({ groupKey: declarationGroup(key), findings });
  }
  // The case store takes the open cases' row locks, then the audit chain's lock (one order for every caller).
  await syncGroups(q, caseGroups, asOf);
}
