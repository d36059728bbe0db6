// Shared pieces of the browser tests: Chromium contexts, the relying-party test app (a page on
// http://localhost:<port> embedding the widget served by the Latchkey server on 127.0.0.1),
// screenshots and axe-core checks.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freshContext } from '../testkit/browser.mjs';
import { looks } from '../testkit/looks.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

/** A browser context with its own fresh user-data directory (its own storage, cookies, cache). */
export async function newContext({ locale = 'en-US', viewport = { width: 900, height: 1000 }, ...rest } = {}) {
  return freshContext(chromium, { locale, viewport, ...rest });
}

/** A fresh page (persistent contexts open with one blank page: reuse it first). */
export async function newPage(context) {
  const blank = context.pages().find((p) => p.url() === 'about:blank' && !p.__used);
  const page = blank ?? await context.newPage();
  page.__used = true;
  page.on('pageerror', (e) => { (page.__errors ??= []).push(String(e)); });
  return page;
}

/** Every request the page makes to `origin`, as "METHOD path". */
export function recordRequests(page, origin) {
  const seen = [];
  page.on('request', (r) => { if (r.url().startsWith(origin)) seen.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  return seen;
}

/**
 * The relying party: serves pages on http://localhost:<port> that load the widget from the
 * Latchkey server under a strict nonce-based CSP, and a /callback page.
 * `app.url(config, mode)` registers a widget configuration and returns its page URL; the page
 * adds `otp` and `state` from its own query string, as the recipe's callback does.
 */
/** `port`: listen there instead of a free port (a passkey's relying party names the origin). */
export async function startApp(serverOrigin, { port = 0 } = {}) {
  const configs = new Map();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const nonce = randomBytes(16).toString('base64');
    const headers = {
      'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer',
      'content-security-policy': [
        "default-src 'none'", `script-src 'nonce-${nonce}' ${serverOrigin}`, `style-src ${serverOrigin}`,
        `connect-src ${serverOrigin}`, "img-src 'self' data:", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
      ].join('; '),
    };
    if (url.pathname === '/callback') {
      res.writeHead(200, headers);
      return res.end('<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Callback</title></head>'
        + '<body><main><h1>Callback</h1><p id="cb">Signed in callback reached.</p></main></body></html>');
    }
    const m = /^\/app\/([\w-]+)$/.exec(url.pathname);
    const entry = m && configs.get(m[1]);
    if (!entry) { res.writeHead(404, headers); return res.end('not found'); }
    const json = JSON.stringify(entry.config).replace(/</g, '\\u003c');
    res.writeHead(200, headers);
    res.end(`<!doctype html><html lang="${entry.config.language ?? 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Test app</title>
<link rel="stylesheet" href="${serverOrigin}/widget/v1/latchkey-sign-in.css">
<script nonce="${nonce}" src="${serverOrigin}/widget/v1/latchkey-sign-in.js"></script>
</head><body><main><h1>Test app</h1><div id="widget"></div><pre id="result"></pre></main>
<script nonce="${nonce}">
const config = ${json};
const q = new URLSearchParams(location.search);
if (q.get('otp') && q.get('state')) { config.otp = q.get('otp'); config.state = q.get('state'); }
const widget = new OktaSignIn({ ...config, el: '#widget' });
window.__events = [];
widget.on('afterRender', (c) => window.__events.push(['afterRender', c.formName]));
widget.on('afterError', (c, e) => window.__events.push(['afterError', c.formName, e && e.name]));
const out = document.getElementById('result');
${entry.mode === 'tokens'
    ? "widget.showSignIn().then((r) => { out.textContent = JSON.stringify({ status: r.status, email: r.tokens.idToken && r.tokens.idToken.claims.email, sub: r.tokens.idToken && r.tokens.idToken.claims.sub, hasAccess: !!r.tokens.accessToken.accessToken }); }, (e) => { out.textContent = 'ERROR ' + e.message; });"
    : "widget.showSignInAndRedirect().catch((e) => { out.textContent = 'ERROR ' + e.message; });"}
</script></body></html>`);
  });
  await new Promise((r) => server.listen(port, 'localhost', r));
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    callback: `${origin}/callback`,
    url(config, mode = 'redirect') {
      const id = randomBytes(6).toString('hex');
      configs.set(id, { config, mode });
      return `${origin}/app/${id}`;
    },
    stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

/** Screenshots in e2e/artifacts/ and axe-core runs (testkit/looks.mjs), with this suite's axe-core. */
export const { check, checkEverywhere } = looks({ axeSource: AXE_SOURCE, artifacts: ARTIFACTS });
export { assertFollowsScheme, LOOKS } from '../testkit/looks.mjs';

/** Waits until the widget's heading reads `text` (a string or RegExp) and has focus. */
export async function expectScreen(page, text) {
  const heading = page.locator('.lk-title');
  await heading.filter({ hasText: text }).waitFor({ timeout: 15000 });
  await page.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('lk-title'), null, { timeout: 5000 });
}

export const fieldByLabel = (page, label) => page.getByLabel(label, { exact: true });

/** Sign in → Forgot password? → the identifier → Next → Email → Submit, up to "Check your email". */
/** Signs in through the widget's first screen with the user's login and password. */
export async function signIn(page, user) {
  await expectScreen(page, 'Sign in');
  await page.getByLabel('Username', { exact: true }).fill(user.login);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** The test app's result: the widget resolved with tokens. */
export async function signedIn(page) {
  await page.locator('#result').filter({ hasText: /status/ }).waitFor({ timeout: 15000 });
  const result = JSON.parse(await page.locator('#result').textContent());
  assert.equal(result.status, 'SUCCESS');
  assert.equal(result.hasAccess, true);
}

export async function startRecovery(page, login) {
  await expectScreen(page, 'Sign in');
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email or Username', { exact: true }).fill(login);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: 'Email' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Check your email');
}
