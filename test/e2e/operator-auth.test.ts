/**
 * Operator actions take either credential (spec §2): the Standard Webhooks signature headers,
 * verified over the raw body with the same webhook-id replay rule as the inbound messages, or the
 * bearer token a console session rests on. The inbound messages of §3 stay signature-only.
 * Signed requests are signed with the public `standardwebhooks` library (test-gateway.ts).
 */
import axios from 'axios';
import crypto from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { sign } from '../../src/http/signature';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { api, finding, openCases } from './notifications-support';

let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('operator-auth', { workers: false });
});
afterAll(async () => {
  await t.close();
});

const run = (over: Record<string, unknown> = {}) => ({ admdvs: '5331', period: '2025-03', ...over });
const caseStatus = async (id: string) =>
  (await t.gw.db.query<{ status: string }>('SELECT status FROM discrepancies WHERE id = $1', [id])).rows[0]!.status;

describe('signed operator actions', () => {
  test('when ops posts a reconciliation signed the Standard Webhooks way, then the run is queued (202)', async () => {
    const r = await t.post('/v1/reconciliations', run(), 'ops');
    expect(r.status).toBe(202);
    expect(r.data).toMatchObject({ run_id: expect.any(String), admdvs: '5331', period: '2025-03' });
    const { rows } = await t.gw.db.query<{ requested_by: string }>(
      'SELECT requested_by FROM reconciliation_runs WHERE run_id = $1',
      [r.data.run_id],
    );
    expect(rows[0]!.requested_by).toBe('ops');
  });

  test('when the agency resolves a case with a signed request, then the case is resolved by that client', async () => {
    const [id] = await openCases(t, [finding()]);
    const r = await t.post(`/v1/discrepancies/${id}/resolve`, { note: '已核实，保险公司已退回多付金额' }, 'agency');
    expect(r.status).toBe(200);
    expect(r.data.status).toBe('resolved');
    const hist = await t.get(`/v1/discrepancies/${id}`, 'ops');
    expect(JSON.stringify(hist.data.history)).toContain(TEST_CLIENTS.agency.client_id);
  });

  test('when ops acknowledges a case signed with HMAC-SM3 (v1sm3), then it is acknowledged', async () => {
    const [id] = await openCases(t, [finding()]);
    const body = JSON.stringify({ note: 'looking into it' });
    const wid = `msg_${crypto.randomUUID()}`;
    const ts = Math.floor(Date.now() / 1000);
    const r = await t.post(`/v1/discrepancies/${id}/acknowledge`, null, 'ops', {
      raw: body,
      webhookId: wid,
      timestamp: new Date(ts * 1000),
      signature: sign(TEST_CLIENTS.ops.secret, wid, ts, body, 'v1sm3'),
    });
    expect(r.status).toBe(200);
    expect(await caseStatus(id!)).toBe('acknowledged');
  });

  test('when ops creates and then re-enables a subscriber with signed requests (the second without a body), then both succeed', async () => {
    const created = await t.post('/v1/subscribers', { url: 'https://hooks.example.com/ops', format: 'json' }, 'ops');
    expect(created.status).toBe(201);
    const enabled = await t.post(`/v1/subscribers/${created.data.id}/enable`, null, 'ops', { raw: '' });
    expect(enabled.status).toBe(200);
  });

  test("when a signed request's signature was made over another body, then 401 SIGNATURE_INVALID and the case is untouched", async () => {
    const [id] = await openCases(t, [finding()]);
    const wid = `msg_${crypto.randomUUID()}`;
    const now = new Date();
    const other = new Webhook(TEST_CLIENTS.ops.secret).sign(wid, now, JSON.stringify({ note: 'something else' }));
    const r = await t.post(`/v1/discrepancies/${id}/resolve`, { note: 'closing' }, 'ops', {
      webhookId: wid,
      timestamp: now,
      signature: other,
    });
    expect(r.status).toBe(401);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.data.type).toMatch(/signature-invalid$/);
    expect(await caseStatus(id!)).toBe('open');
  });

  test("when a signed request is signed with another client's secret, then 401", async () => {
    const r = await t.post('/v1/reconciliations', run(), 'ops', { secret: TEST_CLIENTS.agency.secret });
    expect(r.status).toBe(401);
  });

  test("when a signed request's timestamp is ten minutes old, then 401", async () => {
    const r = await t.post('/v1/reconciliations', run(), 'ops', { timestamp: new Date(Date.now() - 600_000) });
    expect(r.status).toBe(401);
    expect(r.data.type).toMatch(/stale-timestamp$/);
  });

  test('when an insurer (not an operator role) signs a reconciliation request correctly, then 403', async () => {
    const r = await t.post('/v1/reconciliations', run(), 'insurerA');
    expect(r.status).toBe(403);
    const resolve = await t.post(
      `/v1/discrepancies/${(await openCases(t, [finding()]))[0]}/resolve`,
      { note: 'x' },
      'hospital1',
    );
    expect(resolve.status).toBe(403);
  });

  test('when a signed agency request names a region outside its scope, then 403 as with a bearer', async () => {
    const r = await t.post('/v1/reconciliations', run({ admdvs: '4108' }), 'agency');
    expect(r.status).toBe(403);
  });

  test('when a webhook-id is replayed with another body, then 401 WEBHOOK_ID_REPLAYED; the same body again is a retransmission', async () => {
    const wid = `msg_${crypto.randomUUID()}`;
    const first = await t.post('/v1/reconciliations', run({ period: '2025-04' }), 'ops', { webhookId: wid });
    expect(first.status).toBe(202);
    const replay = await t.post('/v1/reconciliations', run({ period: '2025-05' }), 'ops', { webhookId: wid });
    expect(replay.status).toBe(401);
    expect(replay.data.type).toMatch(/webhook-id-replayed$/);
    const { rows } = await t.gw.db.query('SELECT 1 FROM reconciliation_runs WHERE period = $1', ['2025-05']);
    expect(rows).toHaveLength(0);
    const again = await t.post('/v1/reconciliations', run({ period: '2025-04' }), 'ops', { webhookId: wid });
    expect(again.status).toBe(202);
    expect(again.data.run_id).toBe(first.data.run_id);
  });

  test('when a resolve reuses the webhook-id of an inbound message with another body, then 401 (one replay record per client)', async () => {
    const wid = `msg_${crypto.randomUUID()}`;
    expect(
      (
        await t.post(
          '/v1/agency/disbursements',
          fx.disbursement({ disbursement_id: `D-${wid.slice(-12)}` }),
          'agency',
          { webhookId: wid },
        )
      ).status,
    ).toBe(202);
    const [id] = await openCases(t, [finding()]);
    const r = await t.post(`/v1/discrepancies/${id}/resolve`, { note: 'reuse' }, 'agency', { webhookId: wid });
    expect(r.status).toBe(401);
    expect(await caseStatus(id!)).toBe('open');
  });

  test('when a signed body is not JSON, then 400 with a problem document (after the signature is verified)', async () => {
    const r = await t.post('/v1/reconciliations', null, 'ops', { raw: '{"admdvs":' });
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toContain('application/problem+json');
  });
});

