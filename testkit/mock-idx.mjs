// A small in-process IDX server that answers with the shapes of ../shared/spec/idx-protocol.md
// (§3–§9). It is a development aid for the widget and for the e2e suite's own code when the real
// server is not built; it is NOT the product and proves nothing about the server.
// Select it with LATCHKEY_E2E_TARGET=mock. Same interface as startLatchkeyStack() in stack.mjs.
import http from 'node:http';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { readFile } from 'node:fs/promises';

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const SH = (sh) => ({ name: 'stateHandle', required: true, value: sh, visible: false, mutable: false });
const FORM = { rel: ['create-form'], method: 'POST', accepts: 'application/json; okta-version=1.0.0', produces: 'application/ion+json; okta-version=1.0.0' };

export async function startMockStack({ widgetDir = new URL('../widget/', import.meta.url), mailGapSecs = 30 } = {}) {
  const users = new Map();
  const clients = new Map();
  const byHandle = new Map();
  const byState = new Map();
  const codes = new Map();
  const mails = [];
  const waiters = new Set();
  let B = '';
  const issuer = () => `${B}/oauth2/default`;

  const action = (tx, name, path) => ({ ...FORM, name, href: `${B}/idp/idx/${path}`, value: [SH(tx.sh)] });
  const envelope = (tx, extra) => ({ version: '1.0.0', stateHandle: tx.sh, intent: 'LOGIN', cancel: action(tx, 'cancel', 'cancel'), ...extra });
  const rems = (...r) => ({ type: 'array', value: r });
  const msg = (key, message, cls = 'ERROR', params = []) => ({ message, i18n: { key, params }, class: cls });

  function render(tx) {
    switch (tx.step) {
      case 'identify':
        return envelope(tx, {
          remediation: rems({ ...FORM, name: 'identify', href: `${B}/idp/idx/identify`, value: [
            { name: 'identifier', label: 'Username', required: true },
            { name: 'credentials', type: 'object', required: true, form: { value: [{ name: 'passcode', label: 'Password', secret: true }] } },
            { name: 'rememberMe', type: 'boolean', label: 'Keep me signed in' }, SH(tx.sh)] }),
          currentAuthenticator: { type: 'object', value: { type: 'password', key: 'okta_password', id: 'aut_pw', displayName: 'Password', methods: [{ type: 'password' }], recover: action(tx, 'recover', 'recover') } },
        });
      case 'identify-recovery':
        return envelope(tx, { remediation: rems({ ...FORM, name: 'identify-recovery', href: `${B}/idp/idx/identify`, value: [{ name: 'identifier', label: 'Username', required: true }, SH(tx.sh)] }) });
      case 'select':
        return envelope(tx, {
          remediation: rems({ ...FORM, name: 'select-authenticator-authenticate', href: `${B}/idp/idx/challenge`, value: [
            { name: 'authenticator', type: 'object', options: [{ label: 'Email', relatesTo: '$.authenticatorEnrollments.value[0]', value: { form: { value: [
              { name: 'id', required: true, value: 'aut_email', mutable: false }, { name: 'methodType', required: false, value: 'email', mutable: false }] } } }] },
            SH(tx.sh)] }),
          authenticatorEnrollments: { type: 'array', value: [{ type: 'email', key: 'okta_email', id: 'eae_1', displayName: 'Email', methods: [{ type: 'email' }] }] },
          recoveryAuthenticator: { type: 'object', value: { type: 'password', key: 'okta_password', id: 'aut_pw', displayName: 'Password', methods: [{ type: 'password' }] } },
        });
      case 'challenge':
        return envelope(tx, {
          remediation: rems({ ...FORM, name: 'challenge-authenticator', href: `${B}/idp/idx/challenge/answer`, relatesTo: ['$.currentAuthenticatorEnrollment'],
            value: [{ name: 'credentials', type: 'object', required: true, form: { value: [{ name: 'passcode', label: 'Enter code' }] } }, SH(tx.sh)] }),
          currentAuthenticatorEnrollment: { type: 'object', value: { type: 'email', key: 'okta_email', id: 'eae_1', displayName: 'Email', methods: [{ type: 'email' }], resend: action(tx, 'resend', 'challenge/resend') } },
          recoveryAuthenticator: { type: 'object', value: { type: 'password', key: 'okta_password', id: 'aut_pw', displayName: 'Password', methods: [{ type: 'password' }] } },
        });
      case 'reset':
        return envelope(tx, {
          remediation: rems({ ...FORM, name: 'reset-authenticator', href: `${B}/idp/idx/challenge/answer`, relatesTo: ['$.currentAuthenticator'],
            value: [{ name: 'credentials', type: 'object', required: true, form: { value: [{ name: 'passcode', label: 'New password', secret: true }] } }, SH(tx.sh)] }),
          currentAuthenticator: { type: 'object', value: { type: 'password', key: 'okta_password', id: 'aut_pw', displayName: 'Password', methods: [{ type: 'password' }], settings: { complexity: { minLength: 15, excludeUsername: true }, age: { minAgeMinutes: 0, historyCount: 0 } } } },
          user: { type: 'object', value: { identifier: tx.identifier } },
        });
      case 'success':
        return envelope(tx, { successWithInteractionCode: { rel: ['create-form'], name: 'issue', href: `${issuer()}/v1/token`, method: 'POST', accepts: 'application/x-www-form-urlencoded',
          value: [{ name: 'grant_type', required: true, value: 'interaction_code' }, { name: 'interaction_code', required: true, value: tx.code }, { name: 'client_id', required: true, value: tx.clientId }, { name: 'code_verifier', required: true }] } });
    }
    throw new Error(`bad step ${tx.step}`);
  }

  const fieldErr = (body, path, m) => {
    let fields = body.remediation.value[0].value;
    const parts = path.split('.');
    for (const [i, p] of parts.entries()) {
      const f = fields.find((x) => x.name === p);
      if (i === parts.length - 1) f.messages = { type: 'array', value: [m] };
      else fields = f.form.value;
    }
    return body;
  };
  const expired = () => ({ version: '1.0.0', messages: { type: 'array', value: [msg('idx.session.expired', 'You have been logged out due to inactivity. Refresh or return to the sign in screen.')] } });
  const jwt = (claims) => `${b64u(JSON.stringify({ alg: 'RS256', kid: 'mock' }))}.${b64u(JSON.stringify(claims))}.${b64u(randomBytes(32))}`;

  async function sendMail(tx) {
    const otp = String(randomInt(0, 1e6)).padStart(6, '0');
    tx.otp = otp;
    tx.lastMail = Date.now();
    const user = users.get(tx.identifier);
    if (!user) return;
    const link = `${B}/signin/reset-password?otp=${otp}&state=${encodeURIComponent(tx.state)}`;
    mails.push({ to: [user.email], subject: 'Reset your password', text: `Your code is ${otp}.\nOr open ${link}\n` });
    for (const w of waiters) w();
  }

  async function handle(req, res, url, body) {
    const p = url.pathname;
    const json = (status, data, headers = {}) => { res.writeHead(status, { 'content-type': 'application/json', ...headers }); res.end(JSON.stringify(data)); };
    if (p.startsWith('/widget/v1/')) {
      const name = p.slice(11);
      if (!/^latchkey-sign-in\.(js|css)$/.test(name)) return json(404, {});
      const data = await readFile(new URL(name, widgetDir));
      res.writeHead(200, { 'content-type': name.endsWith('.js') ? 'text/javascript' : 'text/css', 'access-control-allow-origin': '*', 'cross-origin-resource-policy': 'cross-origin' });
      return res.end(data);
    }
    if (p === '/oauth2/default/.well-known/openid-configuration') {
      return json(200, { issuer: issuer(), jwks_uri: `${issuer()}/v1/keys`, token_endpoint: `${issuer()}/v1/token`, code_challenge_methods_supported: ['S256'] });
    }
    if (p === '/api/v1/users') {
      const u = body.profile;
      users.set(u.login, { ...u, password: body.credentials.password.value, id: `00u${randomBytes(6).toString('hex')}` });
      return json(200, { id: users.get(u.login).id, status: 'ACTIVE', profile: u });
    }
    if (p === '/oauth2/v1/clients') {
      const id = `0oa${randomBytes(8).toString('hex')}`;
      clients.set(id, body);
      return json(201, { client_id: id, ...body });
    }
    if (p === '/oauth2/default/v1/interact') {
      const f = new URLSearchParams(body);
      const c = clients.get(f.get('client_id'));
      if (!c || !c.redirect_uris.includes(f.get('redirect_uri'))) return json(400, { error: 'invalid_request', error_description: 'bad client or redirect_uri' });
      const tx = { handle: b64u(randomBytes(16)), sh: b64u(randomBytes(16)), clientId: f.get('client_id'), redirectUri: f.get('redirect_uri'), state: f.get('state'), challenge: f.get('code_challenge'), step: 'identify', scope: f.get('scope') };
      byHandle.set(tx.handle, tx); byState.set(tx.sh, tx);
      return json(200, { interaction_handle: tx.handle });
    }
    if (p === '/oauth2/default/v1/token') {
      const f = new URLSearchParams(body);
      const tx = [...byHandle.values()].find((t) => t.code && t.code === f.get('interaction_code'));
      if (!tx || b64u(createHash('sha256').update(f.get('code_verifier') || '').digest()) !== tx.challenge || f.get('redirect_uri') !== tx.redirectUri) return json(400, { error: 'invalid_grant', error_description: 'PKCE verification failed.' });
      tx.code = null;
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: issuer(), aud: tx.clientId, sub: users.get(tx.identifier).id, iat: now, exp: now + 3600, email: tx.identifier };
      return json(200, { token_type: 'Bearer', expires_in: 3600, scope: tx.scope, access_token: jwt({ ...claims, aud: 'api://default' }), id_token: jwt(claims) });
    }
    if (!p.startsWith('/idp/idx/')) return json(404, {});
    const data = body ? JSON.parse(body) : {};
    if (p === '/idp/idx/introspect') {
      const tx = byHandle.get(data.interactionHandle) || byState.get(data.stateToken);
      return tx && tx.step !== 'done' ? json(200, render(tx)) : json(401, expired());
    }
    const tx = byState.get(data.stateHandle);
    if (!tx || tx.step === 'done' || tx.step === 'success') return json(401, expired());
    const step = p.slice(9);
    if (step === 'cancel') { tx.step = 'identify'; return json(200, render(tx)); }
    if (step === 'recover' && tx.step === 'identify') { tx.step = 'identify-recovery'; return json(200, render(tx)); }
    if (step === 'identify' && tx.step === 'identify') {
      const u = users.get(data.identifier);
      if (!u || !data.credentials || u.password !== data.credentials.passcode) {
        return json(401, { ...render(tx), messages: { type: 'array', value: [msg('errors.E0000004', 'Authentication failed')] } });
      }
      tx.identifier = data.identifier; tx.step = 'success'; tx.code = b64u(randomBytes(16));
      return json(200, render(tx));
    }
    if (step === 'identify' && tx.step === 'identify-recovery') { tx.identifier = data.identifier; tx.step = 'select'; return json(200, render(tx)); }
    if (step === 'challenge' && tx.step === 'select') { tx.step = 'challenge'; await sendMail(tx); return json(200, render(tx)); }
    if (step === 'challenge/resend' && tx.step === 'challenge') {
      const wait = Math.ceil((tx.lastMail + mailGapSecs * 1000 - Date.now()) / 1000);
      if (wait > 0) return json(429, { ...render(tx), messages: { type: 'array', value: [msg('tooManyRequests', 'Too many requests')] } }, { 'retry-after': String(wait) });
      await sendMail(tx); return json(200, render(tx));
    }
    if (step === 'challenge/answer' && tx.step === 'challenge') {
      if (!data.credentials || data.credentials.passcode !== tx.otp || !users.has(tx.identifier)) {
        return json(401, fieldErr(render(tx), 'credentials.passcode', msg('api.authn.error.PASSCODE_INVALID', 'Invalid code. Try again.')));
      }
      tx.step = 'reset'; tx.otp = null; return json(200, render(tx));
    }
    if (step === 'challenge/answer' && tx.step === 'reset') {
      const pw = (data.credentials || {}).passcode || '';
      if ([...pw].length < 15 || /^(.)\1+$/.test(pw) || /password/i.test(pw)) {
        return json(400, fieldErr(render(tx), 'credentials.passcode', msg('password.passwordRequirementsNotMet', 'Password requirements were not met. This password is too common.', 'ERROR', ['too common'])));
      }
      users.get(tx.identifier).password = pw;
      tx.step = 'success'; tx.code = b64u(randomBytes(16));
      return json(200, render(tx));
    }
    return json(400, { ...render(tx), messages: { type: 'array', value: [msg('E0000001', `Unexpected ${step} at ${tx.step}`)] } });
  }

  const server = http.createServer((req, res) => {
    const origin = req.headers.origin;
    const cors = origin && [...clients.values()].some((c) => c.redirect_uris.some((u) => new URL(u).origin === origin));
    if (cors && !req.url.startsWith('/widget/')) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('vary', 'Origin');
      res.setHeader('access-control-expose-headers', 'Retry-After');
    }
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-allow-methods': 'GET, POST, OPTIONS', 'access-control-allow-headers': req.headers['access-control-request-headers'] || '', 'access-control-max-age': '60' });
      return res.end();
    }
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const url = new URL(req.url, B);
      let parsed = body;
      if (url.pathname.startsWith('/api/') || url.pathname === '/oauth2/v1/clients') parsed = JSON.parse(body || '{}');
      handle(req, res, url, parsed).catch((e) => { res.writeHead(500); res.end(String(e)); });
    });
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  B = `http://127.0.0.1:${server.address().port}`;
  const mail = {
    messages: async (to) => mails.filter((m) => !to || m.to.includes(to)),
    waitFor: async (to, n = 1, timeoutMs = 10000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = mails.filter((m) => m.to.includes(to));
        if (got.length >= n) return got;
        if (Date.now() > deadline) throw new Error(`mock mail: no ${n} message(s) to ${to}`);
        await new Promise((r) => { waiters.add(r); setTimeout(r, 100); });
      }
    },
  };
  return { kind: 'mock', origin: B, issuer: issuer(), mail, stop: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }), adminToken: 'mock' };
}
