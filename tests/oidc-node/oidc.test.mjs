// Latchkey seen by openid-client 6, a certified OpenID Connect relying-party library, with no
// client-side workarounds: discovery, authorization code + PKCE through the hosted sign-in page
// in Chromium, ID-token validation, session reuse with prompt=none, refresh with rotation,
// userinfo, introspection, revocation and RP-initiated logout — on SQLite and on PostgreSQL,
// for a public and a confidential client.
//
// Needs target/debug/latchkey and target/debug/latchkey-mail-sink, Chromium at /usr/bin/chromium
// (CHROMIUM_BIN), and PostgreSQL for the postgres runs (LATCHKEY_TEST_POSTGRES_URL).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import * as oidc from 'openid-client';
import { chromium } from 'playwright-core';
import { startStackOn, WIDGET_DIR } from '../../testkit/stack.mjs';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const BACKENDS = (process.env.LATCHKEY_BACKENDS ?? 'sqlite,postgres').split(',');

/** The relying party's own origin: a callback page and a signed-out page, nothing else. */
async function startRelyingParty() {
  const server = http.createServer((req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    res.writeHead(path === '/callback' || path === '/signed-out' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${path}</title></head><body><h1>${path}</h1></body></html>`);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://localhost:${server.address().port}`;
  return { callback: `${base}/callback`, signedOut: `${base}/signed-out`, stop: () => new Promise((r) => server.close(r)) };
}

async function register(stack, rp, confidential) {
  const r = await fetch(`${stack.origin}/oauth2/v1/clients`, {
    method: 'POST',
    headers: { authorization: `SSWS ${stack.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      client_name: 'openid-client', redirect_uris: [rp.callback], post_logout_redirect_uris: [rp.signedOut],
      grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    }),
  });
  assert.equal(r.status, 201);
  return r.json();
}

async function signInOnTheHostedPage(page, user) {
  await page.getByLabel('Username', { exact: true }).fill(user.login);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

for (const backend of BACKENDS) {
  for (const confidential of [false, true]) {
    test(`openid-client: full flow on ${backend}, ${confidential ? 'confidential' : 'public'} client`, async (t) => {
      const stack = await startStackOn(backend, { env: { LATCHKEY_WIDGET_DIR: process.env.LATCHKEY_WIDGET_DIR ?? WIDGET_DIR } });
      t.after(() => stack.stop());
      const rp = await startRelyingParty();
      t.after(() => rp.stop());
      const user = await stack.createUser({ login: `oidc-${backend}@example.com` });
      const registered = await register(stack, rp, confidential);
      const auth = confidential ? oidc.ClientSecretBasic(registered.client_secret) : oidc.None();
      // Loopback http is what a test server speaks; every other check stays on.
      const config = await oidc.discovery(new URL(stack.issuer), registered.client_id, undefined, auth, { execute: [oidc.allowInsecureRequests] });
      const server = config.serverMetadata();
      for (const key of ['userinfo_endpoint', 'revocation_endpoint', 'introspection_endpoint', 'end_session_endpoint']) assert.ok(server[key], key);

      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
      t.after(() => browser.close());
      const page = await (await browser.newContext()).newPage();

      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const request = {
        redirect_uri: rp.callback, scope: 'openid profile email offline_access', state, nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      };
      await page.goto(oidc.buildAuthorizationUrl(config, request).href);
      await signInOnTheHostedPage(page, user);
      await page.waitForURL((u) => u.href.startsWith(rp.callback), { timeout: 20000 });
      const tokens = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      const claims = tokens.claims();
      assert.equal(claims.email, user.login);
      assert.ok(claims.auth_time <= claims.iat);
      assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');

      const info = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
      assert.equal(info.email, user.login);
      assert.equal(info.given_name, 'Jane');

      // The session: a second authorization request with prompt=none needs no page.
      const verifier2 = oidc.randomPKCECodeVerifier();
      const state2 = oidc.randomState();
      const { nonce: _firstNonce, ...withoutNonce } = request;
      await page.goto(oidc.buildAuthorizationUrl(config, { ...withoutNonce, state: state2, prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(verifier2) }).href);
      await page.waitForURL((u) => u.href.startsWith(rp.callback), { timeout: 20000 });
      const silent = await oidc.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier2, expectedState: state2 });
      assert.equal(silent.claims().sub, claims.sub);
      assert.equal(silent.claims().auth_time, claims.auth_time, 'auth_time is the original sign-in');

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'rotated');
      assert.equal(refreshed.claims().sub, claims.sub);
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (e) => e.error === 'invalid_grant', 'reuse is refused');
      await assert.rejects(oidc.refreshTokenGrant(config, refreshed.refresh_token), (e) => e.error === 'invalid_grant', 'and revoked the family');

      const introspected = await oidc.tokenIntrospection(config, silent.access_token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.client_id, registered.client_id);
      await oidc.tokenRevocation(config, silent.access_token);
      assert.equal((await oidc.tokenIntrospection(config, silent.access_token)).active, false);
      await assert.rejects(oidc.fetchUserInfo(config, silent.access_token, claims.sub));

      const logoutState = oidc.randomState();
      await page.goto(oidc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token, post_logout_redirect_uri: rp.signedOut, state: logoutState }).href);
      await page.waitForURL((u) => u.href.startsWith(rp.signedOut), { timeout: 20000 });
      assert.equal(new URL(page.url()).searchParams.get('state'), logoutState);
      await page.goto(oidc.buildAuthorizationUrl(config, { ...request, prompt: 'none' }).href);
      await page.waitForURL((u) => u.href.startsWith(rp.callback), { timeout: 20000 });
      assert.equal(new URL(page.url()).searchParams.get('error'), 'login_required', 'the session ended');
    });
  }
}
