/**
 * Journeys run the real entry points as child processes — `npm start` (`src/main.ts`), the worker
 * process (`workers/all.ts`) and the CLI (`src/cli/main.ts`, e.g. `demo --exit`) — on the embedded
 * database (PGlite in a temporary data directory) or on PostgreSQL (a database of its own per test
 * file), with a BullMQ prefix of their own. Writes are signed with the public `standardwebhooks`
 * library. A process is stopped with a signal and a bound on the wait, or killed with SIGKILL.
 *
 *   const env = await journeyEnv('restart', 'embedded');
 *   const gw = await startGateway(env);
 *   await gw.waitReady();
 *   const r = await gw.post('/v1/insurer-payments', payment(), 'insurerA');
 *   await gw.stop();              // SIGTERM, waits for the exit (throws past the bound)
 *   await env.cleanup();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import axios, { type AxiosResponse } from 'axios';
import { Webhook } from 'standardwebhooks';
import { TEST_CLIENTS, type TestClientName } from '../../support/test-clients';
import { obliterateQueues, REDIS_URL } from '../../support/test-gateway';
import { createTestDatabase } from '../../support/test-db';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export type DbMode = 'embedded' | 'pg';

/** Where one test file's gateways keep their state: a data directory or a database, a queue prefix. */
export interface JourneyEnv {
  name: string;
  mode: DbMode;
  /** A temporary directory of this test file (clients file; the embedded data under `db/`). */
  dir: string;
  /** The embedded database's directory (GATEWAY_DATA_DIR), also set in pg mode (unused there). */
  dataDir: string;
  /** The PostgreSQL database (pg mode). */
  dbUrl?: string;
  prefix: string;
  /** The environment for the child processes (PORT is chosen per start). */
  vars: Record<string, string>;
  /** Every process started in this environment (cleanup kills those still running). */
  procs: Proc[];
  /** kill -9 whatever still runs, drop the database and queue keys, remove the directory. */
  cleanup(): Promise<void>;
}

/** A fresh environment: a clients file with every test client, a database or data directory, a queue prefix. */
export async function journeyEnv(name: string, mode: DbMode, over: Record<string, string> = {}): Promise<JourneyEnv> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `gw-journey-${name}-`));
  const clientsFile = path.join(dir, 'clients.json');
  const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify(
      Object.values(TEST_CLIENTS).map((c) => ({
        client_id: c.client_id,
        role: c.role,
        scope: [...c.scope],
        signing_secrets: [c.secret],
        token_sha256: [sha(c.token)],
      })),
    ),
  );
  const db = mode === 'pg' ? await createTestDatabase(`journey_${name}`) : undefined;
  const prefix = `gwt-journey-${name}-${process.pid}`;
  const dataDir = path.join(dir, 'db');
  const vars: Record<string, string> = {
    DATABASE_URL: db?.url ?? '',
    GATEWAY_DATA_DIR: dataDir,
    GATEWAY_CLIENTS_FILE: clientsFile,
    REDIS_URL,
    GATEWAY_QUEUE_PREFIX: prefix,
    GATEWAY_OUTBOX_POLL_MS: '200',
    GATEWAY_DB_POOL_SIZE: '4',
    GATEWAY_WORKER_CONCURRENCY: '2',
    LOG_LEVEL: 'warn',
    ...over,
  };
  const procs: Proc[] = [];
  return {
    name,
    mode,
    dir,
    dataDir,
    dbUrl: db?.url,
    prefix,
    vars,
    procs,
    async cleanup() {
      await Promise.all(procs.map((p) => p.kill9()));
      await obliterateQueues(prefix).catch(() => undefined);
      await db?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A free loopback port (the OS picks it; a tiny race with other processes is acceptable in tests). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process of ours with its output collected. */
export class Proc {
  stdout = '';
  stderr = '';
  exit?: Exit;
  readonly exited: Promise<Exit>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }
  get output(): string {
    return this.stdout + this.stderr;
  }

  /** Resolves with the exit, or with undefined when it has not exited within `ms`. */
  waitExit(ms: number): Promise<Exit | undefined> {
    if (this.exit) return Promise.resolve(this.exit);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), ms);
      void this.exited.then((e) => {
        clearTimeout(t);
        resolve(e);
      });
    });
  }

  /**
   * Send `signal` and wait up to `boundMs` for the exit. Past the bound the process is killed
   * (SIGKILL, so no test leaves it behind) and this throws, with its output's tail.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', boundMs = 30_000): Promise<Exit & { ms: number }> {
    const t0 = Date.now();
    if (!this.exit) this.child.kill(signal);
    const e = await this.waitExit(boundMs);
    if (!e) {
      this.child.kill('SIGKILL');
      await this.exited;
      throw new Error(
        `process ${this.pid} did not exit within ${boundMs} ms of ${signal}; output tail:\n${this.output.slice(-3000)}`,
      );
    }
    return { ...e, ms: Date.now() - t0 };
  }

  /** kill -9, and wait until the process is gone. */
  async kill9(): Promise<Exit> {
    if (!this.exit) this.child.kill('SIGKILL');
    return this.exited;
  }
}

