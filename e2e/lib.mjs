// Shared pieces of the browser tests: Chromium contexts, the relying-party test app (a page on
// http://localhost:<port> embedding the widget served by the Latchkey server on 127.0.0.1),
// screenshots and axe-core checks.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freshContext } from '../testkit/browser.mjs';

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
export async function startApp(serverOrigin) {
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
  await new Promise((r) => server.listen(0, 'localhost', r));
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

/** Screenshot to e2e/artifacts/<name>.png and an axe-core run: no serious or critical violation. */
export async function check(page, name) {
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  // Injected through the DevTools protocol, so the page's strict CSP stays as it is.
  if (!(await page.evaluate(() => !!window.axe))) await page.evaluate(`${AXE_SOURCE}\n;0`);
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
  await writeFile(join(ARTIFACTS, `${name}.axe.json`), JSON.stringify(violations, null, 2));
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `axe: serious/critical violations on ${name}`);
  return violations;
}

/** Waits until the widget's heading reads `text` (a string or RegExp) and has focus. */
export async function expectScreen(page, text) {
  const heading = page.locator('.lk-title');
  await heading.filter({ hasText: text }).waitFor({ timeout: 15000 });
  await page.waitForFunction(() => document.activeElement && document.activeElement.classList.contains('lk-title'), null, { timeout: 5000 });
}

export const fieldByLabel = (page, label) => page.getByLabel(label, { exact: true });

/** The four looks every page is checked in: light and dark, a phone and a desktop. */
export const LOOKS = [
  { scheme: 'light', width: 375 }, { scheme: 'light', width: 1280 },
  { scheme: 'dark', width: 375 }, { scheme: 'dark', width: 1280 },
];

/**
 * `check` in each of LOOKS (screenshots `<name>-<scheme>-<width>.png`), then back to light at
 * the context's width. Returns the page body's background colour per scheme, so a test can
 * see that the page itself (not only the widget card) follows `prefers-color-scheme`.
 */
export async function checkEverywhere(page, name) {
  const original = page.viewportSize();
  const backgrounds = {};
  for (const { scheme, width } of LOOKS) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.setViewportSize({ width, height: 900 });
    await check(page, `${name}-${scheme}-${width}`);
    backgrounds[scheme] = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  }
  await page.emulateMedia({ colorScheme: 'light' });
  if (original) await page.setViewportSize(original);
  return backgrounds;
}

/** Relative luminance (0 black … 1 white) of a computed `rgb(…)`/`rgba(…)` colour. */
export function luminance(color) {
  const [r, g, b] = (color.match(/[\d.]+/g) || []).slice(0, 3).map(Number).map((c) => {
    const s = c / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** The page looked dark in dark mode and light in light mode (a transparent body counts as white). */
export function assertFollowsScheme(backgrounds, what) {
  const lum = (c) => (/rgba\(0, 0, 0, 0\)/.test(c) ? 1 : luminance(c));
  assert.ok(lum(backgrounds.light) > 0.6, `${what}: light background in light mode (${backgrounds.light})`);
  assert.ok(lum(backgrounds.dark) < 0.1, `${what}: dark background in dark mode (${backgrounds.dark})`);
}
