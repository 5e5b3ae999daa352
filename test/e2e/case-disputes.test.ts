/**
 * The parties around a case (spec §10, issue 18 item 1), end to end on a real gateway: an insurer
 * disputes an UNDERPAID case with evidence, the agency rejects the dispute, the insurer pays the rest
 * and the case resolves by itself; each step is in the case's history and in the audit chain, which
 * verifies; both sides' subscribers got a signed notification (receivers on loopback, checked with the
 * public standardwebhooks library); another insurer gets 404 on the case whatever it tries. Also: bad
 * answers are 4xx naming the JSON path, and a dispute upheld resolves the case by hand, which stays
 * resolved while its cause is unchanged.
 */
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import * as fx from '../support/fixtures';
import { verifyAudit } from '../../src/audit/audit-trail';
import { syncGroup } from '../../src/discrepancies/case-store';
import {
  ALLOW_RECEIVERS_ENV,
  api,
  finding,
  startReceiver,
  subscribe,
  until,
  type Receiver,
  type Received,
} from './notifications-support';

jest.setTimeout(120_000);

let t: TestGateway;
let opsHook: Receiver, insurerHook: Receiver;
let opsSub: { id: string; secret: string }, insurerSub: { id: string; secret: string };

beforeAll(async () => {
  t = await startTestGateway('case-disputes', { env: ALLOW_RECEIVERS_ENV });
  opsHook = await startReceiver();
  insurerHook = await startReceiver();
  opsSub = await subscribe(t, { url: opsHook.url, format: 'json' }, 'ops');
  insurerSub = await subscribe(t, { url: insurerHook.url, format: 'json' }, 'insurerA');
});

afterAll(async () => {
  await opsHook?.close();
  await insurerHook?.close();
  await t?.close();
});

/** The deliveries of one event type at a receiver, each verified against the subscriber's secret. */
function eventsAt(hook: Receiver, secret: string, type: string): Received[] {
  return hook.received
    .filter((r) => r.json?.type === type)
    .map((r) => {
      // Throws when the signature does not verify (the way a subscriber's library checks it).
      new Webhook(secret).verify(r.body, {
        'webhook-id': String(r.headers['webhook-id']),
        'webhook-timestamp': String(r.headers['webhook-timestamp']),
        'webhook-signature': String(r.headers['webhook-signature']),
      });
      return r;
    });
}

async function waitForEvent(hook: Receiver, secret: string, type: string, caseId: string): Promise<Received> {
  let hit: Received | undefined;
  await until(
    () => {
      hit = eventsAt(hook, secret, type).find((r) => r.json.data.id === caseId);
      return Boolean(hit);
    },
    30_000,
    `${type} of ${caseId}`,
  );
  return hit!;
}

const evidence = Buffer.concat([Buffer.from('%PDF-1.4\n'), crypto.randomBytes(2048), Buffer.from('\n%%EOF\n')]);

