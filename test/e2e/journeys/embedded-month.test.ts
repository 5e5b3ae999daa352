/**
 * The embedded default under a real month (issue 12): a newcomer tries `npm start` with a month of
 * their own — 20,000 settlements of two institutions, their declarations and payments — fed and
 * reconciled while someone watches the gateway. Before, one reconciliation run held PGlite's single
 * connection for 71 s: `/readyz` and the run's status waited until the server cut them off, and
 * BullMQ logged `Missing lock for job` and ran the reconciliation again.
 *
 * While the month is fed, processed and reconciled, /readyz and the run's status are asked every 250 ms:
 * 95% must answer within PROBE_TIMEOUT_MS (2 s, the bound), none past PROBE_MAX_MS, and no job
 * may lose its lock. EMBEDDED_MONTH_SIZE changes the size.
 */
import { journeyEnv, linesMatching, startGateway, until, type GatewayProc, type JourneyEnv } from './journey-support';
import { batchOf, paymentOf, record } from '../../support/month-generator';
import type { Settlement } from '../../../src/schemas/types';

const SIZE = Number(process.env.EMBEDDED_MONTH_SIZE ?? 20_000);
const PROBE_TIMEOUT_MS = Number(process.env.EMBEDDED_PROBE_TIMEOUT_MS ?? 2_000);
const PROBE_MAX_MS = Number(process.env.EMBEDDED_PROBE_MAX_MS ?? 10_000);
const FEED_CHUNK = 1_000;
const INSTITUTIONS = [
  { code: 'H53310200001', client: 'hospital1' },
  { code: 'H53310200002', client: 'hospital2' },
] as const;

let env: JourneyEnv;
let gw: GatewayProc;

beforeAll(async () => {
  env = await journeyEnv('embedded-month', 'embedded', { GATEWAY_WORKER_CONCURRENCY: '8', LOG_LEVEL: 'info' });
  gw = await startGateway(env);
  await gw.waitReady();
}, 120_000);

afterAll(async () => {
  await gw?.stop('SIGTERM', 60_000).catch(() => undefined);
  await env?.cleanup();
});

interface Probe {
  what: string;
  ms: number;
  status: number | string;
}

