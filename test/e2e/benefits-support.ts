/** Helpers shared by the benefit e2e tests: settlement builders per region and waiting for the audit. */
import type { Settlement } from '../../src/schemas/types';
import type { TestGateway } from '../support/test-gateway';
import type { TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';

export interface Spec {
  setl_id: string;
  psn_no: string;
  setl_time: string;
  /** Large-expense entries (fund_pay_type 330100): inscp_scp_amt per seg (undefined seg = default). */
  bases: Array<{ amount: string; seg?: string }>;
  hifob_pay: string;
  over?: Partial<Settlement>;
}

/** A settlement whose only interesting parts are its large-expense base and the recorded hifob_pay. */
export function record(admdvs: string, insurer: string, fixmedins: string, s: Spec): Settlement {
  return fx.settlement({
    setl_id: s.setl_id,
    mdtrt_id: `M-${s.setl_id}`,
    psn_no: s.psn_no,
    setl_time: s.setl_time,
    insuplc_admdvs: admdvs,
    mdtrtarea_admvs: admdvs,
    fixmedins_code: fixmedins,
    insurer_code: insurer,
    hifob_pay: s.hifob_pay,
    setldetail: [
      { fund_pay_type: '310100', inscp_scp_amt: '180000.00', fund_payamt: '180000.00' },
      ...s.bases.map((b) => ({
        fund_pay_type: '330100',
        inscp_scp_amt: b.amount,
        fund_payamt: s.hifob_pay,
        ...(b.seg ? { seg: b.seg } : {}),
      })),
    ],
    ...s.over,
  });
}

export const dehong = (s: Spec) => record('533102', 'PICC_DH', 'H53310200001', s);
export const district = (s: Spec) => record('999901', 'PICC_DH', 'H99990100001', s);
export const ulanqab = (s: Spec) => record('150902', 'PICC_WLCB', 'H15090200001', s);

/** Posts a feed as the agency and waits until the messages and the benefit audit jobs are done. */
export async function feed(t: TestGateway, settlements: Settlement[], as: TestClientName = 'agency'): Promise<string> {
  const r = await t.post('/v1/agency/settlements', { settlements }, as);
  if (r.status !== 202) throw new Error(`feed refused: ${r.status} ${JSON.stringify(r.data)}`);
  await auditDone(t);
  return r.data.message_id as string;
}

/** t.drain() waits for the messages; the 'benefits' queue jobs are separate, so wait for them too. */
export async function auditDone(t: TestGateway, timeoutMs = 30_000): Promise<void> {
  await t.drain(timeoutMs);
  const q = t.gw.queues.get('benefits');
  const until = Date.now() + timeoutMs;
  for (;;) {
    const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed');
    if (c.failed) throw new Error(`${c.failed} benefit audit job(s) failed`);
    if (!c.waiting && !c.active && !c.delayed && !c.prioritized) return;
    if (Date.now() > until) throw new Error('benefit audit jobs still pending');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface CaseRow {
  id: string;
  code: string;
  status: string;
  resolution: string | null;
  subject_key: string;
  group_key: string;
  admdvs: string;
  insurer_code: string;
  fixmedins_code: string | null;
  period: string;
  setl_id: string | null;
  expected_amount: string;
  actual_amount: string;
  difference: string;
  detail: string;
  evidence: Record<string, unknown>;
  reopens: string | null;
}

/** The benefit cases (both codes) of a subject, oldest first. */
export async function cases(t: TestGateway, subjectKey: string): Promise<CaseRow[]> {
  const { rows } = await t.gw.db.query<CaseRow>(
    `SELECT id, code, status, resolution, subject_key, group_key, admdvs, insurer_code, fixmedins_code, period, setl_id,
            expected_amount, actual_amount, difference, detail, evidence, reopens
       FROM discrepancies WHERE subject_key = $1 AND code IN ('BENEFIT_RULE_DEVIATION', 'ANNUAL_CAP_EXCEEDED') ORDER BY detected_at, id`,
    [subjectKey],
  );
  return rows;
}

export const open = (rows: CaseRow[]) => rows.filter((r) => r.status !== 'resolved');
