/**
 * One process per embedded data directory. PGlite does not lock its directory, and two processes on
 * it would corrupt it, so the gateway keeps a lock file there: created atomically (O_EXCL), holding
 * the owner's pid and, on Linux, the owner's start time (/proc/<pid>/stat), removed on a clean close.
 *
 * A lock left by a process that died (kill -9, a crash, a power cut) must not block the restart:
 * it is stale when no process has that pid — or when one has, but started at another time (the pid
 * was reused by an unrelated process after a reboot or a long uptime).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'gateway.pid';

interface Owner {
  pid: number;
  start?: string;
  host?: string;
}

/** A process's start time in clock ticks since boot (Linux), to tell a reused pid from its owner. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22, counted after the command name, which is in parentheses and may hold spaces.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parse(text: string): Owner {
  const t = text.trim();
  // Older gateways wrote the bare pid.
  if (/^\d+$/.test(t)) return { pid: Number(t) };
  try {
    const o = JSON.parse(t) as Owner;
    return Number.isInteger(o.pid) ? o : { pid: 0 };
  } catch {
    return { pid: 0 }; // torn or foreign content: no owner to respect
  }
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Whether the recorded owner is a live process, and the same one that wrote the lock. The host name
 * is only shown: a container recreated on the same volume has a new one, and its old lock is stale.
 */
function owns(o: Owner): boolean {
  if (!o.pid || o.pid === process.pid) return false;
  if (!alive(o.pid)) return false;
  const start = o.start && processStartTime(o.pid);
  return !(o.start && start && start !== o.start);
}

export class DataDirInUse extends Error {
  constructor(dir: string, owner: Owner) {
    super(
      `the embedded database in ${dir} is in use by process ${owner.pid}: ` +
        'embedded mode runs one process at a time. Stop that process first (Ctrl-C, or kill ' +
        owner.pid +
        '), ' +
        `or set DATABASE_URL to run several processes on PostgreSQL. (If no such gateway is running, delete ${path.join(dir, LOCK_FILE)}.)`,
    );
  }
}

/** Take the directory's lock, or throw DataDirInUse. Returns the function that releases it. */
export function lockDataDir(dir: string): () => void {
  const file = path.join(dir, LOCK_FILE);
  const me: Owner = { pid: process.pid, start: processStartTime(process.pid), host: os.hostname() };
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      return () => {
        try {
          const t = readText(file);
          if (t !== undefined && parse(t).pid === process.pid) fs.unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const judged = readText(file);
    if (judged === undefined) continue; // released meanwhile
    const owner = parse(judged);
    if (owns(owner)) throw new DataDirInUse(dir, owner);
    // Stale (or ours, from an earlier open in this process): remove it — unless it changed since it
    // was judged (another process just took it) — and try again; only one O_EXCL create succeeds.
    try {
      if (readText(file) === judged) fs.unlinkSync(file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`could not take the lock ${file}: another process keeps creating it`);
}
