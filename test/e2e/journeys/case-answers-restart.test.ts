/**
 * Journey (issue 18, the parties around a case) on `npm start`'s embedded database: a past month
 * (March 2025) loaded today, an insurer underpays and rejects, a run reconciles it with arrears by
 * age; the insurer disputes an open case with a file, the institution comments; another insurer,
 * another institution and another region's agency get 404 on the case whatever they try, bad answers
 * are 422 naming the field and change nothing. Ctrl-C (SIGINT), `npm start` again: the case with its
 * dispute and the file's bytes, the run history with its ageing, the violation report as JSON, CSV
 * and XLSX read back; the agency rejects the dispute. Then kill -9 in the middle of a stream of
 * disputes with files: every one answered 200 is on its case after the restart.
 */
import crypto from 'node:crypto';
import axios from 'axios';
import * as ExcelJS from 'exceljs';
import { payment, recovery, settlement } from '../../support/fixtures';
import { TEST_CLIENTS, type TestClientName } from '../../support/test-clients';
import { journeyEnv, startGateway, until, waitProcessed, type GatewayProc, type JourneyEnv } from './journey-support';

// Two embedded-database starts and the work between them: minutes on a loaded machine.
jest.setTimeout(300_000);

const H2 = 'H53310200002';
let env: JourneyEnv;
beforeAll(async () => {
  env = await journeyEnv('case-answers', 'embedded');
});
afterAll(async () => {
  await env.cleanup();
});

