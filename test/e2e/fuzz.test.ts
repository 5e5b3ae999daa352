/**
 * Property-based fuzzing of every write endpoint (issue 7 of 7 §3): mutated valid messages, wrong
 * types, huge numbers, NaN-ish strings, deep nesting, giant arrays, invalid UTF-8, duplicate keys,
 * wrong content types and truncated bodies — all correctly signed, so they reach the parsers. Never
 * a 5xx, always a problem document (with paths on 400/422), and the gateway keeps serving.
 * FUZZ_RUNS sets the number of cases per endpoint (short form in CI; `npm run test:fuzz` runs 100,000 in all).
 */
import fc from 'fast-check';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import type { TestClientName } from '../support/test-clients';
import * as fx from '../support/fixtures';
import { zipSync } from 'fflate';

const RUNS = Number(process.env.FUZZ_RUNS ?? 100);
let t: TestGateway;
beforeAll(async () => {
  t = await startTestGateway('fuzz', {
    workers: false,
    env: { GATEWAY_RATE_LIMIT_PER_SECOND: '1000000', GATEWAY_MAX_BODY_BYTES: '2000000' },
  });
});
afterAll(async () => {
  await t.close();
});

const endpoints: { path: string; as: TestClientName; valid: () => Record<string, unknown> }[] = [
  { path: '/v1/insurer-payments', as: 'insurerA', valid: () => fx.payment() as unknown as Record<string, unknown> },
  { path: '/v1/settlement-batches', as: 'hospital1', valid: () => fx.batch() as unknown as Record<string, unknown> },
  { path: '/v1/recoveries', as: 'insurerA', valid: () => fx.recovery() as unknown as Record<string, unknown> },
  { path: '/v1/spending-plans', as: 'insurerA', valid: () => fx.plan() as unknown as Record<string, unknown> },
  {
    path: '/v1/agency/disbursements',
    as: 'agency',
    valid: () => fx.disbursement() as unknown as Record<string, unknown>,
  },
  // The fund year (spec §8).
  {
    path: '/v1/premium-collections',
    as: 'tax',
    valid: () => ({
      collection_id: 'PC-1',
      admdvs: '150902',
      fund_year: '2025',
      period: '2025-01',
      payer_type: 'employer',
      insured_count: 10,
      amount: '1200.00',
      late_fee: '0.00',
      collected_at: '2025-01-20 10:00:00',
    }),
  },
  {
    path: '/v1/fund-transfers',
    as: 'finance',
    valid: () => ({
      transfer_id: 'FT-1',
      admdvs: '150902',
      fund_year: '2025',
      period: '2025-01',
      from_account: 'tax',
      to_account: 'treasury',
      amount: '1200.00',
      transferred_at: '2025-02-05T10:00:00+08:00',
      bank_txn_no: 'BK1',
    }),
  },
  {
    path: '/v1/insurer-cost-reports',
    as: 'insurerA',
    valid: () => ({
      insurer_code: 'PICC_DH',
      admdvs: '5331',
      fund_year: '2024',
      revision: 1,
      operating_cost: '81000.00',
      items: [{ category: '人员经费', amount: '1.00' }],
      reported_at: '2025-04-15T10:00:00+08:00',
    }),
  },
  {
    path: '/v1/agency/settlements',
    as: 'agency',
    valid: () => ({ settlements: [fx.settlement(), fx.settlement({ setl_id: 'S0002' })] }),
  },
];

const nasty = fc.oneof(
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '1e999',
    '-0',
    '0x10',
    '1_000',
    '١٢٣',
    '1.005',
    ' 1.00',
    '',
    '\u0000',
    '𠀀'.repeat(40),
    '2024-02-30 10:00:00',
    '9999-99-99T99:99:99+99:99',
  ),
  fc.double(),
  fc.integer(),
  fc.bigInt().map((b) => Number(b)),
  fc.constant(1e308),
  fc.constant(-1),
  fc.constant(0.1 + 0.2),
  fc.string({ maxLength: 300 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.anything(), { maxLength: 5 }),
  fc.object({ maxDepth: 3 }),
);

type Mut = { kind: 'json'; body: unknown } | { kind: 'raw'; raw: string | Buffer; contentType?: string };

function setPath(obj: unknown, path: (string | number)[], value: unknown): unknown {
  if (!path.length) return value;
  const [head, ...rest] = path;
  const base = obj && typeof obj === 'object' ? (Array.isArray(obj) ? [...obj] : { ...(obj as object) }) : {};
  (base as Record<string, unknown>)[head as string] = setPath(
    (base as Record<string, unknown>)[head as string],
    rest,
    value,
  );
  return base;
}

