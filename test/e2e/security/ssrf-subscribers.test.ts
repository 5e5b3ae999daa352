/**
 * Issue 13, SSRF through notification subscribers: an insurer registered loopback, private and
 * metadata addresses as callbacks and the gateway delivered signed webhooks to them (and its delivery
 * log told the insurer `ECONNREFUSED 127.0.0.1:<port>`: a port scanner). Now such destinations are
 * refused at registration (422 on /url) and at connect time (after DNS, so names and rebinding are
 * covered), redirects are not followed, insurers read a generic error, and ops can allow a host.
 *
 * The receivers are the test's own on loopback: 127.0.0.2 is the allow-listed host
 * (GATEWAY_SUBSCRIBER_ALLOW_HOSTS), 127.0.0.1 the internal service an attacker aims at.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { startTestGateway, type TestGateway } from '../../support/test-gateway';
import { TEST_CLIENTS } from '../../support/test-clients';
import { loadConfig } from '../../../src/config/config';
import {
  createDestinationGuard,
  createHttpSender,
  GENERIC_DELIVERY_ERROR,
  loadSubscribersFile,
  specialRange,
} from '../../../src/notifications';
import { createSubscriber } from '../../../src/notifications/subscriber-store';
import {
  api,
  deliveriesOf,
  finding,
  openCases,
  startReceiver,
  subscribe,
  until,
  type Receiver,
} from '../notifications-support';

const ALLOWED = '127.0.0.2';
let t: TestGateway;
const receivers: Receiver[] = [];
const receiver = async (...a: Parameters<typeof startReceiver>) => {
  const r = await startReceiver(...a);
  receivers.push(r);
  return r;
};

beforeAll(async () => {
  t = await startTestGateway('ssrf_subscribers', {
    // One attempt now, the next far away: a test reads the state after the first attempt.
    env: {
      GATEWAY_SUBSCRIBER_ALLOW_HOSTS: ALLOWED,
      GATEWAY_DELIVERY_SCHEDULE_MS: '0,600000',
      GATEWAY_DELIVERY_TIMEOUT_MS: '3000',
    },
  });
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await t.close();
});

/** A resolver of the test's own names (what a DNS server under an attacker's control would answer). */
const fakeDns = (names: Record<string, string[]>): LookupFunction =>
  ((hostname: string, options: { all?: boolean }, cb: (...a: unknown[]) => void) => {
    const list: LookupAddress[] = (names[hostname] ?? []).map((address) => ({
      address,
      family: address.includes(':') ? 6 : 4,
    }));
    if (!list.length) {
      cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
      return;
    }
    if (options.all) cb(null, list);
    else cb(null, list[0]!.address, list[0]!.family);
  }) as unknown as LookupFunction;

const REFUSED_AT_REGISTRATION = [
  'http://127.0.0.1:5432/',
  'http://[::1]:6379/',
  'http://localhost/hook',
  'http://2130706433/hook',
  'http://[::ffff:127.0.0.1]/hook',
  'http://10.0.0.1/hook',
  'http://169.254.169.254/latest/meta-data/',
  'http://0.0.0.0:8080/',
  'http://0x7f.1/',
  'http://100.64.0.1/',
  'http://192.168.1.1/',
  'http://172.16.0.1/',
  'http://224.0.0.1/',
  'http://255.255.255.255/',
  'http://240.0.0.1/',
  'http://[fd00::1]/',
  'http://[fe80::1]/',
  'http://[64:ff9b::10.0.0.1]/',
  'http://[2002:a00:1::]/',
  'https://metadata.localhost/',
];

