/**
 * Smoke test of the embedded database (PGlite), the default when DATABASE_URL is unset: the real
 * `npm start` entry point runs as a child process (PGlite needs Node's own module loader), accepts a
 * signed payment and processes it; a second process on the same data directory is refused.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { Webhook } from 'standardwebhooks';
import { TEST_CLIENTS } from '../support/test-clients';
import { obliterateQueues, REDIS_URL } from '../support/test-gateway';
import { payment } from '../support/fixtures';

const root = path.resolve(__dirname, '..', '..');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-pglite-'));
const clientsFile = path.join(dataDir, 'clients.json');
const prefix = `gwt-embedded-${process.pid}`;
const port = 18100 + (process.pid % 800);
const url = `http://127.0.0.1:${port}`;
const env = {
  ...process.env,
  DATABASE_URL: '',
  GATEWAY_DATA_DIR: path.join(dataDir, 'db'),
  GATEWAY_CLIENTS_FILE: clientsFile,
  REDIS_URL,
  GATEWAY_QUEUE_PREFIX: prefix,
  PORT: String(port),
  LOG_LEVEL: 'warn',
  GATEWAY_OUTBOX_POLL_MS: '100',
};
let child: ChildProcess;

beforeAll(async () => {
  const sha = (t: string) => crypto.createHash('sha256').update(t).digest('hex');
  fs.writeFileSync(
    clientsFile,
    JSON.stringify([
      {
        client_id: TEST_CLIENTS.insurerA.client_id,
        role: 'insurer',
        scope: ['PICC_DH'],
        signing_secrets: [TEST_CLIENTS.insurerA.secret],
        token_sha256: [sha(TEST_CLIENTS.insurerA.token)],
      },
    ]),
  );
  child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  for (let i = 0; i < 600; i++) {
    const ok = await axios.get(`${url}/readyz`, { validateStatus: () => true }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the embedded gateway did not become ready');
}, 90_000);

afterAll(async () => {
  child.kill('SIGTERM');
  await new Promise((r) => {
    child.once('exit', r);
    setTimeout(r, 10_000);
  });
  await obliterateQueues(prefix);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('when no DATABASE_URL is set, then the gateway runs on the embedded database, accepts a signed payment and processes it', async () => {
  const body = JSON.stringify(payment({ payment_id: 'PAY-EMBEDDED' }));
  const id = 'msg_embedded_1';
  const ts = new Date();
  const r = await axios.post(`${url}/v1/insurer-payments`, body, {
    validateStatus: () => true,
    headers: {
      'content-type': 'application/json',
      'x-client-id': TEST_CLIENTS.insurerA.client_id,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(ts.getTime() / 1000)),
      'webhook-signature': new Webhook(TEST_CLIENTS.insurerA.secret).sign(id, ts, body),
    },
  });
  expect(r.status).toBe(202);
  for (let i = 0; i < 300; i++) {
    const m = await axios.get(`${url}/v1/messages/${r.data.message_id}`, {
      headers: { authorization: `Bearer ${TEST_CLIENTS.insurerA.token}` },
      validateStatus: () => true,
    });
    if (m.data.status === 'processed') return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('message not processed');
});

test('when a second process opens the same embedded data directory, then it exits with a clear message', () => {
  const second = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: root,
    env: { ...env, PORT: String(port + 1) },
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(second.status).toBe(1);
  expect(second.stderr).toMatch(/in use by process \d+.*set DATABASE_URL/);
});
