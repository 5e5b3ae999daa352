/**
 * The agency feed under unauthenticated load (issue 13), against the API process as deployed (a child
 * process of its own, so its RSS is its own):
 *  - with 50 slow feed requests open (a known agency's x-client-id, a wrong signature, the body
 *    trickled), how long /readyz and another agency's small signed feed take (target: under 1 s);
 *  - the process RSS while 300 MB bodies with a wrong signature are refused — one NDJSON line with
 *    no line end, and one JSON string — one at a time and three at once (target: within 100 MiB of
 *    idle).
 * `npx tsx bench/feed-dos.ts` (not part of `npm run bench`: it writes 1.2 GB through the gateway).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { sign } from '../src/http/signature';
import { REDIS_URL, clearPrefix, dropDatabase, freshDatabase, startNode, type Proc } from './lib/harness';

const MIB = 1024 * 1024;
/** DOS_SLOW=0 skips the slow-request part (a gateway without the fix never answers it). */
const SLOW = Number(process.env.DOS_SLOW ?? 50);
const WRONG = 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';
const A = { id: 'dos-agency-a', secret: `whsec_${crypto.createHash('sha256').update('dos-a').digest('base64')}` };
const B = { id: 'dos-agency-b', secret: `whsec_${crypto.createHash('sha256').update('dos-b').digest('base64')}` };

function clients(): string {
  const file = path.join(os.tmpdir(), `bench-dos-clients-${process.pid}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify([
      { client_id: A.id, role: 'agency', scope: ['53'], signing_secrets: [A.secret], token_sha256: [] },
      { client_id: B.id, role: 'agency', scope: ['41'], signing_secrets: [B.secret], token_sha256: [] },
    ]),
  );
  return file;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function record(setl_id: string, admdvs: string) {
  return {
    setl_id,
    mdtrt_id: `M${setl_id}`,
    psn_no: 'P1',
    insutype: '310',
    insuplc_admdvs: admdvs,
    mdtrtarea_admvs: admdvs,
    fixmedins_code: 'H41080200001',
    med_type: '21',
    setl_time: '2025-03-10 09:30:00',
    medfee_sumamt: '30000.00',
    inscp_scp_amt: '28000.00',
    hifp_pay: '18000.00',
    hifob_pay: '9000.00',
    fund_pay_sumamt: '27000.00',
    acct_pay: '0.00',
    psn_cash_pay: '3000.00',
    insurer_code: 'PICC_DH',
    setl_mode: 'direct',
    referral: false,
    status: 'valid',
  };
}

/** A feed request whose body the caller writes; resolves with the status once answered. */
function openFeed(
  url: string,
  as: { id: string; secret: string },
  o: { contentType?: string; signature?: string; body?: string } = {},
) {
  const u = new URL(url);
  const id = `msg_${crypto.randomUUID()}`;
  const ts = Math.floor(Date.now() / 1000);
  const req = http.request({
    host: u.hostname,
    port: u.port,
    method: 'POST',
    path: '/v1/agency/settlements',
    headers: {
      'content-type': o.contentType ?? 'application/x-ndjson',
      'x-client-id': as.id,
      'webhook-id': id,
      'webhook-timestamp': String(ts),
      'webhook-signature': o.signature ?? sign(as.secret, id, ts, o.body ?? ''),
      ...(o.body === undefined
        ? { 'transfer-encoding': 'chunked' }
        : { 'content-length': String(Buffer.byteLength(o.body)) }),
    },
  });
  const answer = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', () => resolve(0));
  });
  if (o.body !== undefined) req.end(o.body);
  return { req, answer };
}

const write = (req: http.ClientRequest, b: Buffer | string) =>
  new Promise<void>((resolve, reject) => {
    req.write(b, (e) => (e ? reject(e) : resolve()));
  });

async function timed<T>(f: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await f();
  return { ms: performance.now() - t0, result };
}

async function sampleRss(gw: Proc, work: () => Promise<unknown>): Promise<number> {
  let peak = gw.rssMb();
  const t = setInterval(() => {
    peak = Math.max(peak, gw.rssMb());
  }, 20);
  try {
    await work();
  } finally {
    clearInterval(t);
  }
  return peak;
}

async function hugeUnsigned(url: string, head: string, tail: string, contentType: string): Promise<number> {
  const { req, answer } = openFeed(url, A, { contentType, signature: WRONG });
  const block = Buffer.alloc(MIB, 0x61);
  await write(req, head);
  for (let sent = 0; sent < 300 * 1000 * 1000; sent += block.length) await write(req, block);
  req.end(tail);
  return answer;
}

/** 50 slow unsigned feeds open; /readyz and another agency's small feed timed meanwhile. */
async function slowPart(gw: Proc, out: string[]): Promise<void> {
  const slow = Array.from({ length: SLOW }, () => openFeed(gw.url, A, { signature: WRONG }));
  for (const s of slow) await write(s.req, `${JSON.stringify(record('DOS-SLOW', '533102'))}\n`);
  const trickle = setInterval(() => {
    for (const s of slow) s.req.write(' ');
  }, 500);
  await new Promise((r) => setTimeout(r, 1000));
  const ready: number[] = [];
  const feed: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await timed(() => fetch(`${gw.url}/readyz`).then((x) => x.status));
    if (r.result !== 200) throw new Error(`/readyz answered ${r.result}`);
    ready.push(r.ms);
    const body = JSON.stringify(record(`DOS-B-${i}`, '410802'));
    const f = await timed(() => openFeed(gw.url, B, { body }).answer);
    if (f.result !== 202) throw new Error(`the other agency's feed answered ${f.result}`);
    feed.push(f.ms);
  }
  clearInterval(trickle);
  for (const s of slow) s.req.end();
  const slowStatuses = await Promise.all(slow.map((s) => s.answer));
  const fmt = (xs: number[]) =>
    `median ${[...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!.toFixed(0)} ms, max ${Math.max(...xs).toFixed(0)} ms`;
  out.push(
    `with ${SLOW} slow unsigned feeds open: /readyz ${fmt(ready)}; another agency's 1-record feed ${fmt(feed)} (target < 1000 ms); the slow ones answered ${[...new Set(slowStatuses)].join(', ')}`,
  );
}

