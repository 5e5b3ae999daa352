/**
 * Pulling settlements from the agency platform's HTTP interface, against a fake platform started by
 * the test: paginated by a remembered cursor, a page that fails twice is retried with backoff, a
 * pull that dies mid-way resumes at the first page not applied, and no record is ever applied twice.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import * as fx from '../support/fixtures';
import { pullAgencySettlements, readCursor } from '../../src/agency-pull/agency-pull';

const TOKEN = 'platform-token-0001';
interface Page {
  records: unknown[];
  next: string | null;
  more: boolean;
}
const pages = new Map<string, Page>();
const failuresLeft = new Map<string, number>();
const seen: Array<{ cursor: string; auth?: string }> = [];
let server: http.Server;
let t: TestGateway;

const rec = (setl_id: string, over: Partial<ReturnType<typeof fx.settlement>> = {}) =>
  fx.settlement({ setl_id, mdtrt_id: `M-${setl_id}`, psn_no: `P-${setl_id}`, setldetail: undefined, ...over });

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    const cursor = u.searchParams.get('cursor') ?? '';
    seen.push({ cursor, auth: req.headers.authorization });
    const left = failuresLeft.get(cursor) ?? 0;
    if (left > 0) {
      failuresLeft.set(cursor, left - 1);
      res.writeHead(500).end('boom');
      return;
    }
    if (
      u.pathname !== '/api/settlements' ||
      u.searchParams.get('admdvs') !== '5331' ||
      req.headers.authorization !== `Bearer ${TOKEN}`
    ) {
      res.writeHead(403).end();
      return;
    }
    const p = pages.get(cursor);
    if (!p) {
      res.writeHead(404).end();
      return;
    }
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ settlements: p.records, next_cursor: p.next, has_more: p.more }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
  t = await startTestGateway('agency_pull', {
    env: { GATEWAY_AGENCY_PULL_URL: url, GATEWAY_AGENCY_PULL_TOKEN: TOKEN },
  });
  pages.set('', { records: [rec('A1'), rec('A2')], next: 'c1', more: true });
  pages.set('c1', { records: [rec('A3'), rec('A4')], next: 'c2', more: true });
  pages.set('c2', {
    records: [rec('A5'), rec('A1', { status: 'reversed' }), rec('X1', { insuplc_admdvs: '410802' })],
    next: 'c3',
    more: false,
  });
  failuresLeft.set('c1', 2);
});
afterAll(async () => {
  await t.close();
  await new Promise((r) => server.close(r));
});

const count = async (sql: string) => Number((await t.gw.db.query<{ n: string }>(sql)).rows[0]!.n);
const stored = () => count(`SELECT count(*) AS n FROM settlement_records`);
const pullMessages = () => count(`SELECT count(*) AS n FROM messages WHERE client_id = 'agency-pull'`);

it('pulls every page from the start, retrying a page that fails twice, and remembers the cursor', async () => {
  const out = await pullAgencySettlements(t.gw, '5331', { baseDelayMs: 5 });
  expect(out).toEqual({ pages: 3, accepted: 6, duplicates: 0, rejected: 1, cursor: 'c3' });
  expect(seen.map((s) => s.cursor)).toEqual(['', 'c1', 'c1', 'c1', 'c2']);
  expect(seen.every((s) => s.auth === `Bearer ${TOKEN}`)).toBe(true);
  expect(await readCursor(t.gw.db, '5331')).toBe('c3');
  expect(await stored()).toBe(6);
  expect(await count(`SELECT count(*) AS n FROM settlement_records WHERE setl_id = 'A1' AND status = 'reversed'`)).toBe(
    1,
  );
});

it('stores each page like the feed: one message per page, queued for ingest and benefits, and the rejected record noted', async () => {
  expect(await pullMessages()).toBe(3);
  const { rows } = await t.gw.db.query<{ queue: string; n: string }>(
    `SELECT o.queue, count(*) AS n FROM outbox o JOIN messages m USING (message_id) WHERE m.client_id = 'agency-pull' GROUP BY o.queue ORDER BY o.queue`,
  );
  expect(rows.map((r) => [r.queue, Number(r.n)])).toEqual([
    ['benefits', 3],
    ['ingest', 3],
  ]);
  const cur = await t.gw.db.query<{ last_errors: Array<{ index: number; errors: Array<{ code: string }> }> }>(
    `SELECT last_errors FROM agency_pull_cursors WHERE admdvs = '5331'`,
  );
  expect(cur.rows[0]!.last_errors).toEqual([
    { index: 2, errors: [expect.objectContaining({ path: '/insuplc_admdvs', code: 'OUT_OF_SCOPE' })] },
  ]);
  await t.drain();
  expect(
    await count(`SELECT count(*) AS n FROM messages WHERE client_id = 'agency-pull' AND status = 'processed'`),
  ).toBe(3);
});

it('resumes from the remembered cursor and applies only what is new', async () => {
  pages.set('c3', { records: [rec('A6')], next: 'c4', more: false });
  seen.length = 0;
  const out = await pullAgencySettlements(t.gw, '5331', { baseDelayMs: 5 });
  expect(seen.map((s) => s.cursor)).toEqual(['c3']);
  expect(out).toMatchObject({ pages: 1, accepted: 1, cursor: 'c4' });
  expect(await stored()).toBe(7);
});

it('when a page keeps failing, the pull stops with what was committed kept, and the next pull resumes at that page', async () => {
  pages.set('c4', { records: [rec('A7')], next: 'c5', more: true });
  pages.set('c5', { records: [rec('A8')], next: 'c6', more: false });
  failuresLeft.set('c5', 1000);
  await expect(pullAgencySettlements(t.gw, '5331', { baseDelayMs: 1, maxAttempts: 3 })).rejects.toThrow(/500/);
  expect(await readCursor(t.gw.db, '5331')).toBe('c5');
  expect(await stored()).toBe(8);
  failuresLeft.set('c5', 0);
  seen.length = 0;
  const out = await pullAgencySettlements(t.gw, '5331', { baseDelayMs: 1 });
  expect(seen.map((s) => s.cursor)).toEqual(['c5']);
  expect(out).toMatchObject({ pages: 1, accepted: 1, cursor: 'c6' });
  expect(await stored()).toBe(9);
});

it('when every page is fetched again from the start, no record is applied twice and no message is added', async () => {
  await t.gw.db.query(`UPDATE agency_pull_cursors SET cursor = NULL WHERE admdvs = '5331'`);
  const before = await pullMessages();
  const out = await pullAgencySettlements(t.gw, '5331', { baseDelayMs: 1 });
  expect(out).toMatchObject({ accepted: 0, duplicates: 6, cursor: 'c3' });
  expect(await stored()).toBe(9);
  expect(await pullMessages()).toBe(before);
});
