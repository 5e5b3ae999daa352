/**
 * Benchmark plumbing: a fresh PostgreSQL database and queue prefix per benchmark, the gateway as a
 * real child process (`src/main.ts`, as production runs it), RSS sampling, and result formatting.
 * Everything talks to loopback only and stops by itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import IORedis from 'ioredis';
import { queueKeyPrefix } from '../../src/config/config';

export const ROOT = path.resolve(__dirname, '..', '..');
export const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const QUICK = process.argv.includes('--quick');

export const BENCH_CLIENT = {
  client_id: 'bench-insurer',
  secret: `whsec_${crypto.createHash('sha256').update('bench').digest('base64')}`,
  token: 'tok-bench-ops-01',
  agency_id: 'bench-agency',
  agency_secret: `whsec_${crypto.createHash('sha256').update('bench-agency').digest('base64')}`,
};

export async function freshDatabase(name: string): Promise<string> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}

export async function clearPrefix(prefix: string): Promise<void> {
  const r = new IORedis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${queueKeyPrefix(prefix)}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) await r.del(...keys);
  } while (cursor !== '0');
  r.disconnect();
}

export function clientsFile(): string {
  const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
  const file = path.join(os.tmpdir(), `bench-clients-${process.pid}.json`);
  fs.writeFileSync(
    file,
    JSON.stringify([
      {
        client_id: BENCH_CLIENT.client_id,
        role: 'insurer',
        scope: ['PICC_DH', 'CPIC_DH'],
        signing_secrets: [BENCH_CLIENT.secret],
        token_sha256: [],
      },
      {
        client_id: BENCH_CLIENT.agency_id,
        role: 'agency',
        scope: ['53', '15', '99'],
        signing_secrets: [BENCH_CLIENT.agency_secret],
        token_sha256: [],
      },
      { client_id: 'bench-ops', role: 'ops', scope: [], signing_secrets: [], token_sha256: [sha(BENCH_CLIENT.token)] },
    ]),
  );
  return file;
}

export interface Proc {
  child: ChildProcess;
  url: string;
  stop(): Promise<void>;
  rssMb(): number;
}

export async function startNode(args: string[], env: Record<string, string>, port: number): Promise<Proc> {
  // `node --import tsx` keeps the server in this one process, so its RSS and profile are its own.
  const child = spawn(
    process.execPath,
    [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []), '--import', 'tsx', ...args],
    { cwd: ROOT, env: { ...process.env, ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    rssMb: () => {
      try {
        const s = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
        return Number(/VmRSS:\s+(\d+)/.exec(s)![1]) / 1024;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((r) => {
        child.once('exit', r);
        setTimeout(() => {
          child.kill('SIGKILL');
          r(undefined);
        }, 10_000);
      });
    },
  };
}

/** A worker process (`workers/all.ts`, docker-compose's `worker` service): no HTTP port to wait for. */
export function startWorkerNode(env: Record<string, string>): Proc {
  const child = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ') : []),
      '--import',
      'tsx',
      'workers/all.ts',
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return {
    child,
    url: '',
    rssMb: () => {
      try {
        return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'))![1]) / 1024;
      } catch {
        return 0;
      }
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => {
        child.once('exit', r);
        setTimeout(() => {
          child.kill('SIGKILL');
          r(undefined);
        }, 10_000);
      });
    },
  };
}

/** Peak RSS of a process while `work` runs, sampled every 100 ms. */
export async function withRssPeak<T>(proc: Proc, work: () => Promise<T>): Promise<{ result: T; peakMb: number }> {
  let peak = proc.rssMb();
  const t = setInterval(() => {
    peak = Math.max(peak, proc.rssMb());
  }, 100);
  try {
    const result = await work();
    return { result, peakMb: peak };
  } finally {
    clearInterval(t);
  }
}

export function line(
  label: string,
  value: string,
  baseline: string,
  ratio: number,
  target: string,
  ok: boolean,
): string {
  return `| ${label} | ${value} | ${baseline} | ${ratio.toFixed(2)}× | ${target} | ${ok ? 'met' : 'MISSED'} |`;
}

export const machine = () =>
  `${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
