/**
 * GET /v1/settlements/{setl_id} (spec §5): the agency record with its loop computed live as of now
 * (so `overdue` shows without waiting for a sweep), the payment lines and recoveries naming it, its
 * discrepancies, and — when the benefit module provides it — its benefit explanation.
 *
 * Scope: the owing insurer, the settlement's institution, an agency whose prefix covers its pooling
 * region, or ops; anyone else gets the same 404 as for an unknown id (existence is not disclosed).
 * certno and psn_name are masked for every role but the agency (the data's owner). An institution
 * sees a payment made to another payee without its bank_txn_no and pay_amount, and every party sees
 * of a case's evidence only its own rows (issue 13).
 */
import { Router } from 'express';
import type { Db } from '../db/db';
import type { RegionPolicies } from '../benefits';
import type { WorkCalendar } from '../deadlines/calendar';
import type { Client, ClientRegistry } from '../http/clients';
import { LOOP_READERS, inScope, requireBearer, requireRole, scopeFilter } from '../http/auth';
import { notFound } from '../http/problem';
import { maskCertno, maskName } from '../logging/logger';
import { casesOfSettlement } from '../discrepancies/discrepancy-queries';
import { scopedDiscrepancyViews } from '../discrepancies/evidence-scope';
import { loadSettlementInputs } from '../ledger/fact-loader';
import { evaluate } from '../matching/matching-service';
import { toCstIso } from '../time';
import { loadPaymentLines, loadRecordRows, loadRecoveryViews } from '../ledger/settlement-read-model';
import { paymentLinesFor, recordView } from './settlement-view';

export interface SettlementRouteDeps {
  db: Db;
  clients: ClientRegistry;
  now: () => number;
  regions: Pick<RegionPolicies, 'loopParamsFor'>;
  calendar: WorkCalendar;
  /** The benefit module's view of a settlement (expected vs. recorded hifob_pay, explanation); included when given. */
  benefitView?: (setlId: string) => Promise<unknown>;
}

const SETL_ID = /^[^\u0000-\u001f]{1,30}$/u;

export function settlementsRouter(deps: SettlementRouteDeps): Router {
  const r = Router();
  r.get('/v1/settlements/:setl_id', requireBearer(deps.clients), requireRole(...LOOP_READERS), async (req, res) => {
    const client = res.locals.client as Client;
    const setlId = String(req.params.setl_id);
    const rows = SETL_ID.test(setlId) ? await loadRecordRows(deps.db, setlId) : [];
    const rec = rows[0];
    if (
      !rec ||
      !inScope(client, {
        insurer_code: rec.insurer_code,
        fixmedins_code: rec.fixmedins_code,
        admdvs: rec.insuplc_admdvs,
      })
    ) {
      throw notFound({ en: 'no such settlement', zh: '没有该结算记录' });
    }
    const asOf = new Date(deps.now());
    const input = (await loadSettlementInputs(deps.db, [setlId])).get(setlId)!;
    const loop = evaluate(input, asOf, deps).loop;
    // An insurer sees only its own payments and recoveries, even on a settlement it owes.
    const insurers = client.role === 'insurer' ? client.scope : undefined;
    const scope = scopeFilter(client);
    const cases = await casesOfSettlement(deps.db, setlId, scope);
    const benefit = deps.benefitView ? await deps.benefitView(setlId) : undefined;
    res.json({
      ...recordView(rows, client.role === 'agency' ? null : { certno: maskCertno, name: maskName }),
      loop: loop && {
        status: loop.status,
        owed: loop.owed.toString(),
        paid: loop.paid.toString(),
        rejected: loop.rejected.toString(),
        recovered: loop.recovered.toString(),
        outstanding: loop.outstanding.toString(),
        due_date: loop.due_date,
        due_at: toCstIso(loop.due_at),
        ...(loop.closed_at ? { closed_at: toCstIso(loop.closed_at) } : {}),
      },
      // An institution sees payments made to others without their bank details; a case's evidence
      // shows each party its own rows (issue 13).
      payments: paymentLinesFor(await loadPaymentLines(deps.db, setlId, insurers), client),
      recoveries: await loadRecoveryViews(deps.db, setlId, insurers),
      discrepancies: await scopedDiscrepancyViews(deps.db, cases, client),
      ...(benefit !== undefined ? { benefit } : {}),
    });
  });
  return r;
}
