/**
 * A PostgreSQL server of the test's own (initdb in a temporary directory, a spare loopback port), for
 * the chaos test that crashes and restarts the database: the shared server on 5432 serves every other
 * test file and must never be disturbed. `crash()` is `pg_ctl stop -m immediate` — the postmaster
 * quits without a checkpoint, as after a power cut, and the next start replays the WAL.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The server binaries of the newest installed major version (Debian: /usr/lib/postgresql/N/bin). */
function binDir(): string {
  if (process.env.PG_BINDIR) return process.env.PG_BINDIR;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root)
    ? fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server binaries found (set PG_BINDIR)');
  return path.join(root, newest, 'bin');
}

export class OwnPostgres {
  readonly dir: string;
  private readonly bin = binDir();
  private up = false;

  constructor(readonly port: number) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-own-pg-'));
  }

  /** Connection string of a database on this server. */
  url(db = 'postgres'): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${db}`;
  }
  get running(): boolean {
    return this.up;
  }

  /** PostgreSQL refuses to run as root: as root, its tools run as the `postgres` system user. */
  private run(tool: string, args: string[]): void {
    const cmd = path.join(this.bin, tool);
    const asRoot = process.getuid?.() === 0;
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, {
      stdio: 'ignore',
      timeout: 120_000,
    });
  }

  async init(): Promise<void> {
    if (process.getuid?.() === 0) execFileSync('chown', ['postgres:postgres', this.dir]);
    this.run('initdb', [
      '-D',
      path.join(this.dir, 'data'),
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
    ]);
    await this.start();
  }

  /** Start it (after a crash this replays the WAL) and wait until it accepts connections. */
  async start(): Promise<void> {
    const opts = `-p ${this.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${this.dir} -c max_connections=100 -c fsync=on -c synchronous_commit=on`;
    this.run('pg_ctl', [
      '-D',
      path.join(this.dir, 'data'),
      '-l',
      path.join(this.dir, 'server.log'),
      '-w',
      '-t',
      '120',
      '-o',
      opts,
      'start',
    ]);
    this.up = true;
  }

  /** Crash: immediate shutdown, no checkpoint; every connection is cut. */
  async crash(): Promise<void> {
    this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']);
    this.up = false;
  }

  async destroy(): Promise<void> {
    try {
      if (this.up) this.run('pg_ctl', ['-D', path.join(this.dir, 'data'), '-m', 'fast', '-w', 'stop']);
    } catch {
      /* already down */
    }
    this.up = false;
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