describe('registration', () => {
  test.each(REFUSED_AT_REGISTRATION)('when an insurer registers %s, then 422 names /url and says why', async (url) => {
    const r = await api(t, 'post', '/v1/subscribers', 'insurerA', { url, format: 'json' });
    expect(r.status).toBe(422);
    expect(r.data.errors).toEqual([
      expect.objectContaining({
        path: '/url',
        code: 'destination',
        message: expect.stringMatching(/must point to a public address/),
      }),
    ]);
  });

  test('when ops register one of them, then it is refused too: only the configuration allows a host', async () => {
    const r = await api(t, 'post', '/v1/subscribers', 'ops', {
      url: 'http://169.254.169.254/latest/meta-data/',
      format: 'json',
    });
    expect(r.status).toBe(422);
    expect(r.data.errors[0]).toMatchObject({ path: '/url', message: expect.stringContaining('linkLocal') });
  });

  test('when the URL is public, NAT64 of a public address, a name, or the allow-listed host, then it is created', async () => {
    for (const url of [
      'https://hooks.picc.example.cn/hifob',
      'http://[64:ff9b::808:808]/hook',
      'http://[2400:3200::1]/hook',
      'https://rebind.example/hook',
      `http://${ALLOWED}:9/hook`,
    ]) {
      const r = await api(t, 'post', '/v1/subscribers', 'insurerA', {
        url,
        format: 'json',
        filter: { insurer_code: 'PICC_DH', codes: ['NEVER_RAISED'] },
      });
      expect([url, r.status]).toEqual([url, 201]);
    }
  });

  test('when the subscribers file lists a private address, then start-up is refused with the entry named', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-ssrf-'));
    const file = path.join(dir, 'subscribers.json');
    fs.writeFileSync(
      file,
      JSON.stringify([
        {
          id: 'ops-internal',
          url: 'http://10.1.2.3/hook',
          format: 'json',
          secret: `whsec_${Buffer.alloc(32, 1).toString('base64')}`,
        },
      ]),
    );
    await expect(loadSubscribersFile(t.gw.db, file, new Date())).rejects.toThrow(
      /\/0\/url must point to a public address: 10\.1\.2\.3/,
    );
    expect(await loadSubscribersFile(t.gw.db, file, new Date(), ['10.1.2.3'])).toBe(1);
    fs.rmSync(dir, { recursive: true });
    await api(t, 'delete', '/v1/subscribers/ops-internal', 'ops');
  });

  test('when GATEWAY_SUBSCRIBER_ALLOW_HOSTS holds a URL or a port, then the configuration is refused', () => {
    expect(() => loadConfig({ GATEWAY_SUBSCRIBER_ALLOW_HOSTS: 'http://hooks.internal/' })).toThrow(
      /GATEWAY_SUBSCRIBER_ALLOW_HOSTS/,
    );
    expect(() => loadConfig({ GATEWAY_SUBSCRIBER_ALLOW_HOSTS: '10.0.0.5:8080' })).toThrow(
      /GATEWAY_SUBSCRIBER_ALLOW_HOSTS/,
    );
    expect(
      loadConfig({ GATEWAY_SUBSCRIBER_ALLOW_HOSTS: 'hooks.internal, 10.0.0.5,[fd00::5]' }).subscriberAllowHosts,
    ).toEqual(['hooks.internal', '10.0.0.5', '[fd00::5]']);
  });
});

