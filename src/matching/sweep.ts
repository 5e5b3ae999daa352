/**
 * The sweep of one region-period as of a time (spec §4: deadlines are judged "as of" any time): the
 * safety net under the best-effort re-check jobs, and what nightly reconciliation runs call. It
 * re-evaluates the settlements of the region-period whose result can differ as of `asOf`, every
 * reference to a still-unknown setl_id of that period (grace expiries), and DECLARATION_MISSING of
 * every institution-period concerned.
 *
 * A settlement's evaluation is a function of its facts and of asOf, and constant in asOf between its
 * check points (due-date lapses, grace expiries: settlement_loops.next_check_at). So one already
 * evaluated at or before asOf, with no check point in between and no fact received since it read them
 * (settlement_loops.facts_seen_at), is left as it is — at a million settlements that is most of them, and the sweep's cost follows what changed.
 */
import type { Gateway } from '../composition-root';
import { periodEnd, periodStart } from '../time';
import { CURRENT_BATCH } from '../ledger/fact-loader';
import { reevaluate } from './apply';
import { reevaluateDeclarations, type DeclarationKey } from './declarations';

type SweepGateway = Pick<Gateway, 'db' | 'regions' | 'calendar' | 'log'>;

/**
 * Region of a reference without a settlement, in SQL: the county code inside an `H` + 6-digit
 * fixmedins_code (as fallbackAdmdvs does); a reference with no such code has no region and is swept
 * with every region (its findings are filed under UNKNOWN_ADMDVS).
 */
const inRegion = (col: string, param: string) => `(${col} !~ '^H[0-9]{6}' OR substr(${col}, 2, 6) LIKE ${param} || '%')`;

export async function sweepRegionPeriod(gw: SweepGateway, admdvsPrefix: string, period: string, asOf: Date): Promise<{ settlements: number; declarations: number }> {
  if (!/^\d{2,6}$/.test(admdvsPrefix)) throw new RangeError(`admdvs prefix must be 2–6 digits: ${admdvsPrefix}`);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new RangeError(`period must be yyyy-MM: ${period}`);
  const { db } = gw;
  const ids = await db.query<{ setl_id: string }>(
    `SELECT s.setl_id FROM settlement_records s LEFT JOIN settlement_loops l USING (setl_id)
      WHERE s.insuplc_admdvs LIKE $1 || '%' AND s.period = $2
        AND (l.setl_id IS NULL OR l.evaluated_at > $5 OR l.next_check_at <= $5 OR s.received_at > l.facts_seen_at
          OR EXISTS (SELECT 1 FROM payment_lines pl JOIN payments p USING (insurer_code, payment_id) WHERE pl.setl_id = s.setl_id AND p.received_at > l.facts_seen_at)
          OR EXISTS (SELECT 1 FROM recoveries r WHERE r.setl_id = s.setl_id AND r.received_at > l.facts_seen_at)
          OR EXISTS (SELECT 1 FROM batch_items bi JOIN batches b USING (batch_id) WHERE bi.setl_id = s.setl_id AND b.received_at > l.facts_seen_at)
          OR EXISTS (SELECT 1 FROM batches b WHERE b.fixmedins_code = s.fixmedins_code AND b.insurer_code = s.insurer_code AND b.period = s.period AND b.received_at > l.facts_seen_at)
          OR EXISTS (SELECT 1 FROM settlement_records m WHERE m.mdtrt_id = s.mdtrt_id AND m.setl_id <> s.setl_id AND m.received_at > l.facts_seen_at))
     UNION
     SELECT l.setl_id FROM payment_lines l JOIN payments p USING (insurer_code, payment_id)
      WHERE p.pay_time >= $3 AND p.pay_time < $4
        AND NOT EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = l.setl_id)
        AND (p.payee_type = 'person' OR ${inRegion('p.payee_id', '$1')})
     UNION
     SELECT i.setl_id FROM batch_items i JOIN batches b USING (batch_id)
      WHERE b.period = $2 AND ${CURRENT_BATCH} AND ${inRegion('b.fixmedins_code', '$1')}
        AND NOT EXISTS (SELECT 1 FROM settlement_records s WHERE s.setl_id = i.setl_id)`,
    [admdvsPrefix, period, periodStart(period), periodEnd(period), asOf],
  );
  const settled = await reevaluate(db, ids.rows.map((r) => r.setl_id), asOf, gw);

  // Institution-periods with owed direct settlements, and those with a DECLARATION_MISSING still open
  // (so one that no longer applies is resolved even when nothing is owed any more).
  const decl = await db.query<DeclarationKey>(
    `SELECT DISTINCT fixmedins_code, insurer_code, period FROM settlement_records
      WHERE insuplc_admdvs LIKE $1 || '%' AND period = $2 AND status = 'valid' AND setl_mode = 'direct' AND hifob_pay > 0
     UNION
     SELECT fixmedins_code, insurer_code, period FROM discrepancies
      WHERE code = 'DECLARATION_MISSING' AND status <> 'resolved' AND admdvs LIKE $1 || '%' AND period = $2 AND fixmedins_code IS NOT NULL`,
    [admdvsPrefix, period],
  );
  const declared = await reevaluateDeclarations(db, decl.rows, asOf, gw);
  gw.log.info({ admdvs: admdvsPrefix, period, as_of: asOf.toISOString(), settlements: settled.evaluated, declarations: declared.evaluated }, 'matching sweep done');
  return { settlements: settled.evaluated, declarations: declared.evaluated };
}