const download = (gw: GatewayProc, p: string, as: TestClientName) =>
  axios.get(`${gw.url}${p}`, {
    responseType: 'arraybuffer',
    validateStatus: () => true,
    headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` },
  });
const pdf = (seed: string) =>
  Buffer.concat([Buffer.from(`%PDF-1.4\n% ${seed}\n`), crypto.randomBytes(4096), Buffer.from('\n%%EOF\n')]);
const paths = (r: { data: { errors?: { path: string }[] } }) => (r.data.errors ?? []).map((e) => e.path);

async function openCase(gw: GatewayProc, q: string): Promise<string> {
  return until(
    `a case ${q}`,
    async () => (await gw.get(`/v1/discrepancies?${q}&status=open`, 'ops')).data.items?.[0]?.id as string | undefined,
  );
}

let caseId = '';
let cpicCase = '';
let runId = '';
/** The gateway after the restart: the kill -9 journey goes on with it (a start of the embedded database costs seconds). */
let running: GatewayProc | undefined;
const evidence = pdf('回单');

test('answers on a case through `npm start`, Ctrl-C, `npm start` again: the dispute, its file, the run history and the violation report read back', async () => {
  const gw = await startGateway(env);
  await gw.waitReady();
  const feed = await gw.post(
    '/v1/agency/settlements',
    {
      settlements: [
        settlement({ setl_id: 'CA-1' }),
        settlement({ setl_id: 'CA-2', mdtrt_id: 'M-CA-2', psn_no: 'P-CA-2', fixmedins_code: H2 }),
        settlement({ setl_id: 'CA-3', mdtrt_id: 'M-CA-3', psn_no: 'P-CA-3', insurer_code: 'CPIC_DH' }),
      ],
    },
    'agency',
  );
  expect(feed.status).toBe(202);
  const ids = [feed.data.message_id];
  for (const [p, body, as] of [
    [
      '/v1/insurer-payments',
      payment({ payment_id: 'CA-P1', pay_amount: '80000.00', lines: [{ setl_id: 'CA-1', paid_amount: '80000.00' }] }),
      'insurerA',
    ],
    [
      '/v1/insurer-payments',
      payment({
        payment_id: 'CA-P2',
        bank_txn_no: 'BK-CA-P2',
        payee_id: H2,
        pay_amount: '85000.00',
        lines: [{ setl_id: 'CA-2', paid_amount: '85000.00', rejected_amount: '5000.00', reject_reason_code: 'R01' }],
      }),
      'insurerA',
    ],
    [
      '/v1/insurer-payments',
      payment({
        insurer_code: 'CPIC_DH',
        payment_id: 'CA-P3',
        bank_txn_no: 'BK-CA-P3',
        pay_amount: '80000.00',
        lines: [{ setl_id: 'CA-3', paid_amount: '80000.00', rejected_amount: '10000.00', reject_reason_code: 'R02' }],
      }),
      'insurerB',
    ],
    [
      '/v1/recoveries',
      recovery({ insurer_code: 'CPIC_DH', recovery_id: 'CA-R1', setl_id: 'CA-3', amount: '1000.00' }),
      'insurerB',
    ],
  ] as const) {
    const r = await gw.post(p, body, as);
    expect(r.status).toBe(202);
    ids.push(r.data.message_id);
  }
  await waitProcessed(gw, ids, 'ops');
  caseId = await openCase(gw, 'code=UNDERPAID&setl_id=CA-1');
  cpicCase = await openCase(gw, 'insurer_code=CPIC_DH');

  // Bad answers: 422 naming the field, and the case unchanged.
  const D = `/v1/discrepancies/${caseId}/dispute`;
  const bad: [unknown, string][] = [
    [{ reason_code: 'D99' }, '/note'],
    [{ reason_code: 'D07' }, '/reason_code'],
    [
      { reason_code: 'D01', attachments: [{ filename: '回单.pdf', content_base64: 'JVBERi0x$$' }] },
      '/attachments/0/content_base64',
    ],
    [
      { reason_code: 'D01', attachments: [{ filename: '../../etc/passwd', content_base64: 'AAAA' }] },
      '/attachments/0/filename',
    ],
    [
      {
        reason_code: 'D01',
        attachments: [{ filename: 'big.bin', content_base64: Buffer.alloc(5.5 * 1024 * 1024).toString('base64') }],
      },
      '/attachments',
    ],
    [{ reason_code: 'D01', attachments: { filename: 'x' } }, '/attachments'],
  ];
  for (const [body, at] of bad) {
    const r = await gw.post(D, body, 'insurerA');
    expect({ status: r.status, paths: paths(r) }).toEqual({ status: 422, paths: [at] });
  }
  expect(paths(await gw.post(`/v1/discrepancies/${caseId}/comment`, { note: 'x'.repeat(2001) }, 'hospital1'))).toEqual([
    '/note',
  ]);
  expect(
    (await gw.post(`/v1/discrepancies/${caseId}/dispute-decision`, { decision: 'upheld', note: 'x' }, 'agency')).status,
  ).toBe(409);
  // Reaching outside: another insurer, another institution, another region's agency — 404, as a read.
  expect((await gw.post(D, { reason_code: 'D01' }, 'insurerB')).status).toBe(404);
  expect((await gw.post(`/v1/discrepancies/${caseId}/comment`, { note: 'ours?' }, 'hospital2')).status).toBe(404);
  expect((await gw.post(`/v1/discrepancies/${caseId}/comment`, { note: 'ours?' }, 'agencyOther')).status).toBe(404);
  expect((await gw.post(`/v1/discrepancies/${cpicCase}/dispute`, { reason_code: 'D01' }, 'insurerA')).status).toBe(404);
  expect((await gw.post(D, { reason_code: 'D01' }, 'agency')).status).toBe(403);
  const untouched = await gw.get(`/v1/discrepancies/${caseId}`, 'ops');
  expect(untouched.data.dispute ?? null).toBeNull();
  expect(untouched.data.history.map((h: { action: string }) => h.action)).toEqual(['opened']);

  const disputed = await gw.post(
    D,
    {
      reason_code: 'D01',
      note: '余款已线下转账',
      attachments: [{ filename: '回单-20250418.pdf', content_base64: evidence.toString('base64') }],
    },
    'insurerA',
  );
  expect(disputed.status).toBe(200);
  expect((await gw.post(`/v1/discrepancies/${caseId}/comment`, { note: '已收到 80000.00' }, 'hospital1')).status).toBe(
    200,
  );

  // The month, reconciled as of 20 May 2025 (arrears 11–30 working days past the due date).
  const run = await axios.post(
    `${gw.url}/v1/reconciliations`,
    { admdvs: '5331', period: '2025-03', as_of: '2025-05-20T00:00:00+08:00' },
    { headers: { authorization: `Bearer ${TEST_CLIENTS.ops.token}` }, validateStatus: () => true },
  );
  expect(run.status).toBe(202);
  runId = run.data.run_id;
  await until('the run', async () =>
    (await gw.get(`/v1/reconciliations/${runId}`, 'ops')).data.status === 'completed' ? true : undefined,
  );
  expect((await gw.stop('SIGINT', 15_000)).code).toBe(0);

  const again = await startGateway(env);
  await again.waitReady();
  const c = await again.get(`/v1/discrepancies/${caseId}`, 'insurerA');
  expect(c.data).toMatchObject({
    status: 'open',
    dispute: { status: 'open', reason_code: 'D01', note: '余款已线下转账', by: 'picc-dh' },
  });
  expect(c.data.history.map((h: { action: string }) => h.action)).toEqual(['opened', 'disputed', 'commented']);
  const att = c.data.dispute.attachments[0];
  expect(att).toMatchObject({
    filename: '回单-20250418.pdf',
    bytes: evidence.length,
    sha256: crypto.createHash('sha256').update(evidence).digest('hex'),
  });
  const file = await download(again, `/v1/discrepancies/${caseId}/attachments/${att.id}`, 'hospital1');
  expect(file.status).toBe(200);
  expect(Buffer.from(file.data).equals(evidence)).toBe(true);
  expect((await download(again, `/v1/discrepancies/${caseId}/attachments/${att.id}`, 'insurerB')).status).toBe(404);

  // Run history (newest first), the run's arrears by age, scoped.
  const history = await again.get('/v1/reconciliations?admdvs=5331', 'ops');
  expect(history.data.items.map((r: { run_id: string }) => r.run_id)).toEqual([runId]);
  expect((await again.get('/v1/reconciliations?admdvs=5331', 'agencyOther')).data.items).toEqual([]);
  expect(paths(await again.get('/v1/reconciliations?limit=0', 'ops'))).toEqual(['?limit']);
  const report = await again.get(`/v1/reconciliations/${runId}`, 'ops');
  const ageing = Object.fromEntries(
    report.data.insurers.map((i: { insurer_code: string; ageing: unknown }) => [i.insurer_code, i.ageing]),
  );
  expect(ageing.PICC_DH).toEqual({
    not_due: '0.00',
    d1_10: '0.00',
    d11_30: '10000.00',
    d31_60: '0.00',
    over_60: '0.00',
  });
  // CPIC_DH paid and rejected all it owed: nothing in arrears.
  expect(ageing.CPIC_DH).toEqual({ not_due: '0.00', d1_10: '0.00', d11_30: '0.00', d31_60: '0.00', over_60: '0.00' });
  expect(report.data.summary.discrepancies.disputed).toEqual({ UNDERPAID: 1 });
  // An insurer reads its own run rows only.
  expect(
    (await again.get(`/v1/reconciliations/${runId}`, 'insurerA')).data.insurers.map(
      (i: { insurer_code: string }) => i.insurer_code,
    ),
  ).toEqual(['PICC_DH']);

  // The violation report: each party its own rows, JSON, CSV and XLSX alike.
  const q = '/v1/reports/violations?from=2025-01&to=2025-12';
  const all = (await again.get(q, 'ops')).data.items;
  expect(
    all.map((r: { insurer_code: string; reason_code: string; rejected_amount: string }) => [
      r.insurer_code,
      r.reason_code,
      r.rejected_amount,
    ]),
  ).toEqual(
    expect.arrayContaining([
      ['PICC_DH', 'R01', '5000.00'],
      ['CPIC_DH', 'R02', '10000.00'],
    ]),
  );
  const mine = await again.get(`${q}&insurer_code=CPIC_DH`, 'insurerA');
  expect(mine.status === 200 ? mine.data.items : []).toEqual([]);
  expect(
    (await again.get(q, 'insurerA')).data.items.every((r: { insurer_code: string }) => r.insurer_code === 'PICC_DH'),
  ).toBe(true);
  expect(
    (await again.get(q, 'hospital2')).data.items.every((r: { fixmedins_code: string }) => r.fixmedins_code === H2),
  ).toBe(true);
  expect((await again.get(q, 'agencyOther')).data.items).toEqual([]);
  const csv = await again.get(`${q}&format=csv`, 'ops');
  expect(String(csv.data)).toContain('CPIC_DH,H53310200001,2025-04,R02,1,10000.00');
  const xlsx = await download(again, `${q}&format=xlsx`, 'ops');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(xlsx.data);
  expect(wb.worksheets.map((w) => w.name)).toEqual(['违规情况']);
  expect(paths(await again.get('/v1/reports/violations?from=2025-06&to=2025-01', 'ops'))).toEqual(['?to']);

  // The agency decides after the restart; the insurer is told why.
  const decided = await again.post(
    `/v1/discrepancies/${caseId}/dispute-decision`,
    { decision: 'rejected', note: '银行回单金额不符' },
    'agency',
  );
  expect(decided.status).toBe(200);
  expect(decided.data.dispute).toMatchObject({
    status: 'rejected',
    decision_note: '银行回单金额不符',
    decided_by: 'dehong-agency',
  });
  running = again;
});

test('kill -9 in the middle of a stream of disputes with files: every dispute answered 200 is on its case after `npm start`', async () => {
  // Had the first journey failed half-way, its gateway would still hold the data directory.
  if (!running) await Promise.all(env.procs.map((p) => p.kill9()));
  const gw = running ?? (await startGateway(env));
  await gw.waitReady();
  const N = 16;
  const feed = await gw.post(
    '/v1/agency/settlements',
    {
      settlements: Array.from({ length: N }, (_, i) =>
        settlement({ setl_id: `CK-${i}`, mdtrt_id: `M-CK-${i}`, psn_no: `P-CK-${i}` }),
      ),
    },
    'agency',
  );
  const pays = await Promise.all(
    Array.from({ length: N }, (_, i) =>
      gw.post(
        '/v1/insurer-payments',
        payment({
          payment_id: `CK-P${i}`,
          bank_txn_no: `BK-CK-${i}`,
          pay_amount: '80000.00',
          lines: [{ setl_id: `CK-${i}`, paid_amount: '80000.00' }],
        }),
        'insurerA',
      ),
    ),
  );
  await waitProcessed(gw, [feed.data.message_id, ...pays.map((p) => p.data.message_id)], 'ops');
  const cases = await until('the underpaid cases', async () => {
    const items = (await gw.get('/v1/discrepancies?code=UNDERPAID&status=open&limit=200', 'ops')).data.items.filter(
      (x: { setl_id: string }) => x.setl_id.startsWith('CK-'),
    );
    return items.length === N ? (items.map((x: { id: string }) => x.id) as string[]) : undefined;
  });
  const answered: { id: string; note: string; sha: string }[] = [];
  let next = 0;
  let killed = false;
  let gone = false;
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      while (!gone && next < N) {
        const i = next++;
        const file = pdf(`ck-${i}`);
        const note = `线下已付 ${i}`;
        try {
          const r = await gw.post(
            `/v1/discrepancies/${cases[i]}/dispute`,
            {
              reason_code: 'D01',
              note,
              attachments: [{ filename: `回单-${i}.pdf`, content_base64: file.toString('base64') }],
            },
            'insurerA',
            { timeoutMs: 20_000 },
          );
          if (r.status !== 200) throw new Error(`dispute ${i} answered ${r.status}: ${JSON.stringify(r.data)}`);
          answered.push({ id: cases[i]!, note, sha: crypto.createHash('sha256').update(file).digest('hex') });
          if (!killed && answered.length >= 6) {
            killed = true;
            await gw.kill9();
          }
        } catch (e) {
          if ((e as Error).message.startsWith('dispute')) throw e;
          gone = true;
        }
      }
    }),
  );
  expect(killed).toBe(true);

  const again = await startGateway(env);
  await again.waitReady();
  const lost = [];
  for (const a of answered) {
    const c = await again.get(`/v1/discrepancies/${a.id}`, 'insurerA');
    if (c.data.dispute?.note !== a.note || c.data.dispute?.attachments?.[0]?.sha256 !== a.sha) lost.push(a.id);
  }
  expect({ answered: answered.length >= 6, lost }).toEqual({ answered: true, lost: [] });
  // A dispute sent again is a conflict (one at a time), never a second one.
  expect(
    (
      await again.post(
        `/v1/discrepancies/${answered[0]!.id}/dispute`,
        { reason_code: 'D01', note: answered[0]!.note },
        'insurerA',
      )
    ).status,
  ).toBe(409);
  expect((await again.stop('SIGINT', 15_000)).code).toBe(0);
});
