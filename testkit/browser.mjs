// Headless Chromium for every browser suite: Debian's /usr/bin/chromium (or CHROMIUM_BIN), with
// the flags this sandboxed machine needs, and one fresh profile per context (its own cookies and
// storage: a "different browser"). Each suite passes its own playwright-core `chromium`, since
// the packages live in the suites' node_modules.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** A persistent context in a new temporary profile, removed when the context closes. */
export async function freshContext(chromium, options = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'lk-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, ...options });
  const close = context.close.bind(context);
  context.close = async () => { await close().catch(() => {}); await rm(dir, { recursive: true, force: true }); };
  return context;
}