describe('connect time', () => {
  /** A subscriber stored as it was before registration checked anything (or by a rebound name). */
  async function storedSubscriber(url: string, insurer: string): Promise<string> {
    const s = await createSubscriber(
      t.gw.db,
      { url, format: 'json', filter: { insurer_code: insurer }, enabled: true },
      TEST_CLIENTS.insurerA.client_id,
      new Date(),
    );
    return s.id;
  }
  async function firstAttempt(subId: string): Promise<any> {
    await until(
      async () => ['failed', 'delivered', 'dead'].includes((await deliveriesOf(t, subId))[0]?.status),
      20_000,
      'the first attempt',
    );
    return (await deliveriesOf(t, subId))[0];
  }

  // The owner is insurerA, so the cases are its insurer's (PICC_DH): an insurer's subscriber is sent only
  // what that insurer may read (notifications/audience.ts). Each case has its own institution.
  test.each([
    [
      'a name that resolves to loopback',
      (port: number) => `http://localhost:${port}/hook`,
      'H53310299001',
      /DESTINATION_REFUSED: localhost resolves to (127\.0\.0\.1|::1), not a public address \(loopback\)/,
    ],
    [
      'a loopback address',
      (port: number) => `http://127.0.0.1:${port}/hook`,
      'H53310299002',
      /DESTINATION_REFUSED: 127\.0\.0\.1 is not a public address \(loopback\)/,
    ],
  ])(
    'when a stored subscriber points at %s, then nothing is sent; the insurer reads "delivery failed", ops the reason',
    async (_what, urlOf, fixmedins, detail) => {
      const internal = await receiver();
      const subId = await storedSubscriber(urlOf(Number(new URL(internal.url).port)), 'PICC_DH');
      await openCases(t, [finding({ insurer_code: 'PICC_DH', fixmedins_code: fixmedins })]);
      const d = await firstAttempt(subId);
      expect(d.status).toBe('failed');
      expect(internal.received).toEqual([]);

      const asOps = await api(t, 'get', `/v1/deliveries/${d.id}`, 'ops');
      expect(asOps.data.last_error).toMatch(detail);
      expect(asOps.data.attempt_log[0].error).toMatch(detail);
      const asInsurer = await api(t, 'get', `/v1/deliveries/${d.id}`, 'insurerA');
      expect(asInsurer.status).toBe(200);
      expect(asInsurer.data.last_error).toBe(GENERIC_DELIVERY_ERROR);
      expect(asInsurer.data.attempt_log).toEqual([
        expect.objectContaining({ error: GENERIC_DELIVERY_ERROR, status_code: null }),
      ]);
      const listed = await api(t, 'get', `/v1/deliveries?subscriber_id=${subId}`, 'insurerA');
      expect(listed.data.items).toEqual([expect.objectContaining({ id: d.id, last_error: GENERIC_DELIVERY_ERROR })]);
      expect(JSON.stringify([asInsurer.data, listed.data])).not.toMatch(
        /127\.0\.0\.1|::1|localhost|ECONNREFUSED|DESTINATION_REFUSED/,
      );
    },
  );

  test('when a registered name is rebound to loopback, then the address it resolves to at connect time is refused', async () => {
    const internal = await receiver();
    const port = Number(new URL(internal.url).port);
    const url = `http://rebind.example:${port}/hook`;
    // Registration sees a name and lets it pass: only connect time knows where it points.
    expect(
      (
        await api(t, 'post', '/v1/subscribers', 'insurerA', {
          url,
          format: 'json',
          filter: { insurer_code: 'PICC_DH', codes: ['NEVER_RAISED'] },
        })
      ).status,
    ).toBe(201);

    const dns = fakeDns({ 'rebind.example': ['127.0.0.1'], 'mixed.example': ['93.184.216.34', '127.0.0.1'] });
    const send = createHttpSender(createDestinationGuard([ALLOWED], dns));
    const r = await send(url, '{}', { 'content-type': 'application/json' }, 3000);
    expect(r).toEqual({
      kind: 'error',
      message: expect.stringMatching(
        /^DESTINATION_REFUSED: rebind\.example resolves to 127\.0\.0\.1, not a public address \(loopback\)/,
      ),
    });
    // One private address among public ones is enough.
    expect(await send(`http://mixed.example:${port}/hook`, '{}', {}, 3000)).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^DESTINATION_REFUSED: mixed\.example resolves to 127\.0\.0\.1/),
    });
    // A literal needs no lookup, and is judged all the same.
    expect(await send(`http://127.0.0.1:${port}/hook`, '{}', {}, 3000)).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^DESTINATION_REFUSED: 127\.0\.0\.1 is not a public address/),
    });
    expect(internal.received).toEqual([]);

    // The same resolver with the name allowed: the request does go out, so it was this lookup that refused.
    const allowed = createHttpSender(createDestinationGuard(['rebind.example'], dns));
    expect(await allowed(url, '{}', { 'content-type': 'application/json' }, 3000)).toMatchObject({
      kind: 'response',
      status: 200,
    });
    expect(internal.received).toHaveLength(1);
  });

  test('when the receiver redirects to loopback, then the redirect is not followed', async () => {
    const internal = await receiver();
    const redirector = await receiver(() => ({ status: 302, headers: { location: internal.url } }), ALLOWED);
    const sub = await subscribe(t, {
      url: redirector.url,
      format: 'json',
      filter: { insurer_code: 'INS_SSRF_REDIRECT' },
    });
    await openCases(t, [finding({ insurer_code: 'INS_SSRF_REDIRECT' })]);
    const d = await firstAttempt(sub.id);
    expect(d).toMatchObject({ status: 'failed', last_status: 302 });
    expect(redirector.received).toHaveLength(1);
    expect(internal.received).toEqual([]);
  });

  test('when ops allow a host, then webhooks to it are delivered', async () => {
    const allowed = await receiver(undefined, ALLOWED);
    const sub = await subscribe(t, { url: allowed.url, format: 'json', filter: { insurer_code: 'INS_SSRF_ALLOWED' } });
    const [caseId] = await openCases(t, [finding({ insurer_code: 'INS_SSRF_ALLOWED' })]);
    const [got] = await allowed.waitFor(1);
    expect(got!.json.data.id).toBe(caseId);
    expect((await firstAttempt(sub.id)).status).toBe('delivered');
  });
});

describe('address ranges (ipaddr.js)', () => {
  test('special-use addresses are named by their range; public ones, and NAT64 or 6to4 of public ones, pass', () => {
    expect(
      Object.fromEntries(
        [
          '127.0.0.1',
          '::1',
          '10.0.0.1',
          '169.254.169.254',
          '0.1.2.3',
          '100.64.0.1',
          '224.0.0.1',
          '255.255.255.255',
          '192.0.2.1',
          'fd00::1',
          'fe80::1',
          'ff02::1',
          '::',
          '::ffff:8.8.8.8',
          '64:ff9b::a00:1',
          '2002:c0a8:101::',
          '2001::1',
        ].map((a) => [a, specialRange(a)]),
      ),
    ).toEqual({
      '127.0.0.1': 'loopback',
      '::1': 'loopback',
      '10.0.0.1': 'private',
      '169.254.169.254': 'linkLocal',
      '0.1.2.3': 'unspecified',
      '100.64.0.1': 'carrierGradeNat',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'broadcast',
      '192.0.2.1': 'reserved',
      'fd00::1': 'uniqueLocal',
      'fe80::1': 'linkLocal',
      'ff02::1': 'multicast',
      '::': 'unspecified',
      '::ffff:8.8.8.8': 'ipv4Mapped (8.8.8.8)',
      '64:ff9b::a00:1': 'NAT64 of 10.0.0.1 (private)',
      '2002:c0a8:101::': '6to4 of 192.168.1.1 (private)',
      '2001::1': 'teredo',
    });
    for (const a of ['8.8.8.8', '223.5.5.5', '2400:3200::1', '64:ff9b::808:808', '2002:808:808::'])
      expect([a, specialRange(a)]).toEqual([a, undefined]);
  });
});