function pathsOf(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, Array.isArray(v) ? Number(k) : k], out);
  return out;
}

const mutation = (valid: Record<string, unknown>): fc.Arbitrary<Mut> => {
  const paths = pathsOf(valid);
  const text = JSON.stringify(valid);
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(fc.constantFrom(...paths), nasty)
        .map(([p, v]) => ({ kind: 'json' as const, body: setPath(valid, p, v) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .constantFrom(...paths.filter((p) => p.length))
        .map((p) => ({ kind: 'json' as const, body: setPath(valid, p, undefined) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 0, max: text.length - 1 })
        .map((n) => ({ kind: 'raw' as const, raw: text.slice(0, n) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 5_000 })
        .map((d) => ({ kind: 'raw' as const, raw: '['.repeat(d) + ']'.repeat(d) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .integer({ min: 1, max: 5_000 })
        .map((d) => ({ kind: 'raw' as const, raw: `{"a":${'{"a":'.repeat(d)}1${'}'.repeat(d)}}` })),
    },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1000, max: 60_000 }).map((n) => ({
        kind: 'json' as const,
        body: { ...valid, lines: Array(n).fill({ setl_id: 'x', paid_amount: '1' }), items: Array(n).fill(0) },
      })),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => ({
        kind: 'raw' as const,
        raw: Buffer.concat([Buffer.from('{"a":"'), Buffer.from(b), Buffer.from('"}')]),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constant({
        kind: 'raw' as const,
        raw: text.replace('{', '{"insurer_code":"ZZ","batch_id":"dup",'),
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          'text/plain',
          'application/xml',
          'multipart/form-data; boundary=x',
          'application/json; charset=latin1',
          'garbage',
        )
        .map((ct) => ({ kind: 'raw' as const, raw: text, contentType: ct })),
    },
  );
};

describe.each(endpoints)('fuzzing $path', (e) => {
  test(
    `when ${RUNS} mutated bodies are posted, then none gets a 5xx and every error is a problem document`,
    async () => {
      await fc.assert(
        fc.asyncProperty(mutation(e.valid()), async (m) => {
          const r =
            m.kind === 'json'
              ? await t.post(e.path, m.body, e.as)
              : await t.post(e.path, null, e.as, { raw: m.raw, contentType: m.contentType });
          if (r.status >= 500) throw new Error(`${r.status}: ${JSON.stringify(r.data).slice(0, 500)}`);
          if (r.status >= 400) {
            expect(r.headers['content-type']).toContain('application/problem+json');
            expect(r.data).toMatchObject({ type: expect.any(String), title: expect.any(String), status: r.status });
            if (r.status === 422) for (const er of r.data.errors) expect(typeof er.path).toBe('string');
          }
        }),
        { numRuns: RUNS },
      );
      expect((await t.get('/healthz', null)).status).toBe(200);
      // The long form's cases include bodies of megabytes, signed in JavaScript: allow ~60 ms a case.
    },
    Math.max(300_000, RUNS * 60),
  );
});

/** Every string of a valid body, one at a time, given text PostgreSQL cannot store (the long run found a NUL reaching the INSERT). */
describe.each(endpoints)('unstorable text in $path', (e) => {
  test('when any string field holds a NUL or an unpaired surrogate, then the field is refused by its path and nothing is stored', async () => {
    const feed = e.path === '/v1/agency/settlements';
    // The feed's own ids: the fuzzing above may have stored another version of S0001/S0002 (a mutated
    // body whose other record was valid), and a record that conflicts with it would refuse the feed.
    const valid = feed
      ? { settlements: [fx.settlement({ setl_id: 'NUL-0001' }), fx.settlement({ setl_id: 'NUL-0002' })] }
      : e.valid();
    const stringPaths = pathsOf(valid).filter(
      (p) =>
        p.length && typeof p.reduce<unknown>((o, k) => (o as Record<string, unknown>)[k as string], valid) === 'string',
    );
    expect(stringPaths.length).toBeGreaterThan(3);
    // A feed answers per record (the record rejected, the other one of the feed accepted once); a
    // single message answers 422.
    const stored = async () =>
      (
        await t.gw.db.query<{ n: string }>(
          feed
            ? `SELECT count(*) AS n FROM settlement_records WHERE setl_id NOT IN ('NUL-0001', 'NUL-0002')`
            : 'SELECT count(*) AS n FROM messages',
        )
      ).rows[0]!.n;
    const before = await stored();
    for (const p of stringPaths) {
      for (const bad of ['A\u0000B', 'A\ud800']) {
        const r = await t.post(e.path, setPath(valid, p, bad), e.as);
        const where = p.join('/');
        if (feed) {
          // Anything but an answer per record says what it was: the status and the start of the body.
          const answer = [200, 202].includes(r.status) ? 'ok' : `${r.status} ${JSON.stringify(r.data).slice(0, 400)}`;
          expect([answer, where]).toEqual(['ok', where]);
          const rejected = (r.data.rejected as { index: number; errors: { path: string }[] }[]).find(
            (x) => x.index === p[1],
          );
          expect([rejected?.errors.map((x) => x.path), where]).toEqual([[`/${p.slice(2).join('/')}`], where]);
        } else {
          expect([r.status, where]).toEqual([422, where]);
          expect([r.data.errors.map((x: { path: string }) => x.path), where]).toEqual([[`/${where}`], where]);
        }
      }
    }
    expect(await stored()).toBe(before);
  }, 120_000);
});

/**
 * POST /v1/platform (spec §9) with every infno: mutated envelopes (the same mutations as above, and
 * any infno) never answer 5xx; a 200 is a response envelope (infcode 0, or −1 with an err_msg), any
 * other answer a problem document.
 */
const platformEnvelopes: { infno: string; as: TestClientName; valid: () => Record<string, unknown> }[] = [
  {
    infno: '2207',
    as: 'agency',
    valid: () => {
      const {
        insuplc_admdvs,
        mdtrtarea_admvs,
        fixmedins_code,
        setldetail,
        insurer_code: _i,
        setl_mode: _m,
        referral: _r,
        status: _s,
        ...setlinfo
      } = fx.settlement({ setl_id: 'FZ-PLAT-1', insuplc_admdvs: '999901' });
      return {
        infno: '2207',
        msgid: 'H5331020000120250310093000001',
        insuplc_admdvs,
        mdtrtarea_admvs,
        fixmedins_code,
        input: { setlinfo: { ...setlinfo, clr_type: '21', clr_way: '1', refl_flag: '0' }, setldetail },
      };
    },
  },
  {
    infno: '2208',
    as: 'agency',
    valid: () => ({
      infno: '2208',
      insuplc_admdvs: '999901',
      input: { data: { setl_id: 'FZ-PLAT-1', mdtrt_id: 'M0001', psn_no: 'P0001' } },
    }),
  },
  {
    infno: '3201',
    as: 'hospital1',
    valid: () => ({
      infno: '3201',
      fixmedins_code: 'H53310200001',
      input: {
        data: {
          insutype: '310',
          clr_type: '21',
          setl_optins: '999900',
          stmt_begndate: '2025-03-01',
          stmt_enddate: '2025-03-31',
          medfee_sumamt: '300000.00',
          fund_pay_sumamt: '270000.00',
          acct_pay: '0.00',
          fixmedins_setl_cnt: 1,
          refd_setl_flag: '0',
        },
      },
    }),
  },
  // 9101 / 3202 / 9102: the detail file (table 200) of one settlement, uploaded before the runs (platformFile).
  {
    infno: '9101',
    as: 'hospital1',
    valid: () => ({
      infno: '9101',
      fixmedins_code: 'H53310200001',
      input: { fsUploadIn: { in: [...FUZZ_TSV], filename: 'fz.txt', fixmedins_code: 'H53310200001' } },
    }),
  },
  {
    infno: '3202',
    as: 'hospital1',
    valid: () => ({
      infno: '3202',
      fixmedins_code: 'H53310200001',
      input: {
        data: {
          setl_optins: '533100',
          file_qury_no: platformFile,
          stmt_begndate: '2025-03-01',
          stmt_enddate: '2025-03-31',
          medfee_sumamt: '300000.00',
          fund_pay_sumamt: '270000.00',
          cash_payamt: '30000.00',
          fixmedins_setl_cnt: 1,
          refd_setl_flag: '0',
          clr_type: '11',
        },
      },
    }),
  },
  {
    infno: '9102',
    as: 'hospital1',
    valid: () => ({
      infno: '9102',
      fixmedins_code: 'H53310200001',
      input: { fsDownloadIn: { file_qury_no: platformFile, filename: 'fz.txt', fixmedins_code: 'H53310200001' } },
    }),
  },
];
const FUZZ_TSV = Buffer.from('FZ-1\tM0001\tP0001\t300000.00\t270000.00\t0.00\t0\n');
let platformFile = 'F-NOT-UPLOADED';

describe.each(platformEnvelopes)('fuzzing /v1/platform infno $infno', (e) => {
  beforeAll(async () => {
    if (platformFile !== 'F-NOT-UPLOADED') return;
    const up = await t.post('/v1/platform', platformEnvelopes.find((x) => x.infno === '9101')!.valid(), 'hospital1');
    platformFile = up.data.output.file_qury_no;
  });
  test(
    `when ${RUNS} mutated envelopes are posted, then none gets a 5xx: a 200 is a response envelope, anything else a problem document`,
    async () => {
      const anyInfno = fc
        .tuple(
          fc.oneof(
            fc.constantFrom('2207', '2208', '3201', '3202', '9101', '9102', '', ' 2207', '2207\u0000'),
            fc.string({ maxLength: 8 }),
          ),
          fc.constant(e.valid()),
        )
        .map(([infno, v]) => ({ kind: 'json' as const, body: { ...v, infno } }));
      await fc.assert(
        fc.asyncProperty(
          fc.oneof({ weight: 9, arbitrary: mutation(e.valid()) }, { weight: 1, arbitrary: anyInfno }),
          async (m) => {
            const r =
              m.kind === 'json'
                ? await t.post('/v1/platform', m.body, e.as)
                : await t.post('/v1/platform', null, e.as, { raw: m.raw, contentType: m.contentType });
            if (r.status >= 500) throw new Error(`${r.status}: ${JSON.stringify(r.data).slice(0, 500)}`);
            // A 9102 answers the file itself (text or zip); anything else at 200 is an envelope.
            if (r.status === 200 && !String(r.headers['content-type']).includes('json'))
              expect(r.headers['content-disposition']).toMatch(/^attachment; /);
            else if (r.status === 200) {
              expect([0, -1]).toContain(r.data.infcode);
              if (r.data.infcode === -1) expect(typeof r.data.err_msg).toBe('string');
            } else {
              expect(r.headers['content-type']).toContain('application/problem+json');
              expect(r.data).toMatchObject({ type: expect.any(String), title: expect.any(String), status: r.status });
            }
          },
        ),
        { numRuns: RUNS },
      );
      expect((await t.get('/healthz', null)).status).toBe(200);
    },
    Math.max(300_000, RUNS * 60),
  );
});

/** 9101 with broken files: random bytes, random text, zips of random or truncated content, as byte arrays or base64, named .txt or .zip. */
describe('fuzzing /v1/platform 9101 files', () => {
  test(
    `when ${RUNS} broken files are uploaded, then none gets a 5xx: each is an envelope (0, or −1 naming input.fsUploadIn)`,
    async () => {
      const line = fc
        .array(
          fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('FZ-1', '1.00', '-3.50', '0', '1', '12.345', '')),
          { minLength: 0, maxLength: 9 },
        )
        .map((cols) => cols.join('\t'));
      const text = fc
        .tuple(fc.array(line, { maxLength: 20 }), fc.constantFrom('\n', '\r\n'))
        .map(([ls, eol]) => Buffer.from(ls.join(eol), 'utf8'));
      const bytes = fc.uint8Array({ maxLength: 4000 }).map((b) => Buffer.from(b));
      const content = fc.oneof(text, bytes, fc.constant(FUZZ_TSV));
      const file = fc.tuple(content, fc.constantFrom('plain', 'zip', 'truncated-zip', 'zip-two')).map(([c, how]) => {
        if (how === 'plain') return { c, name: 'f.txt' };
        const z = Buffer.from(zipSync(how === 'zip-two' ? { 'a.txt': c, 'b.txt': c } : { 'a.txt': c }));
        return { c: how === 'truncated-zip' ? z.subarray(0, Math.floor(z.length / 2)) : z, name: 'f.txt.zip' };
      });
      await fc.assert(
        fc.asyncProperty(file, fc.boolean(), async (f, asBase64) => {
          const body = {
            infno: '9101',
            fixmedins_code: 'H53310200001',
            input: {
              fsUploadIn: {
                in: asBase64 ? f.c.toString('base64') : [...f.c],
                filename: f.name,
                fixmedins_code: 'H53310200001',
              },
            },
          };
          const r = await t.post('/v1/platform', body, 'hospital1');
          if (r.status >= 500) throw new Error(`${r.status}: ${JSON.stringify(r.data).slice(0, 500)}`);
          expect(r.status).toBe(200);
          if (r.data.infcode !== 0)
            expect([r.data.infcode, r.data.err_msg]).toEqual([-1, expect.stringMatching(/^input\.fsUploadIn/)]);
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(300_000, RUNS * 60),
  );
});
