/**
 * A Redis server of the test's own, on a spare loopback port, for tests that kill Redis: the shared
 * Redis on 6379 serves every other test file and must never be disturbed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import IORedis from 'ioredis';

export class OwnRedis {
  private proc: ChildProcess | undefined;

  /** `args` are redis-server options beyond port and bind (persistence, eviction policy). */
  constructor(
    readonly port: number,
    private readonly args: string[] = ['--save', '', '--appendonly', 'no'],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Start it and wait until it answers PING (an AOF reload may take a moment). */
  async start(): Promise<void> {
    this.proc = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', ...this.args], {
      stdio: 'ignore',
    });
    const probe = new IORedis(this.port, '127.0.0.1', {
      maxRetriesPerRequest: 1,
      retryStrategy: () => 100,
      lazyConnect: true,
    });
    probe.on('error', () => undefined);
    try {
      for (let i = 0; i < 200; i++) {
        try {
          await probe.connect().catch(() => undefined);
          if ((await probe.ping()) === 'PONG') return;
        } catch {
          /* loading */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      probe.disconnect();
    }
  }

  /** SIGKILL: no shutdown save, as a crash. */
  async kill(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    const done = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await done;
    this.proc = undefined;
  }
}
