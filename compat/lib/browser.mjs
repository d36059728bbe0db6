// Headless Chromium (Debian's /usr/bin/chromium through playwright-core) and a relying-party
// app on http://localhost:<port> that embeds Okta's own sign-in widget 7 (the default Gen2
// bundle, straight from node_modules) against Latchkey on http://127.0.0.1:<port>: a different
// origin, so every IDX call is a credentialed CORS request.
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
export const WIDGET_DIST = join(dirname(require.resolve('@okta/okta-signin-widget/package.json')), 'dist');
export const WIDGET_VERSION = require('@okta/okta-signin-widget/package.json').version;
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export async function launchBrowser() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30000 });
}

const TYPES = { '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.svg': 'image/svg+xml',
  '.png': 'image/png', '.gif': 'image/gif', '.woff': 'font/woff', '.woff2': 'font/woff2', '.ttf': 'font/ttf', '.map': 'application/json' };

/**
 * The app. `/` embeds the widget; the test drives it with `page.evaluate` exactly as an
 * application's script would. `/login/callback` is the redirect URI (it records its query).
 * `/widget/…` serves node_modules/@okta/okta-signin-widget/dist, which is `assets.baseUrl`.
 */
export async function startApp() {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    try {
      if (url.pathname === '/favicon.ico') { res.writeHead(204); return res.end(); }
      if (url.pathname === '/' || url.pathname === '/login/callback') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
        return res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Compat app</title>
<link rel="stylesheet" href="/widget/css/okta-sign-in.min.css">
<script src="/widget/js/okta-sign-in.min.js"></script></head>
<body><div id="widget"></div></body></html>`);
      }
      if (url.pathname.startsWith('/widget/')) {
        const file = normalize(join(WIDGET_DIST, decodeURIComponent(url.pathname.slice('/widget/'.length))));
        if (!file.startsWith(WIDGET_DIST + sep)) throw Object.assign(new Error('outside'), { code: 'ENOENT' });
        const data = await readFile(file);
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
        return res.end(data);
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
    } catch (e) {
      res.writeHead(e.code === 'ENOENT' ? 404 : 500, { 'content-type': 'text/plain' });
      res.end(String(e.code ?? e));
    }
  });
  await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const origin = `http://localhost:${server.address().port}`;
  return {
    origin,
    /** The same app under another origin, which no client registered (CORS must refuse it). */
    otherOrigin: `http://127.0.0.1:${server.address().port}`,
    redirectUri: `${origin}/login/callback`,
    stop: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Every request a page (and its workers) makes to `origin`, as "METHOD path". */
export function recordRequests(context, origin) {
  const seen = [];
  context.on('request', (r) => { if (r.url().startsWith(origin)) seen.push(`${r.method()} ${new URL(r.url()).pathname}`); });
  return seen;
}

/** The widget configuration an application written for Okta uses; only `issuer` is Latchkey. */
export function widgetConfig(stack, app, clientId, extra = {}) {
  return {
    issuer: stack.issuer,
    clientId,
    redirectUri: app.redirectUri,
    scopes: ['openid', 'email', 'profile'],
    language: 'en',
    assets: { baseUrl: `${app.origin}/widget` },
    ...extra,
  };
}