describe('an insurer disputes an UNDERPAID case, the agency rejects, the insurer pays', () => {
  let caseId: string;
  let attachmentId: string;

  it('raises UNDERPAID when the insurer pays 1500.00 of 2000.00', async () => {
    const s = fx.settlement({
      setl_id: 'SD-1',
      mdtrt_id: 'M-SD-1',
      psn_no: 'P-SD-1',
      hifob_pay: '2000.00',
      setldetail: undefined,
    });
    expect((await t.post('/v1/agency/settlements', { settlements: [s] }, 'agency')).status).toBe(202);
    const pay = fx.payment({
      payment_id: 'PAY-SD-1',
      bank_txn_no: 'BK-SD-1',
      pay_amount: '1500.00',
      lines: [{ setl_id: 'SD-1', paid_amount: '1500.00' }],
    });
    expect((await t.post('/v1/insurer-payments', pay, 'insurerA')).status).toBe(202);
    await t.drain();
    await until(
      async () => {
        const r = await t.get('/v1/discrepancies?code=UNDERPAID&setl_id=SD-1&status=open', 'ops');
        caseId = r.data.items?.[0]?.id;
        return Boolean(caseId);
      },
      30_000,
      'UNDERPAID on SD-1',
    );
  });

  it('when another insurer reads, comments on or disputes the case, then it is 404 each time', async () => {
    expect((await t.get(`/v1/discrepancies/${caseId}`, 'insurerB')).status).toBe(404);
    const comment = await t.post(`/v1/discrepancies/${caseId}/comment`, { note: 'not ours' }, 'insurerB');
    expect(comment.status).toBe(404);
    const dispute = await t.post(`/v1/discrepancies/${caseId}/dispute`, { reason_code: 'D01', note: 'x' }, 'insurerB');
    expect(dispute.status).toBe(404);
    expect(
      (await api(t, 'post', `/v1/discrepancies/${caseId}/comment`, 'hospital2', { note: 'not ours either' })).status,
    ).toBe(404);
    expect(
      (await api(t, 'post', `/v1/discrepancies/${caseId}/dispute`, 'insurerB', { reason_code: 'D01' })).status,
    ).toBe(404);
  });

  it('the insurer disputes with a signed request and a file: the case stays open and shows the dispute', async () => {
    const r = await t.post(
      `/v1/discrepancies/${caseId}/dispute`,
      {
        reason_code: 'D01',
        note: '余款 500.00 已于 2025-04-18 线下转账，见回单',
        attachments: [{ filename: '回单-20250418.pdf', content_base64: evidence.toString('base64') }],
      },
      'insurerA',
    );
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({
      id: caseId,
      status: 'open',
      dispute: {
        status: 'open',
        reason_code: 'D01',
        note: '余款 500.00 已于 2025-04-18 线下转账，见回单',
        by: 'picc-dh',
      },
    });
    const sha = crypto.createHash('sha256').update(evidence).digest('hex');
    expect(r.data.dispute.attachments).toEqual([
      expect.objectContaining({
        filename: '回单-20250418.pdf',
        content_type: 'application/pdf',
        bytes: evidence.length,
        sha256: sha,
      }),
    ]);
    attachmentId = r.data.dispute.attachments[0].id;
    expect(r.data.history.at(-1)).toMatchObject({
      action: 'disputed',
      actor: 'picc-dh',
      data: { reason_code: 'D01', attachments: [expect.objectContaining({ sha256: sha })] },
    });
    // A second dispute while this one is open is a conflict.
    expect((await t.post(`/v1/discrepancies/${caseId}/dispute`, { reason_code: 'D02' }, 'insurerA')).status).toBe(409);
  });

  it("the file is stored as sent, readable by the case's parties and the agency, 404 to another insurer", async () => {
    const path = `/v1/discrepancies/${caseId}/attachments/${attachmentId}`;
    for (const who of ['insurerA', 'agency', 'hospital1', 'ops'] as const) {
      const r = await api(t, 'get', path, who);
      expect(r.status).toBe(200);
    }
    const raw = await (
      await import('axios')
    ).default.get(`${t.baseUrl}${path}`, {
      responseType: 'arraybuffer',
      headers: { authorization: 'Bearer tok-picc-dh-0001' },
    });
    expect(Buffer.from(raw.data).equals(evidence)).toBe(true);
    expect(raw.headers['content-disposition']).toMatch(/^attachment;/);
    expect((await api(t, 'get', path, 'insurerB')).status).toBe(404);
  });

  it('the agency and ops side is told of the dispute, signed; the insurer is not told of its own step', async () => {
    const hit = await waitForEvent(opsHook, opsSub.secret, 'discrepancy.disputed', caseId);
    expect(hit.json.data).toMatchObject({
      id: caseId,
      code: 'UNDERPAID',
      step: {
        action: 'disputed',
        by: 'picc-dh',
        reason_code: 'D01',
        attachments: [expect.objectContaining({ filename: '回单-20250418.pdf' })],
      },
    });
    expect(eventsAt(insurerHook, insurerSub.secret, 'discrepancy.disputed')).toEqual([]);
  });

  it('the institution comments; the agency rejects the dispute with a note: the case stays open', async () => {
    const c = await t.post(`/v1/discrepancies/${caseId}/comment`, { note: '本院未收到线下转账' }, 'hospital1');
    expect(c.status).toBe(200);
    // The insurer may not decide its own dispute.
    expect(
      (await t.post(`/v1/discrepancies/${caseId}/dispute-decision`, { decision: 'upheld', note: 'self' }, 'insurerA'))
        .status,
    ).toBe(403);
    const r = await t.post(
      `/v1/discrepancies/${caseId}/dispute-decision`,
      { decision: 'rejected', note: '医院未收到款项，回单金额与结算不符' },
      'agency',
    );
    expect(r.status).toBe(200);
    expect(r.data).toMatchObject({
      status: 'open',
      dispute: {
        status: 'rejected',
        reason_code: 'D01',
        decision_note: '医院未收到款项，回单金额与结算不符',
        decided_by: 'dehong-agency',
      },
    });
    expect(
      (await t.post(`/v1/discrepancies/${caseId}/dispute-decision`, { decision: 'upheld', note: 'again' }, 'agency'))
        .status,
    ).toBe(409);
  });

  it('the insurer is told why, signed', async () => {
    const hit = await waitForEvent(insurerHook, insurerSub.secret, 'discrepancy.dispute_rejected', caseId);
    expect(hit.json.data.step).toMatchObject({
      action: 'dispute_rejected',
      by: 'dehong-agency',
      decision: 'rejected',
      note: '医院未收到款项，回单金额与结算不符',
    });
    // The institution's comment reached the insurer's callback too (the other side of it).
    await waitForEvent(insurerHook, insurerSub.secret, 'discrepancy.commented', caseId);
  });

  it('the insurer pays the 500.00 through the signed API, and the case resolves by itself', async () => {
    const pay = fx.payment({
      payment_id: 'PAY-SD-2',
      bank_txn_no: 'BK-SD-2',
      pay_time: '2025-04-25T10:00:00+08:00',
      pay_amount: '500.00',
      lines: [{ setl_id: 'SD-1', paid_amount: '500.00' }],
    });
    expect((await t.post('/v1/insurer-payments', pay, 'insurerA')).status).toBe(202);
    await t.drain();
    let data: any;
    await until(
      async () => {
        data = (await t.get(`/v1/discrepancies/${caseId}`, 'insurerA')).data;
        return data.status === 'resolved';
      },
      30_000,
      'the case resolved',
    );
    expect(data).toMatchObject({ status: 'resolved', resolution: 'auto' });
    const actions = data.history.map((h: { action: string }) => h.action);
    expect(actions).toEqual(['opened', 'disputed', 'commented', 'dispute_rejected', 'auto_resolved']);
    expect(data.history.map((h: { actor: string }) => h.actor).slice(1, 4)).toEqual(['picc-dh', 'h1', 'dehong-agency']);
    const audit = await verifyAudit(t.gw.db);
    expect(audit.brokenAt).toBeUndefined();
    expect(audit.checked).toBeGreaterThanOrEqual(5);
  });
});

