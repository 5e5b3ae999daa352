/**
 * Run history (spec §10): `GET /v1/reconciliations?admdvs=&period=&status=&limit=&cursor=` lists
 * runs newest first in cursor pages, filtered, and scoped exactly as one run is read: ops all, an
 * agency its regions, an insurer or an institution the runs with a row of its own. Seven runs of
 * Dehong (5331), of Hohhot's prefix 1509 and of Jiaozuo (4108) are made through the API and run to
 * the end by the real worker.
 */
import axios from 'axios';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { launchBrowser, type Browser } from '../support/browser';

jest.setTimeout(150_000);

let t: TestGateway;
const H1 = 'H53310200001';
/** run ids in the order they were made (oldest first) */
const made: { id: string; admdvs: string; period: string }[] = [];

const st = (setl_id: string, setl_time: string) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code: H1,
    insurer_code: 'PICC_DH',
    setl_time,
    setldetail: undefined,
  });

async function runToEnd(admdvs: string, period: string, as: TestClientName): Promise<void> {
  const post = await axios.post(
    `${t.baseUrl}/v1/reconciliations`,
    { admdvs, period, as_of: '2025-06-01 00:00:00' },
    { headers: { authorization: `Bearer ${TEST_CLIENTS[as].token}` }, validateStatus: () => true },
  );
  if (post.status !== 202 || post.data.existing)
    throw new Error(`POST /v1/reconciliations answered ${post.status}: ${JSON.stringify(post.data)}`);
  const id = post.data.run_id as string;
  for (let i = 0; i < 600; i++) {
    const g = await t.get(`/v1/reconciliations/${id}`, 'ops');
    if (g.data.status === 'completed' || g.data.status === 'failed') {
      made.push({ id, admdvs, period });
      return;
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`run ${id} did not finish`);
}

const list = (query: string, as: TestClientName | null) => t.get(`/v1/reconciliations${query ? `?${query}` : ''}`, as);
const ids = async (query: string, as: TestClientName): Promise<string[]> => {
  const r = await list(query, as);
  if (r.status !== 200) throw new Error(`list ${query} as ${as}: ${r.status} ${JSON.stringify(r.data)}`);
  expect(r.data.next_cursor).toBeNull();
  return r.data.items.map((x: { run_id: string }) => x.run_id);
};
/** run ids newest first, of the runs made that satisfy `p` */
const newest = (p: (r: (typeof made)[number]) => boolean) =>
  made
    .filter(p)
    .map((r) => r.id)
    .reverse();

beforeAll(async () => {
  t = await startTestGateway('recon_history');
  const r = await t.post(
    '/v1/agency/settlements',
    {
      settlements: [
        st('RH1', '2025-01-10 09:30:00'),
        st('RH2', '2025-02-10 09:30:00'),
        st('RH3', '2025-03-10 09:30:00'),
      ],
    },
    'agency',
  );
  if (r.status !== 202) throw new Error(`settlements answered ${r.status}: ${JSON.stringify(r.data)}`);
  await t.drain();
  // One at a time: a region-period with a run still queued would get that run back.
  await runToEnd('5331', '2025-01', 'agency');
  await runToEnd('5331', '2025-02', 'agency');
  await runToEnd('5331', '2025-03', 'agency');
  await runToEnd('533102', '2025-03', 'agency');
  await runToEnd('5331', '2025-03', 'ops');
  await runToEnd('1509', '2025-03', 'agency');
  await runToEnd('4108', '2025-03', 'agencyOther');
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('the run history', () => {
  it('when ops page through it three at a time, then three pages hold every run once, newest first', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    const sizes: number[] = [];
    do {
      const r = await list(`limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'ops');
      expect(r.status).toBe(200);
      sizes.push(r.data.items.length);
      seen.push(...r.data.items.map((x: { run_id: string }) => x.run_id));
      cursor = r.data.next_cursor;
    } while (cursor);
    expect(sizes).toEqual([3, 3, 1]);
    expect(seen).toEqual(newest(() => true));
    expect(new Set(seen).size).toBe(7);
  });

  it('when it is read without a limit, then the page holds up to 50 runs, each without its report', async () => {
    const r = await list('', 'ops');
    expect(r.status).toBe(200);
    expect(r.data.next_cursor).toBeNull();
    expect(r.data.items).toHaveLength(7);
    const first = r.data.items[0];
    expect(first).toMatchObject({
      run_id: made[6]!.id,
      status: 'completed',
      admdvs: '4108',
      period: '2025-03',
      trigger: 'api',
      report_only: false,
      as_of: '2025-06-01T00:00:00+08:00',
    });
    expect(first.created_at).toMatch(/\+08:00$/);
    expect(first).not.toHaveProperty('institutions');
    expect(first).not.toHaveProperty('summary');
  });

  it('when it is filtered by period, region prefix and status, then only those runs are listed', async () => {
    expect(await ids('period=2025-03', 'ops')).toEqual(newest((x) => x.period === '2025-03'));
    // A region prefix lists the runs of that region and of the regions under it.
    expect(await ids('admdvs=5331', 'ops')).toEqual(newest((x) => x.admdvs.startsWith('5331')));
    expect(await ids('admdvs=533102', 'ops')).toEqual(newest((x) => x.admdvs === '533102'));
    expect(await ids('admdvs=5331&period=2025-03&status=completed', 'ops')).toEqual(
      newest((x) => x.admdvs.startsWith('5331') && x.period === '2025-03'),
    );
    expect(await ids('status=failed', 'ops')).toEqual([]);
    expect(await ids('status=queued', 'ops')).toEqual([]);
  });

  it('when a filtered list is paged, then the cursor keeps to the filter', async () => {
    const p1 = await list('admdvs=5331&limit=2', 'ops');
    const p2 = await list(`admdvs=5331&limit=2&cursor=${p1.data.next_cursor}`, 'ops');
    const p3 = await list(`admdvs=5331&limit=2&cursor=${p2.data.next_cursor}`, 'ops');
    expect(p3.data.next_cursor).toBeNull();
    expect([...p1.data.items, ...p2.data.items, ...p3.data.items].map((x: { run_id: string }) => x.run_id)).toEqual(
      newest((x) => x.admdvs.startsWith('5331')),
    );
  });
});

describe('who sees which runs', () => {
  it('when an agency reads it, then it lists the runs of its regions, and an agency of another region sees none of them', async () => {
    expect(await ids('', 'agency')).toEqual(newest((x) => x.admdvs !== '4108'));
    const other = await ids('', 'agencyOther');
    expect(other).toEqual([made[6]!.id]);
    expect(other.some((id) => made.filter((x) => x.admdvs !== '4108').some((x) => x.id === id))).toBe(false);
    // Filtering for a region outside its scope shows nothing rather than an error that confirms the runs exist.
    expect(await ids('admdvs=5331', 'agencyOther')).toEqual([]);
  });

  it('when an insurer or an institution reads it, then it lists the runs with a row of its own, as reading one run would show', async () => {
    const withData = newest((x) => x.admdvs.startsWith('5331'));
    expect(await ids('', 'insurerA')).toEqual(withData);
    expect(await ids('', 'hospital1')).toEqual(withData);
    expect(await ids('', 'insurerB')).toEqual([]);
    expect(await ids('', 'hospital2')).toEqual([]);
    // Each listed run opens for it, and one it does not list answers 404.
    for (const id of withData) expect((await t.get(`/v1/reconciliations/${id}`, 'insurerA')).status).toBe(200);
    expect((await t.get(`/v1/reconciliations/${made[5]!.id}`, 'insurerA')).status).toBe(404);
  });

  it('when a client pages its own list, then a cursor shows it no run outside its scope', async () => {
    const p1 = await list('limit=1', 'agencyOther');
    expect(p1.data.items).toHaveLength(1);
    expect(p1.data.next_cursor).toBeNull();
    // A cursor of ops' list, handed to another agency, still lists only that agency's runs.
    const opsPage = await list('limit=1', 'ops');
    const after = await list(`cursor=${opsPage.data.next_cursor}`, 'agencyOther');
    expect(after.status).toBe(200);
    expect(after.data.items).toEqual([]);
  });

  it('when no token is given, then it answers 401', async () => {
    expect((await list('', null)).status).toBe(401);
  });
});

describe('bad query parameters', () => {
  it.each([
    ['cursor=not-a-cursor', '?cursor'],
    [`cursor=${Buffer.from(JSON.stringify(['2025-03-01T00:00:00Z', 'x'])).toString('base64url')}`, '?cursor'],
    ['limit=0', '?limit'],
    ['limit=201', '?limit'],
    ['limit=2.5', '?limit'],
    ['status=done', '?status'],
    ['period=2025-13', '?period'],
    ['admdvs=53A1', '?admdvs'],
    ['period=2025-03&period=2025-04', '?period'],
    ['admvds=5331', '?admvds'],
  ])('when the query has %s, then it answers a 400 problem naming %s', async (query, path) => {
    const r = await list(query, 'ops');
    expect(r.status).toBe(400);
    expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(r.data.type).toBe('/docs/problems#malformed');
    expect(r.data.errors.map((e: { path: string }) => e.path)).toEqual([path]);
  });

  it('when the limit is 200, then it is accepted', async () => {
    expect((await list('limit=200', 'ops')).status).toBe(200);
  });
});

describe('the console lists past runs from the history', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it("when ops open the reconciliation tab, then every past run is listed; when another region's agency logs in after, then only its own", async () => {
    browser = await launchBrowser({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
    browser.context.setDefaultTimeout(45_000);
    await browser.context.route('**/*', (route) =>
      route.request().url().startsWith(t.baseUrl) ? route.continue() : route.abort(),
    );
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    const login = async (as: TestClientName) => {
      await page.fill('#token', TEST_CLIENTS[as].token);
      await page.click('#login-submit');
      await page.locator('#main').waitFor();
      await page.click('.tabs button[data-tab="reconciliation"]');
    };
    // Polled from the test, not with waitForFunction: the console's CSP (script-src 'self') refuses the eval
    // that a string predicate needs once Playwright has to poll it.
    const runsListed = async (n: number) => {
      for (let i = 0; i < 150 && (await page.locator('#run-list li').count()) !== n; i++)
        await page.waitForTimeout(100);
      expect(await page.locator('#run-list li').count()).toBe(n);
    };
    const listed = () =>
      page.locator('#run-list button').evaluateAll((bs) => bs.map((b) => b.getAttribute('data-run')));
    await page.goto(`${t.baseUrl}/console/`);
    await login('ops');
    await runsListed(7);
    await expect(listed()).resolves.toEqual(newest(() => true));
    await page.click(`#run-list button[data-run="${made[0]!.id}"]`);
    await page.locator('#run-status .badge.completed').waitFor();
    await page.click('#logout');
    await login('agencyOther');
    await runsListed(1);
    await expect(listed()).resolves.toEqual([made[6]!.id]);
    // Nothing of ops' session is left on the page for the next login.
    expect(await page.locator('#run-view').textContent()).not.toContain(made[0]!.id);
  });
});