/** Spawn `node --import tsx <script> ...args` in the project root with the journey's environment. */
export function spawnNode(
  env: JourneyEnv,
  script: string,
  args: string[] = [],
  extra: Record<string, string> = {},
): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env.vars, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = new Proc(child);
  env.procs.push(proc);
  return proc;
}

/** `contentType`: default application/json (the agency feed also takes application/x-ndjson). */
export interface PostOptions {
  webhookId?: string;
  timeoutMs?: number;
  contentType?: string;
}

export interface GatewayProc extends Proc {
  url: string;
  port: number;
  /**
   * Until /readyz answers. `redis: false` also accepts a gateway whose database is ready but whose
   * Redis is unreachable (503 with `database: ok`). Throws if the process exits first.
   */
  waitReady(o?: { redis?: boolean; timeoutMs?: number }): Promise<void>;
  /** A signed POST as a test client (Standard Webhooks, the public library). */
  post(path: string, body: unknown, as: TestClientName, o?: PostOptions): Promise<AxiosResponse>;
  get(path: string, as: TestClientName | null): Promise<AxiosResponse>;
}

export interface StartOptions {
  /** The entry point: `src/main.ts` (default), `workers/all.ts` or one queue's `workers/<queue>.ts`. */
  script?: string;
  args?: string[];
  env?: Record<string, string>;
  port?: number;
}

/** Start `npm start`'s entry point (or another) as a child process on a free port. */
export async function startGateway(env: JourneyEnv, o: StartOptions = {}): Promise<GatewayProc> {
  const port = o.port ?? (await freePort());
  const proc = spawnNode(env, o.script ?? 'src/main.ts', o.args ?? [], { PORT: String(port), ...o.env }) as GatewayProc;
  const url = `http://127.0.0.1:${port}`;
  const http = axios.create({
    baseURL: url,
    validateStatus: () => true,
    transformResponse: (d) => {
      try {
        return JSON.parse(d);
      } catch {
        return d;
      }
    },
  });
  proc.url = url;
  proc.port = port;
  proc.waitReady = async ({ redis = true, timeoutMs = 180_000 } = {}) => {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (proc.exit)
        throw new Error(
          `the gateway exited (${JSON.stringify(proc.exit)}) before it was ready:\n${proc.output.slice(-3000)}`,
        );
      const r = await http.get('/readyz', { timeout: 2000 }).catch(() => undefined);
      if (r && (r.status === 200 || (!redis && r.data?.database === 'ok'))) return;
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`the gateway was not ready within ${timeoutMs} ms:\n${proc.output.slice(-3000)}`);
  };
  proc.post = (p, body, as, po = {}) => signedPost(url, p, body, as, po);
  proc.get = (p, as) => http.get(p, { headers: as ? { authorization: `Bearer ${TEST_CLIENTS[as].token}` } : {} });
  return proc;
}

/** A signed POST to any gateway URL. */
export function signedPost(
  baseUrl: string,
  p: string,
  body: unknown,
  as: TestClientName,
  o: PostOptions = {},
): Promise<AxiosResponse> {
  const c = TEST_CLIENTS[as];
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const id = o.webhookId ?? `msg_${crypto.randomUUID()}`;
  const ts = new Date();
  return axios.post(`${baseUrl}${p}`, raw, {
    validateStatus: () => true,
    timeout: o.timeoutMs ?? 30_000,
    transformRequest: (d) => d,
    headers: {
      'content-type': o.contentType ?? 'application/json',
      'x-client-id': c.client_id,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
      'webhook-signature': new Webhook(c.secret).sign(id, ts, raw),
    },
  });
}

/** Poll `fn` until it returns a value other than undefined (or throw after `timeoutMs`). */
export async function until<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 60_000,
  everyMs = 200,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Until every message id answers `processed` on GET /v1/messages/{id} (read as `as`). */
export async function waitProcessed(
  gw: GatewayProc,
  messageIds: readonly string[],
  as: TestClientName,
  timeoutMs = 60_000,
): Promise<void> {
  const left = new Set(messageIds);
  await until(
    `${left.size} messages processed`,
    async () => {
      for (const id of [...left]) {
        const r = await gw.get(`/v1/messages/${id}`, as);
        if (r.data?.status === 'processed') left.delete(id);
        else if (r.data?.status === 'failed') throw new Error(`message ${id} failed: ${JSON.stringify(r.data)}`);
        else break;
      }
      return left.size ? undefined : true;
    },
    timeoutMs,
  );
}

/** Lines of output that match `re` (counts warnings in a process's log). */
export function linesMatching(text: string, re: RegExp): string[] {
  return text.split('\n').filter((l) => re.test(l));
}
