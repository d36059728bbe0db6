// Starts what a browser test needs: a Latchkey server on a fresh data directory wired to a fresh
// mail sink, plus helpers for the admin and OAuth calls a test makes from Node.
// Node 20, ESM, no dependencies.
//
//   const stack = await startStack({ env: { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '1' } });
//   const user = await stack.createUser({ login: 'jane@example.com' });
//   const { clientId } = await stack.registerClient(['http://localhost:4000/callback']);
//   ... stack.mail.waitFor('jane@example.com') ...
//   await stack.stop();
//
// Binaries: target/debug/latchkey and target/debug/latchkey-mail-sink
// (`cargo build -p latchkey-server -p latchkey-mail-sink`), or LATCHKEY_BIN / LATCHKEY_MAIL_SINK_BIN.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startMailSink } from './mail-sink.mjs';

export { extractCode, extractLinks } from './mail-sink.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEFAULT_BIN = join(ROOT, 'target', 'debug', 'latchkey');
export const WIDGET_DIR = join(ROOT, 'widget');

/** A password that passes a length-15 + zxcvbn policy. */
export function strongPassword() {
  return `Lk-${randomBytes(9).toString('base64url')}-${randomBytes(6).toString('hex')}`;
}

/**
 * @param {{ env?: Record<string,string>, startTimeoutMs?: number, bin?: string, dev?: boolean }} [options]
 *   env: extra LATCHKEY_* variables (e.g. LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS).
 *   dev: `serve --dev` with no SMTP relay, so emails land in the development mailbox
 *   (`/dev/mailbox`); the sink then receives nothing.
 */
export async function startStack(options = {}) {
  const sink = await startMailSink();
  const dataDir = await mkdtemp(join(tmpdir(), 'latchkey-e2e-'));
  const adminToken = randomBytes(32).toString('base64url');
  const bin = options.bin ?? process.env.LATCHKEY_BIN ?? DEFAULT_BIN;
  const env = { ...process.env };
  if (options.dev) delete env.LATCHKEY_SMTP_URL;
  const child = spawn(bin, options.dev ? ['serve', '--dev'] : ['serve'], {
    stdio: ['pipe', 'pipe', 'pipe'],
    env: {
      ...env,
      LATCHKEY_LISTEN: '127.0.0.1:0',
      LATCHKEY_METRICS_LISTEN: '127.0.0.1:0', // suites run servers side by side
      LATCHKEY_DATA_DIR: dataDir,
      ...(options.dev ? {} : { LATCHKEY_SMTP_URL: sink.smtpUrl }), // plain SMTP is allowed to a loopback relay
      LATCHKEY_ADMIN_TOKEN: adminToken,
      LATCHKEY_UNSAFE_TEST_SETTINGS: '1',
      LATCHKEY_WIDGET_DIR: WIDGET_DIR,
      ...(options.env ?? {}),
    },
  });
  let log = '';
  const keep = (chunk) => { log = (log + chunk).slice(-20000); };
  child.stderr.setEncoding('utf8').on('data', keep);
  const origin = await new Promise((resolve, reject) => {
    const timeoutMs = options.startTimeoutMs ?? 30000;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`latchkey did not report "listening on" within ${timeoutMs} ms\n${log}`)); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`could not start ${bin}: ${e.message} (build it: cargo build -p latchkey-server)`)); });
    child.once('exit', (code, sig) => { clearTimeout(timer); reject(new Error(`latchkey exited before it was ready (code ${code}, signal ${sig})\n${log}`)); });
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      keep(`${line}\n`);
      const m = /listening on (http:\/\/\S+)/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      resolve(m[1].replace(/\/+$/, ''));
    });
  });
  child.stdout.on('data', keep);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => { clearTimeout(kill); resolve(); });
        child.kill('SIGTERM');
      });
    }
    await sink.stop();
    await rm(dataDir, { recursive: true, force: true });
  };
  return withHelpers({ kind: 'latchkey', origin, issuer: `${origin}/oauth2/default`, adminToken, mail: sink, stop, log: () => log });
}

function withHelpers(stack) {
  const call = async (method, path, body) => {
    const r = await fetch(`${stack.origin}${path}`, {
      method,
      headers: { authorization: `SSWS ${stack.adminToken}`, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  };
  const admin = (path, body) => call('POST', path, body);
  return {
    ...stack,
    /** Any admin API call with the stack's SSWS token; throws on a non-2xx answer. */
    adminCall: call,
    /** Creates and activates a user; returns { login, email, password, id }. */
    async createUser({ login = 'jane@example.com', firstName = 'Jane', lastName = 'Doe', password = strongPassword() } = {}) {
      const res = await admin('/api/v1/users?activate=true', {
        profile: { login, email: login, firstName, lastName },
        credentials: { password: { value: password } },
      });
      return { login, email: login, password, id: res.id };
    },
    /** Registers a public client (RFC 7591); returns { clientId }. */
    async registerClient(redirectUris) {
      const res = await admin('/oauth2/v1/clients', {
        client_name: 'e2e', redirect_uris: redirectUris, token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'interaction_code', 'refresh_token'], response_types: ['code'],
      });
      return { clientId: res.client_id };
    },
    /** What a server-side app does (the recipe): interact with its own PKCE pair and state. */
    async interact({ clientId, redirectUri, scopes = ['openid', 'email', 'profile'], state = randomBytes(24).toString('hex') }) {
      const codeVerifier = randomBytes(32).toString('base64url');
      const codeChallenge = createHash('sha256').update(codeVerifier).digest('base64url');
      const r = await fetch(`${stack.issuer}/v1/interact`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          client_id: clientId, scope: scopes.join(' '), redirect_uri: redirectUri, code_challenge: codeChallenge,
          code_challenge_method: 'S256', state, nonce: randomBytes(24).toString('hex'),
        }),
      });
      const text = await r.text();
      if (!r.ok) throw new Error(`interact: ${r.status} ${text}`);
      return { interactionHandle: JSON.parse(text).interaction_handle, codeVerifier, codeChallenge, state };
    },
    /** Exchanges an interaction code at the token endpoint; returns { status, body }. */
    async exchange({ clientId, redirectUri, interactionCode, codeVerifier }) {
      const r = await fetch(`${stack.issuer}/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ client_id: clientId, redirect_uri: redirectUri, grant_type: 'interaction_code', interaction_code: interactionCode, code_verifier: codeVerifier }),
      });
      const text = await r.text();
      let body = null;
      try { body = JSON.parse(text); } catch { body = text; }
      return { status: r.status, body };
    },
  };
}

/**
 * `startStack` on a chosen storage backend: 'sqlite' (the default, a file in the fresh data
 * directory) or 'postgres' (a fresh database from ./postgres.mjs, dropped again by `stop()`).
 * @param {'sqlite'|'postgres'} backend
 * @param {Parameters<typeof startStack>[0]} [options]
 */
export async function startStackOn(backend, options = {}) {
  if (backend === 'sqlite') return startStack(options);
  if (backend !== 'postgres') throw new Error(`unknown backend ${backend}`);
  const { createDatabase } = await import('./postgres.mjs');
  const db = await createDatabase();
  let stack;
  try {
    stack = await startStack({ ...options, env: { ...db.env, ...(options.env ?? {}) } });
  } catch (e) {
    await db.drop().catch(() => {});
    throw e;
  }
  const stop = stack.stop;
  return { ...stack, backend, database: db.name, stop: async () => { try { await stop(); } finally { await db.drop(); } } };
}