describe('bad answers are 4xx naming the JSON path', () => {
  let caseId: string;
  beforeAll(async () => {
    const f = finding({
      code: 'UNDERPAID',
      severity: 'high',
      difference: '-10.00',
      expected_amount: '100.00',
      actual_amount: '90.00',
    });
    caseId = (await t.gw.db.tx((q) => syncGroup(q, f.subject_key, [f], new Date()))).opened[0]!;
  });

  const path = (r: { data: { errors?: { path: string }[] } }) => r.data.errors?.map((e) => e.path);

  it('an unknown reason code', async () => {
    const r = await t.post(`/v1/discrepancies/${caseId}/dispute`, { reason_code: 'D05', note: 'x' }, 'insurerA');
    expect(r.status).toBe(422);
    expect(path(r)).toEqual(['/reason_code']);
  });

  it('D99 without a note', async () => {
    const r = await t.post(`/v1/discrepancies/${caseId}/dispute`, { reason_code: 'D99' }, 'insurerA');
    expect(r.status).toBe(422);
    expect(path(r)).toEqual(['/note']);
    expect(
      (await t.post(`/v1/discrepancies/${caseId}/dispute`, { reason_code: 'D99', note: '   ' }, 'insurerA')).status,
    ).toBe(422);
  });

  it('attachments over 5 MiB in all', async () => {
    const half = Buffer.alloc(2.5 * 1024 * 1024 + 1, 7).toString('base64');
    const r = await t.post(
      `/v1/discrepancies/${caseId}/dispute`,
      {
        reason_code: 'D01',
        attachments: [
          { filename: 'a.pdf', content_base64: half },
          { filename: 'b.pdf', content_base64: half },
        ],
      },
      'insurerA',
    );
    expect(r.status).toBe(422);
    expect(path(r)).toEqual(['/attachments']);
    // Exactly 5 MiB is allowed (through the bearer path this time), and nothing was stored by the refusals.
    const five = Buffer.alloc(5 * 1024 * 1024, 1).toString('base64');
    const ok = await api(t, 'post', `/v1/discrepancies/${caseId}/dispute`, 'insurerA', {
      reason_code: 'D02',
      attachments: [{ filename: 'audit.zip', content_base64: five }],
    });
    expect(ok.status).toBe(200);
    expect(ok.data.dispute).toMatchObject({
      status: 'open',
      reason_code: 'D02',
      attachments: [expect.objectContaining({ bytes: 5 * 1024 * 1024 })],
    });
    expect(ok.data.history.filter((h: { action: string }) => h.action === 'disputed')).toHaveLength(1);
  });

  it('bad base64, a file name with a folder, an unknown member, a decision without a note', async () => {
    const f = finding({ code: 'UNDERPAID', severity: 'high' });
    const id = (await t.gw.db.tx((q) => syncGroup(q, f.subject_key, [f], new Date()))).opened[0]!;
    const bad = await t.post(
      `/v1/discrepancies/${id}/dispute`,
      { reason_code: 'D01', attachments: [{ filename: 'x.pdf', content_base64: 'not base64!' }] },
      'insurerA',
    );
    expect(bad.status).toBe(422);
    expect(path(bad)).toEqual(['/attachments/0/content_base64']);
    const unpadded = await t.post(
      `/v1/discrepancies/${id}/dispute`,
      { reason_code: 'D01', attachments: [{ filename: 'x.pdf', content_base64: 'QUJD' + 'RA' }] },
      'insurerA',
    );
    expect(path(unpadded)).toEqual(['/attachments/0/content_base64']);
    const folder = await t.post(
      `/v1/discrepancies/${id}/dispute`,
      { reason_code: 'D01', attachments: [{ filename: '../etc/passwd', content_base64: 'QUJD' }] },
      'insurerA',
    );
    expect(path(folder)).toEqual(['/attachments/0/filename']);
    const extra = await t.post(`/v1/discrepancies/${id}/dispute`, { reason_code: 'D01', amount: '1.00' }, 'insurerA');
    expect(path(extra)).toEqual(['/amount']);
    const decision = await t.post(`/v1/discrepancies/${id}/dispute-decision`, { decision: 'maybe' }, 'ops');
    expect(decision.status).toBe(422);
    expect(path(decision)).toEqual(['/decision', '/note']);
    expect(
      (await t.post(`/v1/discrepancies/${id}/comment`, {}, 'insurerA')).data.errors.map(
        (e: { path: string }) => e.path,
      ),
    ).toEqual(['/note']);
    // An id that is no uuid names no case.
    expect((await t.post('/v1/discrepancies/not-a-case/comment', { note: 'x' }, 'ops')).status).toBe(404);
  });
});

