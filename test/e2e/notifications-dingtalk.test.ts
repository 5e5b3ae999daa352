/**
 * DingTalk custom robots with the 加签 security setting (issue 18): a subscriber of format `dingtalk`
 * with a robot secret gets every post at `…&timestamp=<ms>&sign=<urlencoded base64 HMAC-SHA256>`.
 * The receiver here stands in for DingTalk and checks a post the way DingTalk documents it, with its
 * own copy of the secret and its own HMAC (not the gateway's code): timestamp within one hour of its
 * clock, sign = urlEncode(base64(HmacSHA256(key = secret, timestamp + "\n" + secret))). Like DingTalk
 * it answers a refused post with HTTP 200 and errcode 310000 — so the gateway must read the answer.
 * The receiver is shown to refuse unsigned, wrongly signed, stale and unencoded posts before it is
 * trusted to accept the gateway's.
 */
import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import crypto from 'node:crypto';
import { Writable } from 'node:stream';
import axios from 'axios';
import pino from 'pino';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { ALLOW_RECEIVERS_ENV, api, finding, openCases, until } from './notifications-support';
import { REDACT_PATHS } from '../../src/logging/logger';
import { launchBrowser, type Browser } from '../support/browser';
import { TEST_CLIENTS } from '../support/test-clients';

jest.setTimeout(150_000);

const SECRET = `SEC${crypto.randomBytes(32).toString('hex')}`;
const OTHER_SECRET = `SEC${crypto.randomBytes(32).toString('hex')}`;
const HOUR_MS = 3_600_000;

interface Post {
  path: string;
  query: URLSearchParams;
  body: any;
  verdict: 'accepted' | string;
}

