import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

/** Debian's Chromium (`apt-get install chromium`); CHROMIUM_PATH points elsewhere. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where the browser tests leave their screenshots (gitignored; CI keeps them as artefacts). */
export const OUTPUT = join(__dirname, '..', 'output');

/**
 * The flags of a quiet, self-contained headless run: no sandbox (CI runs as root), no GPU, no
 * QUIC, and none of the browser's own traffic (first-run, sync, component updates, background
 * networking): the machine has no internet and the tests talk to 127.0.0.1 only.
 */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Installs Debian's Chromium when it is missing (as root, with apt-get, like .ci/run does for nginx);
 * anyone else is told how.
 */
export function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  if (process.getuid?.() !== 0)
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (sudo apt-get install -y chromium)`);
  console.log(`${CHROMIUM} is missing: installing Debian's chromium with apt-get`);
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
  execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], {
    stdio: 'inherit',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
}

/** A name for 127.0.0.1 that is not localhost: pages there are no secure context (no Web Crypto). */
export const INSECURE_HOST = 'insecure.test';

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh user-data-dir of its own (removed on close), at 1280×800. */
export async function launchBrowser(): Promise<Browser> {
  ensureChromium();
  mkdirSync(OUTPUT, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'omni-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    // insecure.test is 127.0.0.1 under another name: an origin that is not a secure context.
    args: [...CHROMIUM_FLAGS, `--host-resolver-rules=MAP ${INSECURE_HOST} 127.0.0.1`],
    viewport: { width: 1280, height: 800 },
    timeout: 60000,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
