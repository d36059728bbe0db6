// Loading auth-js 7 or 8 (installed side by side as npm aliases) and building a client the way
// an application written for Okta would: only the issuer points at Latchkey.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

// auth-js warns on every client built in Node that its memory storage suits one user per
// process. That is exactly how the suite uses it (each test clears it; the other-device case is
// another process), so keep the report readable by dropping that one line and nothing else.
const warn = console.warn;
console.warn = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('Memory storage can only support simple single user')) return;
  warn(...args);
};

export const REDIRECT_URI = 'http://localhost:8080/login/callback';

/** The package's Node ESM entry, exactly as `import … from '@okta/okta-auth-js'` would load it. */
export function loadAuthJs(major) {
  return import(`okta-auth-js-${major}`);
}

export function newClient(mod, stack, clientId, options = {}) {
  return new mod.OktaAuth({
    issuer: stack.issuer,
    clientId,
    redirectUri: REDIRECT_URI,
    scopes: ['openid', 'email', 'profile'],
    ...options,
  });
}

/** A stack's user and public client, plus an app-chosen nonce to check in the ID token. */
export async function prepare(stack, { login } = {}) {
  const user = await stack.createUser(login ? { login } : {});
  const { clientId } = await stack.registerClient([REDIRECT_URI]);
  return { user, clientId, nonce: randomBytes(24).toString('hex') };
}

/** Message i18n keys of an IDX transaction (auth-js collects field and global messages). */
export const messageKeys = (tx) => (tx.messages ?? []).map((m) => m.i18n?.key ?? m.message);

/**
 * The tokens came back and pass auth-js's own verification: signature (key from the JWKS named
 * in discovery), issuer, audience (client id), nonce, expiry. A tampered signature and a wrong
 * nonce must fail the same checks, so a skipped check cannot pass silently.
 */
export async function assertTokensValid(auth, tokens, { clientId, nonce, issuer, login }) {
  assert.ok(tokens?.idToken?.idToken, 'an ID token');
  assert.ok(tokens?.accessToken?.accessToken, 'an access token');
  assert.ok(auth.features.isTokenVerifySupported(), 'auth-js can verify signatures in this runtime');
  const claims = tokens.idToken.claims;
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, clientId);
  assert.equal(claims.nonce, nonce);
  if (login) assert.equal(claims.email, login);
  const verified = await auth.token.verify(tokens.idToken, { issuer, clientId, nonce });
  assert.equal(verified.claims.sub, claims.sub);

  const [h, p, s] = tokens.idToken.idToken.split('.');
  const flipped = `${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`;
  await assert.rejects(auth.token.verify({ ...tokens.idToken, idToken: `${h}.${p}.${flipped}` }, { issuer, clientId, nonce }), /signature is not valid/i);
  await assert.rejects(auth.token.verify(tokens.idToken, { issuer, clientId, nonce: 'not-the-nonce' }), /nonce/i);
  await assert.rejects(auth.token.verify(tokens.idToken, { issuer, clientId: `${clientId}x`, nonce }), /audience/i);

  // The access token is a JWT from the same issuer (auth-js 7 and the widget decode it).
  const access = auth.token.decode(tokens.accessToken.accessToken);
  assert.equal(access.payload.iss, issuer);
  assert.equal(access.header.alg, 'RS256');
  // The token manager accepts them as they are (it validates shape and expiry).
  auth.tokenManager.setTokens(tokens);
  assert.equal((await auth.tokenManager.getTokens()).idToken.idToken, tokens.idToken.idToken);
  auth.tokenManager.clear();
}
