/**
 * The ops console end to end, in headless Chromium from npm (@sparticuz/chromium, launched by
 * test/support/browser.ts; CHROMIUM_PATH picks another build) driven by playwright-core: log in with
 * the ops token, filter discrepancies by code, resolve one with a note, look up a settlement, start a
 * reconciliation run and download its exports, search the message log, open the queue board — and
 * save a screenshot of the console with data (test/artifacts/; also docs/console.png with
 * UPDATE_DOCS_SCREENSHOT=1). Then an insurer logs in with its own token: it sees exactly the cases
 * the API gives that token (its own), is not offered ops' tools, and disputes a case with a file from
 * the case view (docs/console-insurer.png with UPDATE_DOCS_SCREENSHOT=1). The Chinese labels are drawn in the font the console serves from npm,
 * so they never depend on the fonts of the machine.
 *
 * Also, over plain HTTP: the queue board's cookie guard (401 without a session, 403 for a non-ops
 * client) and the font's files. The message search API has its own test (messages-read.test.ts).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import type { BrowserContext, Page } from 'playwright-core';
import { launchBrowser, type Browser } from '../support/browser';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { TEST_CLIENTS, type TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { syncGroup } from '../../src/discrepancies/case-store';

const ARTIFACTS = path.resolve(__dirname, '..', 'artifacts');
const DOCS_SHOT = path.resolve(__dirname, '..', '..', 'docs', 'console.png');
const DOCS_INSURER_SHOT = path.resolve(__dirname, '..', '..', 'docs', 'console-insurer.png');
const H1 = 'H53310200001',
  H2 = 'H53310200002';
// Generous: the browser shares two cores with the gateway, its workers and PostgreSQL.
const UI_WAIT = 45_000;
// Above jest's default: a run waits for the reconciliation worker, and any step may wait UI_WAIT for an element.
jest.setTimeout(150_000);

let t: TestGateway;
let browser: Browser | undefined;
let ctx: BrowserContext | undefined;
let page: Page;
const offOrigin: string[] = [];

const st = (setl_id: string, fixmedins_code: string, insurer_code: string, hifob_pay: string) =>
  fx.settlement({
    setl_id,
    mdtrt_id: `M-${setl_id}`,
    psn_no: `P-${setl_id}`,
    fixmedins_code,
    insurer_code,
    hifob_pay,
    setldetail: undefined,
  });
const item = (setl_id: string, hifob_pay: string) => ({
  setl_id,
  mdtrt_id: `M-${setl_id}`,
  psn_no: `P-${setl_id}`,
  setl_time: '2025-03-10 09:30:00',
  medfee_sumamt: '300000.00',
  hifob_pay,
});

async function accepted(p: string, body: unknown, as: TestClientName): Promise<string> {
  const r = await t.post(p, body, as);
  if (r.status !== 202 || (r.data.rejected?.length ?? 0) > 0)
    throw new Error(`${p} answered ${r.status}: ${JSON.stringify(r.data)}`);
  return r.data.message_id as string;
}

/** Polls a read until it holds (the workers run on their own schedule); fails with what it last saw. */
async function eventually<T>(read: () => Promise<T>, holds: (v: T) => boolean, what: string, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  let last: T = await read();
  while (!holds(last)) {
    if (Date.now() > until) throw new Error(`${what} did not happen; last seen: ${JSON.stringify(last).slice(0, 500)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await read();
  }
  return last;
}

async function seed(): Promise<void> {
  await accepted(
    '/v1/agency/settlements',
    {
      settlements: [
        st('S1', H1, 'PICC_DH', '90000.00'),
        st('S2', H1, 'PICC_DH', '1234.56'),
        st('S3', H2, 'PICC_DH', '2000.00'),
        st('S4', H2, 'CPIC_DH', '500.00'),
      ],
    },
    'agency',
  );
  // S2 declared at a different amount than the agency recorded.
  await accepted(
    '/v1/settlement-batches',
    fx.batch({
      batch_id: 'B-H1',
      setl_cnt: 2,
      medfee_sumamt: '600000.00',
      hifob_pay_sumamt: '91200.00',
      items: [item('S1', '90000.00'), item('S2', '1200.00')],
    }),
    'hospital1',
  );
  const pay = (
    payment_id: string,
    payee_id: string,
    lines: [{ setl_id: string; paid_amount: string }],
    pay_amount: string,
  ) =>
    accepted(
      '/v1/insurer-payments',
      fx.payment({
        payment_id,
        payee_id,
        bank_txn_no: `BK-${payment_id}`,
        pay_time: '2025-04-15T10:00:00+08:00',
        pay_amount,
        lines,
      }),
      'insurerA',
    );
  await pay('PAY-1', H1, [{ setl_id: 'S1', paid_amount: '90000.00' }], '90000.00');
  await pay('PAY-2', H1, [{ setl_id: 'S2', paid_amount: '1300.00' }], '1300.00'); // overpaid by 65.44
  await pay('PAY-3', H2, [{ setl_id: 'S3', paid_amount: '1500.00' }], '1500.00'); // underpaid
  await pay('PAY-4', H1, [{ setl_id: 'S-NOBODY', paid_amount: '321.00' }], '321.00'); // unknown to the agency
  await t.drain();
  const overpaid = () => t.get('/v1/discrepancies?code=OVERPAID', 'ops').then((r) => r.data.items as unknown[]);
  try {
    await eventually(overpaid, (items) => items.length > 0, 'matching raising OVERPAID for S2', 20_000);
  } catch {
    // Matching is another module: if it raises nothing here, the console is still tested on cases put in directly.
    await t.gw.db.tx((q) =>
      syncGroup(
        q,
        'console-test:S2',
        [
          {
            code: 'OVERPAID',
            severity: 'critical',
            subject_key: 'settlement:S2',
            admdvs: '533102',
            insurer_code: 'PICC_DH',
            fixmedins_code: H1,
            period: '2025-03',
            setl_id: 'S2',
            expected_amount: '1234.56',
            actual_amount: '1300.00',
            difference: '65.44',
            detail: 'paid 1300.00 against 1234.56 owed',
            evidence: { payments: ['PAY-2'] },
          },
          {
            code: 'UNDERPAID',
            severity: 'high',
            subject_key: 'settlement:S3',
            admdvs: '533102',
            insurer_code: 'PICC_DH',
            fixmedins_code: H2,
            period: '2025-03',
            setl_id: 'S3',
            expected_amount: '2000.00',
            actual_amount: '1500.00',
            difference: '-500.00',
            detail: 'paid 1500.00 against 2000.00 owed',
            evidence: { payments: ['PAY-3'] },
          },
        ],
        new Date(),
      ),
    );
  }
}

/**
 * The page's document, for the functions Playwright runs in the browser (passed as functions, not
 * strings: the console's Content-Security-Policy forbids eval). The tests compile without the DOM library.
 */
declare const document: any;
declare const window: any;

/** The fonts Chromium actually drew an element's text with (DevTools protocol), after the page's fonts loaded. */
async function fontsDrawing(
  selector: string,
): Promise<{ familyName: string; isCustomFont: boolean; glyphCount: number }[]> {
  await page.evaluate(() => document.fonts.ready.then(() => undefined));
  const cdp = await ctx!.newCDPSession(page);
  try {
    await cdp.send('DOM.enable');
    await cdp.send('CSS.enable');
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    return (await cdp.send('CSS.getPlatformFontsForNode', { nodeId })).fonts;
  } finally {
    await cdp.detach();
  }
}

beforeAll(async () => {
  t = await startTestGateway('console');
  await seed();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await launchBrowser({ acceptDownloads: true, viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
  ctx = browser.context;
  ctx.setDefaultTimeout(UI_WAIT);
  // The console must work on a closed network: anything leaving the test's own gateway is refused and noted.
  await ctx.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(t.baseUrl) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
    offOrigin.push(url);
    return route.abort();
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the ops console in headless Chromium', () => {
  let resolvedId: string;

  it('logs in with the ops token, in Chinese first, and switches to English', async () => {
    await page.goto(`${t.baseUrl}/console/`);
    await page.locator('#login-form').waitFor();
    await expect(page.locator('#login-submit').textContent()).resolves.toBe('登录');
    await page.fill('#token', 'not-a-known-token');
    await page.click('#login-submit');
    await page.locator('#login-error').waitFor();
    await page.fill('#token', TEST_CLIENTS.ops.token);
    await page.click('#login-submit');
    await page.locator('#main').waitFor();
    await expect(page.locator('#who').textContent()).resolves.toBe('ops (ops)');
    await page.locator('#disc-table tbody tr').first().waitFor();
    await expect(page.locator('.tabs button[data-tab="discrepancies"]').textContent()).resolves.toBe('差异');
    const zhFonts = await fontsDrawing('.tabs button[data-tab="discrepancies"]');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-zh.png') });
    await page.click('#lang-toggle');
    await expect(page.locator('.tabs button[data-tab="discrepancies"]').textContent()).resolves.toBe('Discrepancies');
    await expect(page.locator('#who').textContent()).resolves.toBe('ops (ops)');
    // The Chinese label was drawn in the console's own web font (served from npm), not in whatever the
    // machine has, or as boxes (asserted last, so a failure leaves the page as the next tests expect).
    // The variable font names itself after its default instance, "Noto Sans SC Thin".
    expect(zhFonts).toEqual([
      expect.objectContaining({
        familyName: expect.stringMatching(/^Noto Sans SC/),
        isCustomFont: true,
        glyphCount: 2,
      }),
    ]);
  });

  it('filters the discrepancies by code and shows one case with its evidence and history', async () => {
    await page.selectOption('#f-code', 'OVERPAID');
    await page.click('#disc-search');
    const rows = page.locator('#disc-table tbody tr');
    await page.waitForFunction(() => {
      const trs: { textContent: string }[] = [...document.querySelectorAll('#disc-table tbody tr')];
      return trs.length > 0 && trs.every((tr) => tr.textContent.includes('OVERPAID'));
    });
    await expect(rows.count()).resolves.toBe(1);
    await rows.first().click();
    await page.locator('#disc-detail #case-evidence').waitFor();
    const detail = await page.locator('#disc-detail').textContent();
    expect(detail).toContain('S2');
    expect(detail).toContain('65.44');
    resolvedId = (await rows.first().getAttribute('data-id'))!;
  });

  it('resolves the case with a note, and the API then shows it resolved by hand with that note', async () => {
    await page.fill('#case-note', 'insurer confirmed the refund of 65.44 on 2025-04-20');
    await page.click('#case-resolve');
    await page.locator('#disc-detail .badge.resolved').waitFor();
    await page.locator('#disc-detail #case-resolve').waitFor({ state: 'detached' });
    const res = await t.get(`/v1/discrepancies/${resolvedId}`, 'ops');
    expect(res.data).toMatchObject({
      status: 'resolved',
      resolution: 'manual',
      note: 'insurer confirmed the refund of 65.44 on 2025-04-20',
    });
    expect(res.data.history.map((h: { actor: string }) => h.actor)).toContain(TEST_CLIENTS.ops.client_id);
    await expect(page.locator('#disc-detail').textContent()).resolves.toContain('manual');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-discrepancies.png'), fullPage: true });
  });

  it('looks up a settlement: its loop amounts, payments, discrepancies and history', async () => {
    await page.click('.tabs button[data-tab="settlement"]');
    await page.fill('#setl-id', 'S2');
    await page.click('#setl-search');
    await page.locator('#setl-loop').waitFor();
    const view = await page.locator('#setl-view').textContent();
    expect(view).toContain('1234.56');
    expect(view).toContain('PAY-2');
    expect(view).toContain('OVERPAID');
    // Personal data appears only masked, as the API gives it to ops.
    expect(view).not.toContain('11010519491231002X');
    expect(view).not.toContain('张三');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-settlement.png'), fullPage: true });
  });

  it('starts a reconciliation run, shows the report with its chart once completed, and downloads both exports (in Chinese again)', async () => {
    await page.click('#lang-toggle');
    await expect(page.locator('.tabs button[data-tab="reconciliation"]').textContent()).resolves.toBe('对账');
    await page.click('.tabs button[data-tab="reconciliation"]');
    await page.fill('#run-admdvs', '5331');
    await page.fill('#run-period', '2025-03');
    await page.click('#run-start');
    await page.locator('#run-status .badge.completed').waitFor({ timeout: 90_000 });
    await page.locator('#run-chart').waitFor();
    await page.waitForFunction(() => Boolean(window.Chart.getChart(document.querySelector('#run-chart'))));
    // The chart's canvas draws its Chinese legend in the page's fonts (the console's own), not Chart.js's default ones.
    await expect(page.evaluate(() => document.querySelector('#run-chart').getContext('2d').font)).resolves.toContain(
      'Noto Sans SC Variable',
    );
    // Arrears by age (spec §10): one stacked bar per insurer, a dataset per bucket.
    await page.waitForFunction(() => Boolean(window.Chart.getChart(document.querySelector('#run-ageing-chart'))));
    await expect(
      page.evaluate(() => {
        const c = window.Chart.getChart(document.querySelector('#run-ageing-chart'));
        return { stacked: c.options.scales.y.stacked, labels: c.data.datasets.map((d: any) => d.label) };
      }),
    ).resolves.toEqual({
      stacked: true,
      labels: ['未到期', '逾期1–10个工作日', '逾期11–30个工作日', '逾期31–60个工作日', '逾期60个工作日以上'],
    });
    const report = await page.locator('#run-view').textContent();
    expect(report).toContain(H1);
    expect(report).toContain(H2);
    await expect(page.locator('#run-totals').textContent()).resolves.toContain('未付');
    await expect(page.locator('#run-list li').count()).resolves.toBe(1);

    const [xlsx] = await Promise.all([page.waitForEvent('download'), page.click('#export-xlsx')]);
    expect(xlsx.suggestedFilename()).toMatch(/^reconciliation-5331-2025-03-.+\.xlsx$/);
    expect(
      fs
        .readFileSync((await xlsx.path())!)
        .subarray(0, 2)
        .toString('latin1'),
    ).toBe('PK');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#export-csv')]);
    expect(csv.suggestedFilename()).toMatch(/^reconciliation-5331-2025-03-.+\.csv$/);
    const text = fs.readFileSync((await csv.path())!);
    expect([...text.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    expect(text.toString('utf8')).toContain(H1);

    await page.locator('#flash.info').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
    fs.mkdirSync(path.dirname(DOCS_SHOT), { recursive: true });
    // The committed picture in docs/ changes only when asked (UPDATE_DOCS_SCREENSHOT=1), so test runs leave the tree clean.
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1') fs.copyFileSync(path.join(ARTIFACTS, 'console.png'), DOCS_SHOT);
  });

  it('searches the message log by kind and opens a message', async () => {
    await page.click('.tabs button[data-tab="messages"]');
    await page.selectOption('#m-kind', 'insurer_payment');
    await page.click('#msg-search');
    await page.waitForFunction(() => {
      const trs: { textContent: string }[] = [...document.querySelectorAll('#msg-table tbody tr')];
      return trs.length === 4 && trs.every((tr) => tr.textContent.includes('picc-dh'));
    });
    await page.locator('#msg-table tbody tr').first().click();
    await page.locator('#msg-detail dl').waitFor();
    await expect(page.locator('#msg-detail').textContent()).resolves.toContain('已处理');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-messages.png'), fullPage: true });
  });

  it("opens the queue board (bull-board) with the gateway's queues, on the login's session cookie", async () => {
    await page.click('.tabs button[data-tab="queues"]');
    const [board] = await Promise.all([ctx!.waitForEvent('page'), page.click('#queues-link')]);
    await board.getByText('reconciliation', { exact: false }).first().waitFor();
    for (const q of ['ingest', 'benefits', 'recheck', 'notifications', 'deliveries'])
      await board.getByText(q, { exact: false }).first().waitFor();
    await board.screenshot({ path: path.join(ARTIFACTS, 'console-queues.png') });
    await board.close();
  });

  it('an insurer logs in with its own token, sees only its own cases, and disputes one with a file', async () => {
    await page.click('#logout');
    await page.locator('#login-form').waitFor();
    await page.fill('#token', TEST_CLIENTS.insurerA.token);
    await page.click('#login-submit');
    await page.locator('#main').waitFor();
    await expect(page.locator('#who').textContent()).resolves.toBe('picc-dh (insurer)');
    // What only ops or the agency may do is not offered (the API would refuse it anyway).
    await expect(page.locator('.tabs button[data-tab="queues"]').isHidden()).resolves.toBe(true);
    await expect(page.locator('#run-form').isHidden()).resolves.toBe(true);

    // The list is the API's answer to this token: the same cases, all the insurer's own, none of another's.
    const own = (await t.get('/v1/discrepancies?limit=50', 'insurerA')).data.items as {
      id: string;
      insurer_code: string;
      status: string;
      dispute?: unknown;
    }[];
    const others = (
      (await t.get('/v1/discrepancies?limit=1000', 'ops')).data.items as { id: string; insurer_code: string }[]
    ).filter((d) => d.insurer_code !== 'PICC_DH');
    expect(own.length).toBeGreaterThan(0);
    expect(others.length).toBeGreaterThan(0);
    await page.waitForFunction(
      (n: number) => document.querySelectorAll('#disc-table tbody tr').length === n,
      own.length,
    );
    const shown: string[] = await page.evaluate(() =>
      [...document.querySelectorAll('#disc-table tbody tr')].map((tr: any) => tr.dataset.id),
    );
    expect(new Set(shown)).toEqual(new Set(own.map((d) => d.id)));
    expect(shown.filter((id) => others.some((o) => o.id === id))).toEqual([]);
    const insurerColumn: string[] = await page.evaluate(() =>
      [...document.querySelectorAll('#disc-table tbody tr')].map((tr: any) => tr.children[5].textContent),
    );
    expect(new Set(insurerColumn)).toEqual(new Set(['PICC_DH']));

    // Open one of its open cases and dispute it, with a file, from the case view.
    const target = own.find((d) => d.status !== 'resolved' && !d.dispute)!;
    await page.locator(`#disc-table tbody tr[data-id="${target.id}"]`).click();
    await page.locator('#dispute-form').waitFor();
    await page.selectOption('#dispute-reason', 'D01');
    await page.fill('#dispute-note', '已于 2025-04-18 线下转账，附银行回单');
    const receipt = Buffer.from('%PDF-1.4\n% bank receipt BK-PAY-3 500.00\n%%EOF\n');
    await page.setInputFiles('#dispute-files', { name: '银行回单.pdf', mimeType: 'application/pdf', buffer: receipt });
    await page.click('#dispute-submit');
    await page.locator('#case-dispute-status .badge.open').waitFor();
    await page.locator('#case-attachments li').first().waitFor();
    const res = await t.get(`/v1/discrepancies/${target.id}`, 'insurerA');
    expect(res.data.dispute).toMatchObject({
      status: 'open',
      reason_code: 'D01',
      note: '已于 2025-04-18 线下转账，附银行回单',
      by: 'picc-dh',
    });
    expect(res.data.dispute.attachments).toEqual([
      expect.objectContaining({
        filename: '银行回单.pdf',
        bytes: receipt.length,
        sha256: crypto.createHash('sha256').update(receipt).digest('hex'),
      }),
    ]);
    expect(res.data.history.at(-1)).toMatchObject({ action: 'disputed', actor: 'picc-dh' });
    // The dispute form gives way while the dispute is open; commenting stays possible.
    await expect(page.locator('#dispute-form').count()).resolves.toBe(0);
    await page.locator('#comment-form').waitFor();

    await page.screenshot({ path: path.join(ARTIFACTS, 'console-insurer.png'), fullPage: true });
    if (process.env.UPDATE_DOCS_SCREENSHOT === '1')
      fs.copyFileSync(path.join(ARTIFACTS, 'console-insurer.png'), DOCS_INSURER_SHOT);
    // Another insurer's token never reads it, in the page or out of it.
    expect((await t.get(`/v1/discrepancies/${target.id}`, 'insurerB')).status).toBe(404);
  });

  it('loaded nothing from outside the gateway', () => {
    expect(offOrigin).toEqual([]);
  });
});