/** A DingTalk robot: verifies 加签 as documented, answers errcode 0 or 310000 (always HTTP 200, like DingTalk). */
async function startDingTalkRobot(
  secret: string,
): Promise<{ url: string; posts: Post[]; accepted: () => Post[]; close(): Promise<void> }> {
  const posts: Post[] = [];
  const verdict = (q: URLSearchParams): 'accepted' | string => {
    const timestamp = q.get('timestamp');
    const sign = q.get('sign'); // URLSearchParams undoes the urlEncode (and reads a bare '+' as a space, as any form decoder does)
    if (!timestamp || !sign) return 'missing timestamp or sign';
    if (!/^\d{13}$/.test(timestamp)) return 'timestamp is not milliseconds';
    if (Math.abs(Date.now() - Number(timestamp)) > HOUR_MS) return 'timestamp more than an hour off';
    const want = crypto.createHmac('sha256', secret).update(`${timestamp}\n${secret}`, 'utf8').digest('base64');
    const a = Buffer.from(want),
      b = Buffer.from(sign);
    return a.length === b.length && crypto.timingSafeEqual(a, b) ? 'accepted' : 'sign not match';
  };
  const server: Server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://robot');
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = undefined;
      }
      const v = verdict(u.searchParams);
      posts.push({ path: u.pathname, query: u.searchParams, body, verdict: v });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          v === 'accepted'
            ? { errcode: 0, errmsg: 'ok' }
            : { errcode: 310000, errmsg: `${v}, more: [https://open.dingtalk.com]` },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/robot/send?access_token=tok_${crypto.randomBytes(8).toString('hex')}`,
    posts,
    accepted: () => posts.filter((p) => p.verdict === 'accepted'),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let t: TestGateway;
let robot: Awaited<ReturnType<typeof startDingTalkRobot>>;

/** A signed URL made by hand (the test's own reading of the documentation). */
function handSigned(url: string, secret: string, ts: number, encode = true): string {
  const sign = crypto.createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
  return `${url}&timestamp=${ts}&sign=${encode ? encodeURIComponent(sign) : sign}`;
}
const postTo = (url: string) =>
  axios.post(url, { msgtype: 'text', text: { content: 'probe' } }, { validateStatus: () => true });

async function delivery(id: string): Promise<any> {
  return (await api(t, 'get', `/v1/deliveries/${id}`, 'ops')).data;
}

beforeAll(async () => {
  robot = await startDingTalkRobot(SECRET);
  t = await startTestGateway('notif_dingtalk', {
    env: { ...ALLOW_RECEIVERS_ENV, GATEWAY_DELIVERY_SCHEDULE_MS: '0,60000', GATEWAY_DELIVERY_TIMEOUT_MS: '5000' },
  });
});

afterAll(async () => {
  await t?.close();
  await robot?.close();
});

describe('the test receiver checks 加签 as DingTalk documents it', () => {
  it('when a post is unsigned, signed with another secret, an hour and more old, or not URL-encoded, then it refuses it; signed rightly, it accepts it', async () => {
    const before = robot.posts.length;
    const now = Date.now();
    // A timestamp whose signature holds a '+' shows that the sign must be URL-encoded.
    let plusTs = now;
    while (!crypto.createHmac('sha256', SECRET).update(`${plusTs}\n${SECRET}`).digest('base64').includes('+')) plusTs++;
    const answers = [
      await postTo(robot.url),
      await postTo(handSigned(robot.url, OTHER_SECRET, now)),
      await postTo(handSigned(robot.url, SECRET, now - HOUR_MS - 60_000)),
      await postTo(handSigned(robot.url, SECRET, plusTs, false)),
      await postTo(handSigned(robot.url, SECRET, now)),
    ];
    expect(answers.map((a) => a.data.errcode)).toEqual([310000, 310000, 310000, 310000, 0]);
    expect(robot.posts.slice(before).map((p) => p.verdict)).toEqual([
      'missing timestamp or sign',
      'sign not match',
      'timestamp more than an hour off',
      'sign not match',
      'accepted',
    ]);
  });
});

describe('a DingTalk subscriber with a robot secret', () => {
  let subId: string;

  it('when ops add it, then the secret is stored but never shown: reads say only that one is set', async () => {
    const r = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: robot.url,
      format: 'dingtalk',
      robot_secret: SECRET,
      filter: { codes: ['OVERPAID'] },
      description: '运维群',
    });
    expect(r.status).toBe(201);
    subId = r.data.id;
    expect(r.data.robot_secret_set).toBe(true);
    expect(JSON.stringify(r.data)).not.toContain(SECRET);
    const one = await api(t, 'get', `/v1/subscribers/${subId}`, 'ops');
    expect(one.data).toMatchObject({ id: subId, format: 'dingtalk', robot_secret_set: true });
    expect(JSON.stringify(one.data)).not.toContain(SECRET);
    const all = await api(t, 'get', '/v1/subscribers', 'ops');
    expect(JSON.stringify(all.data)).not.toContain(SECRET);
    const { rows } = await t.gw.db.query<{ robot_secret: string }>(
      'SELECT robot_secret FROM subscribers WHERE id = $1',
      [subId],
    );
    expect(rows[0]!.robot_secret).toBe(SECRET);
  });

  it('when ops send a test alert, then the robot accepts the signed post and the delivery log shows it delivered', async () => {
    const before = robot.accepted().length;
    const r = await api(t, 'post', `/v1/subscribers/${subId}/test`, 'ops');
    expect(r.status).toBe(202);
    expect(r.data).toMatchObject({ subscriber_id: subId, event_type: 'subscriber.test', status: 'pending' });
    await until(async () => (await delivery(r.data.id)).status === 'delivered', 30_000, 'the test alert delivered');
    const got = robot.accepted().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.path).toBe('/robot/send');
    expect(got[0]!.query.get('access_token')).toMatch(/^tok_/);
    expect(got[0]!.body.msgtype).toBe('markdown');
    expect(got[0]!.body.markdown.title).toContain('测试告警');
    expect(got[0]!.body.markdown.text).toContain(subId);
    // The signed URL is made at the attempt and never stored: the log shows the webhook as configured.
    const { rows } = await t.gw.db.query<{ body: string }>('SELECT body FROM deliveries WHERE id = $1', [r.data.id]);
    expect(rows[0]!.body).not.toContain('sign=');
  });

  it('when a critical case matches its filter, then the alert reaches the robot signed', async () => {
    const before = robot.accepted().length;
    const [id] = await openCases(t, [finding({ code: 'OVERPAID', severity: 'critical' })]);
    await until(() => robot.accepted().length > before, 30_000, 'the critical alert at the robot');
    const got = robot.accepted().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.body.markdown.text).toContain(id);
    expect(got[0]!.body.markdown.title).toContain('严重差异');
  });

  it('when the stored robot secret is wrong, then the robot refuses the post and the gateway does not count it delivered', async () => {
    const wrong = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: robot.url,
      format: 'dingtalk',
      robot_secret: OTHER_SECRET,
      filter: { codes: ['PLAN_VARIANCE'] },
    });
    expect(wrong.status).toBe(201);
    const r = await api(t, 'post', `/v1/subscribers/${wrong.data.id}/test`, 'ops');
    expect(r.status).toBe(202);
    await until(
      async () => (await delivery(r.data.id)).attempts >= 1 && (await delivery(r.data.id)).status !== 'sending',
      30_000,
      'the first attempt',
    );
    const d = await delivery(r.data.id);
    expect(d.status).toBe('failed');
    expect(d.last_error).toContain('errcode 310000');
    expect(robot.posts.filter((p) => p.query.get('sign') && p.verdict === 'sign not match').length).toBeGreaterThan(0);
  });

  it('when a DingTalk subscriber has no robot secret, then its posts go unsigned as before (and a 加签 robot refuses them)', async () => {
    const plain = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: robot.url,
      format: 'dingtalk',
      filter: { codes: ['DISBURSEMENT_MISMATCH'] },
    });
    expect(plain.data.robot_secret_set).toBe(false);
    const before = robot.posts.length;
    const r = await api(t, 'post', `/v1/subscribers/${plain.data.id}/test`, 'ops');
    const unsigned = () => robot.posts.slice(before).filter((p) => !p.query.has('sign') && !p.query.has('timestamp'));
    await until(() => unsigned().length > 0, 30_000, 'the unsigned post');
    expect(unsigned()[0]!.verdict).toBe('missing timestamp or sign');
    await until(async () => (await delivery(r.data.id)).status === 'failed', 30_000, 'the refused post recorded');
  });
});

describe('what is refused', () => {
  it('when a robot secret is given for a WeCom or JSON subscriber, or is not a DingTalk secret, then it answers 422 naming /robot_secret', async () => {
    for (const body of [
      { url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k', format: 'wecom', robot_secret: SECRET },
      { url: 'https://example.com/hook', format: 'json', robot_secret: SECRET },
      { url: robot.url, format: 'dingtalk', robot_secret: 'not-a-secret' },
    ]) {
      const r = await api(t, 'post', '/v1/subscribers', 'ops', body);
      expect(r.status).toBe(422);
      expect(r.data.errors.map((e: { path: string }) => e.path)).toContain('/robot_secret');
    }
  });

  it('when an insurer asks for a test alert, or ops for one of no subscriber, then it answers 403 and 404', async () => {
    const subs = await api(t, 'get', '/v1/subscribers', 'ops');
    const id = subs.data.items[0].id as string;
    expect((await api(t, 'post', `/v1/subscribers/${id}/test`, 'insurerA')).status).toBe(403);
    expect((await api(t, 'post', '/v1/subscribers/sub_nobody/test', 'ops')).status).toBe(404);
  });

  it('when a logged object carries a robot secret, then the log shows it redacted', () => {
    const lines: string[] = [];
    const log = pino(
      { redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      new Writable({
        write(c, _e, cb) {
          lines.push(String(c));
          cb();
        },
      }),
    );
    log.info({ subscriber: { id: 'sub_x', robot_secret: SECRET }, robot_secret: SECRET }, 'subscriber');
    expect(lines.join('')).not.toContain(SECRET);
    expect(lines.join('')).toContain('[redacted]');
  });
});

describe("the console's subscriber page", () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('when ops add a DingTalk robot with its secret and send a test, then the page shows it delivered and the robot accepted it', async () => {
    browser = await launchBrowser({ viewport: { width: 1440, height: 1000 }, locale: 'zh-CN' });
    browser.context.setDefaultTimeout(45_000);
    // A closed network: the page talks to nothing but its gateway.
    await browser.context.route('**/*', (route) =>
      route.request().url().startsWith(t.baseUrl) ? route.continue() : route.abort(),
    );
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${t.baseUrl}/console/`);
    await page.fill('#token', TEST_CLIENTS.ops.token);
    await page.click('#login-submit');
    await page.locator('#main').waitFor();
    await page.click('.tabs button[data-tab="subscribers"]');
    await page.fill('#sub-url', robot.url);
    await page.selectOption('#sub-format', 'dingtalk');
    await page.fill('#sub-robot-secret', SECRET);
    await page.fill('#sub-codes', 'ANNUAL_CAP_EXCEEDED');
    await page.fill('#sub-description', '控制台测试');
    await page.click('#sub-add');
    await page.locator('#sub-created').waitFor();
    const id = (await page.locator('#sub-created').textContent())!.split('\n')[0]!;
    expect(id).toMatch(/^sub_/);
    // The robot secret is neither kept in the form nor shown anywhere on the page.
    await expect(page.locator('#sub-robot-secret').inputValue()).resolves.toBe('');
    expect(await page.content()).not.toContain(SECRET);
    const before = robot.accepted().length;
    await page.click(`#sub-table button[data-test="${id}"]`);
    await page.locator('#sub-test-status .badge.delivered').waitFor();
    await expect(page.locator('#sub-test-verdict').textContent()).resolves.toContain('已送达');
    const got = robot.accepted().slice(before);
    expect(got).toHaveLength(1);
    expect(got[0]!.body.markdown.text).toContain(id);
  });
});
