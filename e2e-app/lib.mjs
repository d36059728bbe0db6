// What the recipe's browser tests share: `latchkey demo` (identity server + sample app in one
// process, sending mail over SMTP to the test mail sink), and Chromium contexts.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { readFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import { freshContext } from '../testkit/browser.mjs';
import { looks } from '../testkit/looks.mjs';
import { startMailSink } from '../testkit/mail-sink.mjs';

export { extractCode, extractLinks } from '../testkit/mail-sink.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LATCHKEY = process.env.LATCHKEY_BIN ?? join(ROOT, 'target', 'debug', 'latchkey');
const KEYS = ['app', 'mailbox', 'issuer', 'user', 'password', 'admin-token', 'recovery-mail-gap', 'recovery-mail-per-hour'];

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts `latchkey demo` on a fresh data directory and resolves with its eight printed values
 * plus `mail` (the sink) and `stop()`. The widget is read from `widget/` on disk, so the
 * suite always tests the widget in the working tree.
 */
export async function startDemo() {
  const mail = await startMailSink();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-demo-e2e-'));
  const appPort = await freePort();
  const child = spawn(LATCHKEY, ['demo'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      RUST_LOG: process.env.RUST_LOG ?? 'warn',
      LATCHKEY_DATA_DIR: dataDir,
      LATCHKEY_LISTEN: '127.0.0.1:0',
      LATCHKEY_METRICS_LISTEN: '127.0.0.1:0',
      LATCHKEY_SMTP_URL: `${mail.smtpUrl}?tls=none`, // the sink speaks plain SMTP on loopback
      LATCHKEY_WIDGET_DIR: join(ROOT, 'widget'),
      APP_LISTEN: `127.0.0.1:${appPort}`,
      APP_PUBLIC_URL: `http://127.0.0.1:${appPort}`,
    },
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { stderr = (stderr + chunk).slice(-8192); });
  const values = await new Promise((resolve, reject) => {
    const found = {};
    const timer = setTimeout(() => reject(new Error(`latchkey demo printed only ${JSON.stringify(found)}\n${stderr}`)), 60000);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${LATCHKEY} (cargo build -p latchkey-server): ${e.message}`)); });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`latchkey demo exited with ${code}\n${stderr}`)); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const i = line.indexOf(': ');
      if (i > 0) found[line.slice(0, i)] = line.slice(i + 2);
      if (KEYS.every((k) => k in found)) { clearTimeout(timer); resolve(found); }
    });
  });
  child.removeAllListeners('exit');
  return {
    ...values,
    mail,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
        await exited;
        clearTimeout(timer);
      }
      await mail.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A browser with its own fresh profile: its own cookies and storage. */
export async function newContext() {
  return freshContext(chromium, { locale: 'en-US' });
}

/** A page that fails the test on any script error or dialog (an XSS would open one). */
export async function newPage(context) {
  const blank = context.pages().find((p) => p.url() === 'about:blank' && !p.__used);
  const page = blank ?? await context.newPage();
  page.__used = true;
  page.__errors = [];
  page.on('pageerror', (e) => page.__errors.push(String(e)));
  page.on('dialog', (d) => { page.__errors.push(`dialog: ${d.message()}`); d.dismiss().catch(() => {}); });
  return page;
}

/** The widget's current screen title. */
export async function expectScreen(page, title, timeout = 15000) {
  await page.locator('.lk-title', { hasText: title }).first().waitFor({ timeout });
}

/** Screenshots in e2e-app/artifacts/ and axe-core runs in light and dark, at 375 and 1280 px. */
const AXE_SOURCE = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const { check, checkEverywhere } = looks({ axeSource: AXE_SOURCE, artifacts: fileURLToPath(new URL('./artifacts/', import.meta.url)) });
export { assertFollowsScheme } from '../testkit/looks.mjs';
