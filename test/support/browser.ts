/**
 * The browser for the tests that drive a page: the Chromium that ships inside the npm package
 * `@sparticuz/chromium` (a devDependency, so `npm ci` brings it: no system browser, no apt-get, no
 * download), driven by playwright-core. Set CHROMIUM_PATH (e.g. /usr/bin/chromium) to drive
 * another build instead.
 *
 * The package holds the browser brotli-compressed and inflates it on first use (~3 s, ~190 MB). Left
 * to itself it always writes the same path in the temp folder (/tmp/chromium), in place, and reuses
 * whatever is there: a run cut off midway, or another version's binary, would be picked up. Here it
 * inflates in a child process into a fresh folder, which is renamed to one named after the
 * package's version only once complete; later runs reuse that folder.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Flags for a closed network: without the background-networking ones Chromium keeps trying to reach
 * Google's hosts, and this machine refuses those connections. Running as root needs --no-sandbox.
 */
export const BROWSER_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const PACKAGE = '@sparticuz/chromium';

function packageRoot(): string {
  // The package's exports hide its package.json; its CommonJS entry is build/cjs/index.cjs.
  return path.resolve(path.dirname(require.resolve(PACKAGE)), '..', '..');
}

/** Inflates the packaged Chromium once per version; answers the path of its executable. */
async function packagedChromium(): Promise<string> {
  const root = packageRoot();
  const { version } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
  const dir = path.join(os.tmpdir(), `sparticuz-chromium-${version}`);
  const exe = path.join(dir, 'chromium');
  if (fs.existsSync(exe)) return exe;

  const staging = fs.mkdtempSync(path.join(os.tmpdir(), `sparticuz-chromium-${version}-inflating-`));
  try {
    // The package writes into os.tmpdir(): a child process with its own TMPDIR keeps this one's untouched.
    const script = `require(${JSON.stringify(require.resolve(PACKAGE))}).executablePath().then((p) => process.stdout.write(p))`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      env: { ...process.env, TMPDIR: staging },
      maxBuffer: 1 << 20,
    });
    if (path.resolve(stdout.trim()) !== path.join(staging, 'chromium'))
      throw new Error(`${PACKAGE} inflated its browser to ${stdout.trim()}, not into ${staging}`);
    try {
      fs.renameSync(staging, dir);
    } catch (e) {
      // Another run finished first: use its folder, drop ours.
      if (!fs.existsSync(exe)) throw e;
    }
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return exe;
}

/** CHROMIUM_PATH when set (it must exist), else the Chromium from npm. */
export async function chromiumExecutable(): Promise<string> {
  const asked = process.env.CHROMIUM_PATH;
  if (asked) {
    if (!fs.existsSync(asked)) throw new Error(`CHROMIUM_PATH is ${asked}, and there is no file there`);
    return asked;
  }
  return packagedChromium();
}

export interface Browser {
  context: BrowserContext;
  executablePath: string;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

/** A headless Chromium with a fresh, empty profile (--user-data-dir), removed again by close(). */
export async function launchBrowser(
  options: Omit<Parameters<typeof chromium.launchPersistentContext>[1], 'executablePath' | 'args' | 'headless'> = {},
): Promise<Browser> {
  const executablePath = await chromiumExecutable();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'test-chromium-profile-'));
  try {
    const context = await chromium.launchPersistentContext(userDataDir, {
      ...options,
      executablePath,
      headless: true,
      args: BROWSER_ARGS,
    });
    return {
      context,
      executablePath,
      async close() {
        await context.close().catch(() => undefined);
        fs.rmSync(userDataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw e;
  }
}