describe('bearer operator actions and the inbound messages', () => {
  test('when ops posts a reconciliation with its bearer token (the console), then the run is queued', async () => {
    const r = await api(t, 'post', '/v1/reconciliations', 'ops', run({ period: '2025-06' }));
    expect(r.status).toBe(202);
  });

  test('when the agency resolves with its bearer token, then the case is resolved', async () => {
    const [id] = await openCases(t, [finding()]);
    const r = await api(t, 'post', `/v1/discrepancies/${id}/resolve`, 'agency', { note: 'ok' });
    expect(r.status).toBe(200);
    expect(r.data.status).toBe('resolved');
  });

  test('when an operator action carries no credential at all, then 401 naming both ways', async () => {
    const r = await axios.post(`${t.baseUrl}/v1/reconciliations`, run(), { validateStatus: () => true });
    expect(r.status).toBe(401);
    expect(r.data.detail).toMatch(/Bearer/);
    expect(r.data.detail).toMatch(/webhook-signature/);
  });

  test('when an operator action carries an unknown bearer token, then 401', async () => {
    const r = await axios.post(`${t.baseUrl}/v1/reconciliations`, run(), {
      validateStatus: () => true,
      headers: { authorization: 'Bearer not-a-known-token' },
    });
    expect(r.status).toBe(401);
  });

  test('when an inbound message (§3) carries only a bearer token, then it is still refused (401)', async () => {
    const r = await axios.post(`${t.baseUrl}/v1/insurer-payments`, fx.payment({ payment_id: 'PAY-BEARER' }), {
      validateStatus: () => true,
      headers: { authorization: `Bearer ${TEST_CLIENTS.insurerA.token}` },
    });
    expect(r.status).toBe(401);
  });
});