async function main(): Promise<void> {
  const db = `gw_bench_dos_${process.pid}`;
  const prefix = `gwb-dos-${process.pid}`;
  const dbUrl = await freshDatabase(db);
  const gw = await startNode(
    ['src/main.ts', '--role=api'],
    {
      DATABASE_URL: dbUrl,
      REDIS_URL,
      GATEWAY_QUEUE_PREFIX: prefix,
      GATEWAY_CLIENTS_FILE: clients(),
      LOG_LEVEL: 'warn',
      GATEWAY_MAX_FEED_BYTES: String(320 * MIB),
      GATEWAY_DB_POOL_SIZE: '20',
    },
    await freePort(),
  );
  const out: string[] = [];
  try {
    // Warm: the feed workers, the pool, the schemas.
    const warm = JSON.stringify(record('DOS-WARM', '410802'));
    await openFeed(gw.url, B, { body: warm }).answer;
    await new Promise((r) => setTimeout(r, 1000));
    const idle = gw.rssMb();
    out.push(`idle RSS after a warm-up feed: ${idle.toFixed(0)} MiB`);

    if (SLOW > 0) await slowPart(gw, out);
    await new Promise((r) => setTimeout(r, 1000));
    const base = gw.rssMb();
    let statuses: number[] = [];
    const line = await sampleRss(gw, async () => {
      statuses.push(await hugeUnsigned(gw.url, '{"setl_id":"', '', 'application/x-ndjson'));
    });
    out.push(
      `300 MB one-line NDJSON, wrong signature: answered ${statuses.join(', ')}; RSS peak ${line.toFixed(0)} MiB (${(line - base).toFixed(0)} MiB over ${base.toFixed(0)})`,
    );
    statuses = [];
    const str = await sampleRss(gw, async () => {
      statuses.push(await hugeUnsigned(gw.url, '{"settlements":[{"setl_id":"', '"}]}', 'application/json'));
    });
    out.push(
      `300 MB JSON string, wrong signature: answered ${statuses.join(', ')}; RSS peak ${str.toFixed(0)} MiB (${(str - base).toFixed(0)} MiB over ${base.toFixed(0)})`,
    );
    statuses = [];
    const three = await sampleRss(gw, async () => {
      statuses = await Promise.all(
        [0, 1, 2].map(() => hugeUnsigned(gw.url, '{"setl_id":"', '', 'application/x-ndjson')),
      );
    });
    out.push(
      `three 300 MB one-line NDJSON at once, wrong signature: answered ${statuses.join(', ')}; RSS peak ${three.toFixed(0)} MiB (${(three - base).toFixed(0)} MiB over ${base.toFixed(0)})`,
    );
  } finally {
    await gw.stop();
    await dropDatabase(db);
    await clearPrefix(prefix);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