describe('a dispute upheld', () => {
  it('resolves the case by hand with the note, and it stays resolved while its cause is unchanged; the run summary counted it as disputed', async () => {
    const f = finding({
      code: 'UNDERPAID',
      severity: 'high',
      admdvs: '533102',
      period: '2025-02',
      difference: '-300.00',
      expected_amount: '1300.00',
      actual_amount: '1000.00',
    });
    const group = `answers:${f.setl_id}`;
    const id = (await t.gw.db.tx((q) => syncGroup(q, group, [f], new Date()))).opened[0]!;
    const d = await t.post(
      `/v1/discrepancies/${id}/dispute`,
      { reason_code: 'D04', note: '申报金额与经办记录一致，差额为起付线调整' },
      'hospital1',
    );
    expect(d.status).toBe(200);

    // A run of the region-period reports the disputed case apart from the open ones.
    const run = await api(t, 'post', '/v1/reconciliations', 'ops', { admdvs: '5331', period: '2025-02' });
    expect(run.status).toBe(202);
    let summary: any;
    await until(
      async () => {
        const r = await t.get(`/v1/reconciliations/${run.data.run_id}`, 'ops');
        summary = r.data.summary;
        return r.data.status === 'completed' || r.data.status === 'failed';
      },
      60_000,
      'the run',
    );
    expect(summary.discrepancies).toMatchObject({ disputed: { UNDERPAID: 1 } });
    expect(summary.discrepancies.open.UNDERPAID ?? 0).toBe(0);

    const up = await api(t, 'post', `/v1/discrepancies/${id}/dispute-decision`, 'ops', {
      decision: 'upheld',
      note: '核实无误，按申报办结',
    });
    expect(up.status).toBe(200);
    expect(up.data).toMatchObject({
      status: 'resolved',
      resolution: 'manual',
      note: '核实无误，按申报办结',
      dispute: { status: 'upheld', decided_by: 'ops' },
    });
    expect(up.data.history.map((h: { action: string }) => h.action)).toEqual(['opened', 'disputed', 'dispute_upheld']);

    // The same cause found again: nothing reopens. A changed cause is a new case.
    const same = await t.gw.db.tx((q) => syncGroup(q, group, [f], new Date()));
    expect(same.opened).toEqual([]);
    expect((await t.get(`/v1/discrepancies/${id}`, 'ops')).data.status).toBe('resolved');
    const changed = await t.gw.db.tx((q) =>
      syncGroup(q, group, [{ ...f, difference: '-400.00', actual_amount: '900.00' }], new Date()),
    );
    expect(changed.opened).toHaveLength(1);
    expect((await t.get(`/v1/discrepancies/${changed.opened[0]}`, 'ops')).data.reopens).toBe(id);
    // The institution's side (no subscriber of its own) is the one that disputed; the ops channel heard the dispute.
    await waitForEvent(opsHook, opsSub.secret, 'discrepancy.disputed', id);
    expect((await verifyAudit(t.gw.db)).brokenAt).toBeUndefined();
  });
});
