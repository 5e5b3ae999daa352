/**
 * `npm run bench` — every benchmark in sequence, in this one process tree (each starts its own
 * gateway child process, database and queue prefix, and removes them after), each figure beside the
 * baseline that shows this machine's limit. Prints a markdown table and writes it with the machine's
 * description to bench/out/latest.md. `npm run bench -- --quick`: the small sizes (under 2 minutes
 * on a quiet machine), for everyday checks. `--only=callbacks,feed,reconciliation,matching,engine,platform3202,fund,month`
 * runs a subset.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import IORedis from 'ioredis';
import { ADMIN_URL, QUICK, REDIS_URL, ROOT, line, machine } from './lib/harness';
import { benchCallbacks } from './callbacks';
import { benchFeed } from './feed';
import { benchReconciliation } from './reconciliation';
import { benchMatchingLatency } from './matching-latency';
import { benchMonth } from './month';
import { benchFundStatement } from './fund-statement';
import { benchPlatform3202 } from './platform-3202';

const ENGINE_TARGET = 300_000;

/** The benefit engine runs in its own child (it times one core and prints its figures). */
async function benchEngine(): Promise<string[]> {
  const args = ['--import', 'tsx', 'bench/benefit-engine.ts', QUICK ? '5000' : '20000', QUICK ? '3' : '10'];
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(text) : reject(new Error(`benefit-engine exited with ${code}\n${text}`)),
    );
  });
  const m = /median ([\d,]+), best ([\d,]+), worst ([\d,]+)/.exec(out);
  const gen = /generated (\d+) persons, (\d+) settlements/.exec(out);
  if (!m) throw new Error(`benefit-engine printed no figures:\n${out}`);
  const num = (s: string) => Number(s.replace(/,/g, ''));
  const median = num(m[1]!);
  return [
    line(
      `benefit engine, settlements/s on one core (${gen ? `${gen[1]} persons, ${gen[2]} settlements` : ''})`,
      `${m[1]} median (best ${m[2]}, worst ${m[3]})`,
      `${ENGINE_TARGET.toLocaleString('en-US')} (the target)`,
      median / ENGINE_TARGET,
      '≥ 300,000/s',
      median >= ENGINE_TARGET,
    ),
  ];
}

async function describeMachine(): Promise<string> {
  const c = new Client({ connectionString: ADMIN_URL });
  await c.connect();
  const pg = (await c.query<{ version: string }>('SELECT version()')).rows[0]!.version;
  await c.end();
  const r = new IORedis(REDIS_URL);
  const info = await r.info('server');
  r.disconnect();
  const redis = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
  return [
    `- Machine: ${machine()}, ${os.platform()} ${os.release()}`,
    `- PostgreSQL: ${pg}`,
    `- Redis: ${redis}`,
    `- Load average (1 / 5 / 15 min) at the start: ${load}`,
  ].join('\n');
}

const BENCHES: Array<[string, () => Promise<string[]>]> = [
  ['callbacks', benchCallbacks],
  ['feed', benchFeed],
  ['reconciliation', () => benchReconciliation()],
  ['matching', benchMatchingLatency],
  ['engine', benchEngine],
  ['platform3202', () => benchPlatform3202()],
  ['fund', () => benchFundStatement()],
  ['month', benchMonth],
];

async function main(): Promise<void> {
  const only = process.argv
    .find((a) => a.startsWith('--only='))
    ?.slice(7)
    .split(',');
  const started = new Date();
  const desc = await describeMachine();
  process.stdout.write(`${desc}\n\n`);
  const header = ['| benchmark | measured | baseline | ratio | target | result |', '|---|---|---|---|---|---|'];
  const rows: string[] = [];
  for (const [name, run] of BENCHES) {
    if (only && !only.includes(name)) continue;
    const t0 = performance.now();
    process.stderr.write(`bench: ${name} …\n`);
    try {
      const lines = await run();
      rows.push(...lines);
      process.stdout.write(`${lines.join('\n')}\n`);
    } catch (e) {
      const l = `| ${name} | FAILED: ${(e as Error).message.split('\n')[0]} | — | — | — | MISSED |`;
      rows.push(l);
      process.stdout.write(`${l}\n`);
    }
    process.stderr.write(
      `bench: ${name} done in ${((performance.now() - t0) / 1000).toFixed(0)} s (load ${os.loadavg()[0]!.toFixed(2)})\n`,
    );
  }
  const ended = new Date();
  const md = [
    `# Benchmark run ${started.toISOString()}${QUICK ? ' (--quick)' : ''}`,
    '',
    desc,
    `- Load average at the end: ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' / ')}; wall time ${((ended.getTime() - started.getTime()) / 1000).toFixed(0)} s`,
    '',
    ...header,
    ...rows,
    '',
  ].join('\n');
  process.stdout.write(`\n${[...header, ...rows].join('\n')}\n`);
  const dir = path.join(ROOT, 'bench', 'out');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'latest.md'), md);
  process.stderr.write(`bench: written ${path.relative(process.cwd(), path.join(dir, 'latest.md'))}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