/** Ask /readyz and (once there is one) the run's status every 250 ms until stopped. */
function startProbes(runId: () => string | undefined) {
  const probes: Probe[] = [];
  let stop = false;
  const one = async (what: string, path: string, as: 'agency' | null) => {
    const t0 = Date.now();
    const r = await gw.get(path, as).then(
      (x) => x.status,
      (e: Error) => e.message,
    );
    probes.push({ what, ms: Date.now() - t0, status: r });
  };
  const loop = (async () => {
    while (!stop) {
      const id = runId();
      await Promise.all([
        one('readyz', '/readyz', null),
        ...(id ? [one('run', `/v1/reconciliations/${id}`, 'agency')] : []),
      ]);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    probes,
    async stop() {
      stop = true;
      await loop;
    },
  };
}

test(`when a ${SIZE}-settlement month is fed and reconciled on the embedded database, then /readyz and the run's status keep answering and no job loses its lock`, async () => {
  const perInstitution = Math.ceil(SIZE / INSTITUTIONS.length);
  const records: Settlement[][] = INSTITUTIONS.map((inst, k) =>
    Array.from({ length: perInstitution }, (_, i) =>
      record(`EM${k}-${String(i).padStart(6, '0')}`, {
        fixmedins: inst.code,
        insurer: 'PICC_DH',
        hifob: `${1000 + (i % 900)}.00`,
        day: 1 + (i % 28),
        psn: `P-EM${k}-${i % 5000}`,
      }),
    ),
  );
  let runId: string | undefined;
  const probes = startProbes(() => runId);
  const t0 = Date.now();
  const ids: string[] = [];
  try {
    // In requests of 1,000 records, as `gateway import` sends a file (the README: on the embedded
    // database one feed request holds the database while it is stored).
    const all = records.flat();
    for (let from = 0; from < all.length; from += FEED_CHUNK) {
      const ndjson =
        all
          .slice(from, from + FEED_CHUNK)
          .map((s) => JSON.stringify(s))
          .join('\n') + '\n';
      const feed = await gw.post('/v1/agency/settlements', ndjson, 'agency', {
        contentType: 'application/x-ndjson',
        timeoutMs: 120_000,
      });
      expect([feed.status, feed.data?.rejected?.length ?? 0]).toEqual([202, 0]);
    }
    for (const [k, inst] of INSTITUTIONS.entries()) {
      const batch = await gw.post(
        '/v1/settlement-batches',
        batchOf(
          `EMB-${inst.code}`,
          inst.code,
          'PICC_DH',
          records[k]!.map((s) => ({ s })),
        ),
        inst.client,
        { timeoutMs: 120_000 },
      );
      expect(batch.status).toBe(202);
      ids.push(batch.data.message_id);
      for (let from = 0; from < records[k]!.length; from += 1000) {
        const lines = records[k]!.slice(from, from + 1000).map((s) => ({
          setl_id: s.setl_id,
          paid: String(s.hifob_pay),
        }));
        const p = await gw.post(
          '/v1/insurer-payments',
          paymentOf(
            'PICC_DH',
            `EMP-${k}-${from}`,
            { type: 'institution', id: inst.code },
            '2025-04-15T10:00:00+08:00',
            lines,
          ),
          'insurerA',
          { timeoutMs: 120_000 },
        );
        expect(p.status).toBe(202);
        ids.push(p.data.message_id);
      }
    }
    const accepted = Date.now();
    const run = await gw.post(
      '/v1/reconciliations',
      { admdvs: '5331', period: '2025-03', as_of: '2025-05-20T00:00:00+08:00' },
      'agency',
    );
    expect(run.status).toBe(202);
    runId = run.data.run_id;
    const done = await until(
      'the run completed',
      async () => {
        const r = await gw.get(`/v1/reconciliations/${runId}`, 'agency').catch(() => undefined);
        if (r?.data?.status === 'failed') throw new Error(`the run failed: ${JSON.stringify(r.data)}`);
        return r?.data?.status === 'completed' ? r.data : undefined;
      },
      900_000,
      500,
    );
    const finished = Date.now();
    const recorded = done.institutions.reduce(
      (n: number, i: { recorded_cnt: number }) => n + Number(i.recorded_cnt),
      0,
    );
    expect(recorded).toBe(perInstitution * INSTITUTIONS.length);
    const worst = (what: string) => Math.max(0, ...probes.probes.filter((p) => p.what === what).map((p) => p.ms));
    // The figures a reader of the test log wants (they are not asserted beyond the bound below).
    console.log(
      JSON.stringify({
        size: SIZE,
        accepted_s: (accepted - t0) / 1000,
        reconciled_s: (finished - accepted) / 1000,
        probes: probes.probes.length,
        worst_readyz_ms: worst('readyz'),
        worst_run_ms: worst('run'),
        p99_ms: [...probes.probes.map((p) => p.ms)].sort((a, b) => a - b)[Math.floor(probes.probes.length * 0.99)],
      }),
    );
  } finally {
    await probes.stop();
  }
  // Every probe answered 200; 95% within the 2 s, and none past PROBE_MAX_MS: the few single
  // statements that store a whole request (a 10,000-item declaration, a 1,000-record feed chunk) hold
  // the one connection longer, the more so on a 2-core CI machine running another test file beside
  // this one (seen there: p99 2.6 s, worst 6.7 s; with the machine to itself: worst 3.4 s).
  expect(probes.probes.filter((p) => p.status !== 200)).toEqual([]);
  const ms = probes.probes.map((p) => p.ms).sort((a, b) => a - b);
  const p95 = ms[Math.floor(ms.length * 0.95)] ?? 0;
  expect({ p95_within_bound: p95 <= PROBE_TIMEOUT_MS, p95 }).toEqual({ p95_within_bound: true, p95 });
  expect(probes.probes.filter((p) => p.ms > PROBE_MAX_MS)).toEqual([]);
  expect(linesMatching(gw.output, /Missing lock|lock.*(lost|expired)|stalled/i)).toEqual([]);
}, 1_200_000);