describe("the console's font", () => {
  it("is served from the gateway: its stylesheet and the font files it names, under the console's policy", async () => {
    const css = await axios.get(`${t.baseUrl}/console/vendor/noto-sans-sc/index.css`, {
      validateStatus: () => true,
      responseType: 'text',
    });
    expect(css.status).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.headers['content-security-policy']).toContain("default-src 'self'");
    expect(css.data).toContain("font-family: 'Noto Sans SC Variable'");
    const files = [...(css.data as string).matchAll(/url\(\.\/(files\/[^)]+\.woff2)\)/g)].map((m) => m[1]!);
    expect(files.length).toBeGreaterThan(50);
    const woff2 = await axios.get(`${t.baseUrl}/console/vendor/noto-sans-sc/${files[0]}`, {
      validateStatus: () => true,
      responseType: 'arraybuffer',
    });
    expect(woff2.status).toBe(200);
    expect(woff2.headers['content-type']).toBe('font/woff2');
    expect(Buffer.from(woff2.data).subarray(0, 4).toString('latin1')).toBe('wOF2');
  });
});

describe("the queue board's guard", () => {
  const login = (token: string) =>
    axios.post(`${t.baseUrl}/console/session`, { token }, { validateStatus: () => true });
  const board = (cookie?: string) =>
    axios.get(`${t.baseUrl}/console/queues`, {
      headers: cookie ? { cookie } : {},
      validateStatus: () => true,
      maxRedirects: 0,
    });

  it('answers 401 without a session cookie, and 401 for a forged one', async () => {
    expect((await board()).status).toBe(401);
    expect((await board('gw_console=ops.99999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')).status).toBe(401);
  });

  it('sets an HttpOnly SameSite=Strict cookie at login, and refuses an unknown token with 401', async () => {
    const ok = await login(TEST_CLIENTS.ops.token);
    expect(ok.status).toBe(200);
    expect(ok.data).toMatchObject({ client_id: 'ops', role: 'ops' });
    const cookie = ok.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/^gw_console=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).not.toContain(TEST_CLIENTS.ops.token);
    expect((await board(cookie.split(';')[0])).status).toBe(200);
    expect((await login('tok-nobody-0000')).status).toBe(401);
  });

  it('answers 403 to a client that is not ops', async () => {
    const res = await login(TEST_CLIENTS.hospital1.token);
    expect(res.status).toBe(200);
    expect((await board(res.headers['set-cookie']![0]!.split(';')[0])).status).toBe(403);
  });
});
