// Okta's management SDK (@okta/okta-sdk-nodejs 8) against Latchkey's /api/v1 with the SSWS
// token: create and read users, the lifecycle calls Latchkey supports, and clearing a user's
// sessions. Every call goes
// through the SDK's own request executor, response parsing and models.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import okta from '@okta/okta-sdk-nodejs';
import { backends, stackFor, strongPassword } from '../lib/env.mjs';

const require = createRequire(import.meta.url);
const SDK_VERSION = require('@okta/okta-sdk-nodejs/package.json').version;
const TEST_TIMEOUT = 60_000;

/** One password sign-in over IDX (the lock-out is driven by real failures); returns the status. */
async function signInStatus(stack, login, password) {
  const redirectUri = 'http://localhost:9/cb';
  const { clientId } = await stack.registerClient([redirectUri]);
  const { interactionHandle } = await stack.interact({ clientId, redirectUri });
  const post = (path, body) => fetch(`${stack.origin}/idp/idx/${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  });
  const { stateHandle } = await (await post('introspect', { interactionHandle })).json();
  const r = await post('identify', { identifier: login, credentials: { passcode: password }, stateHandle });
  await r.text();
  return r.status;
}

/** Signs in over IDX and redeems the code with `offline_access`; returns the refresh function. */
async function refresherFor(stack, login, password) {
  const redirectUri = 'http://localhost:9/cb';
  const { clientId } = await stack.registerClient([redirectUri]);
  const { interactionHandle, codeVerifier } = await stack.interact({ clientId, redirectUri, scopes: ['openid', 'offline_access'] });
  const post = async (path, body) => (await fetch(`${stack.origin}/idp/idx/${path}`, {
    method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: JSON.stringify(body),
    signal: AbortSignal.timeout(10000),
  })).json();
  const { stateHandle } = await post('introspect', { interactionHandle });
  const identified = await post('identify', { identifier: login, credentials: { passcode: password }, stateHandle });
  const interactionCode = identified.successWithInteractionCode?.value?.find((f) => f.name === 'interaction_code')?.value;
  assert.ok(interactionCode, 'signed in');
  const { status, body } = await stack.exchange({ clientId, redirectUri, interactionCode, codeVerifier });
  assert.equal(status, 200);
  let refreshToken = body.refresh_token;
  assert.ok(refreshToken, 'offline_access gives a refresh token');
  // Rotation hands out a new refresh token each time; keep the newest.
  return async () => {
    const r = await fetch(`${stack.issuer}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ client_id: clientId, grant_type: 'refresh_token', refresh_token: refreshToken }),
      signal: AbortSignal.timeout(10000),
    });
    const answer = await r.json();
    if (r.ok) refreshToken = answer.refresh_token;
    return r.status;
  };
}

function sdkClient(stack, options = {}) {
  // orgUrl = the server's origin, token = the admin token; the SDK sends `Authorization: SSWS …`.
  // No retries on 429 and a short request timeout, so a failure surfaces instead of stalling.
  return new okta.Client({ orgUrl: stack.origin, token: stack.adminToken, maxRetries: 0, requestTimeout: 10000, ...options });
}

for (const backend of backends()) {
  describe(`okta-sdk-nodejs ${SDK_VERSION} on ${backend}`, { timeout: 4 * TEST_TIMEOUT }, () => {
    test('createUser (activate) and getUser by id and by login', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const client = sdkClient(stack);
      const login = 'ada.lovelace@example.com';
      const created = await client.userApi.createUser({
        activate: true,
        body: {
          profile: { login, email: login, firstName: 'Ada', lastName: 'Lovelace', locale: 'en' },
          credentials: { password: { value: strongPassword() } },
        },
      });
      assert.ok(created.id, 'the created user has an id');
      assert.equal(created.status, 'ACTIVE');
      assert.equal(created.profile.login, login);
      assert.equal(created.profile.firstName, 'Ada');
      assert.ok(created.created instanceof Date || typeof created.created === 'string', 'created timestamp');
      assert.equal(created.credentials?.password?.value, undefined, 'the password is never echoed');

      const byId = await client.userApi.getUser({ userId: created.id });
      assert.equal(byId.id, created.id);
      assert.equal(byId.profile.email, login);
      const byLogin = await client.userApi.getUser({ userId: login });
      assert.equal(byLogin.id, created.id);

      // Errors come back as the SDK's OktaApiError with Okta's error fields.
      await assert.rejects(client.userApi.getUser({ userId: 'nobody@example.com' }), (e) => {
        assert.equal(e.status, 404);
        assert.equal(e.errorCode, 'E0000007');
        assert.ok(e.errorSummary);
        return true;
      });
    });

    test('a user created without activation is STAGED, then activateUser makes it ACTIVE', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const client = sdkClient(stack);
      const login = 'grace.hopper@example.com';
      const created = await client.userApi.createUser({
        activate: false,
        body: { profile: { login, email: login, firstName: 'Grace', lastName: 'Hopper' }, credentials: { password: { value: strongPassword() } } },
      });
      assert.equal(created.status, 'STAGED');
      await client.userApi.activateUser({ userId: created.id, sendEmail: false });
      assert.equal((await client.userApi.getUser({ userId: created.id })).status, 'ACTIVE');
    });

    test('lifecycle: suspend, unsuspend, deactivate, activate, unlock', { timeout: TEST_TIMEOUT }, async (t) => {
      // Lock-out after 2 failed sign-ins (test setting), so unlock has something to undo.
      const stack = await stackFor(t, backend, { LATCHKEY_SIGNIN__LOCKOUT_AFTER: '2', LATCHKEY_SIGNIN__FREE_FAILURES: '10' });
      const client = sdkClient(stack);
      const user = await stack.createUser({ login: 'alan.turing@example.com' });
      const status = async () => (await client.userApi.getUser({ userId: user.id })).status;
      assert.equal(await status(), 'ACTIVE');

      await client.userApi.suspendUser({ userId: user.id });
      assert.equal(await status(), 'SUSPENDED');
      await client.userApi.unsuspendUser({ userId: user.id });
      assert.equal(await status(), 'ACTIVE');

      await client.userApi.deactivateUser({ userId: user.id, sendEmail: false });
      assert.equal(await status(), 'DEPROVISIONED');
      await client.userApi.activateUser({ userId: user.id, sendEmail: false });
      assert.equal(await status(), 'ACTIVE');

      for (let i = 0; i < 2; i++) assert.equal(await signInStatus(stack, user.login, strongPassword()), 401);
      // The SDK caches GETs (its default cache middleware) and only invalidates on its own
      // writes; the lock-out happened outside it, so read through a client without the cache.
      const fresh = sdkClient(stack, { cacheMiddleware: null });
      assert.equal((await fresh.userApi.getUser({ userId: user.id })).status, 'LOCKED_OUT');
      await client.userApi.unlockUser({ userId: user.id });
      assert.equal(await status(), 'ACTIVE');
      assert.equal(await signInStatus(stack, user.login, user.password), 200, 'unlocked: the password works again');
    });

    test('revokeUserSessions: refresh tokens survive without oauthTokens and end with it', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const client = sdkClient(stack);
      const user = await stack.createUser({ login: 'edsger.dijkstra@example.com' });
      const refresh = await refresherFor(stack, user.login, user.password);
      assert.equal(await refresh(), 200);

      await client.userApi.revokeUserSessions({ userId: user.id });
      assert.equal(await refresh(), 200, 'oauthTokens defaults to false');
      await client.userApi.revokeUserSessions({ userId: user.id, oauthTokens: true });
      assert.equal(await refresh(), 400, 'oauthTokens=true revokes the refresh token');

      await assert.rejects(client.userApi.revokeUserSessions({ userId: 'nobody@example.com' }), (e) => {
        assert.equal(e.status, 404);
        assert.equal(e.errorCode, 'E0000007');
        return true;
      });
    });

    test('a wrong SSWS token is refused with Okta\'s 401 shape', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const client = new okta.Client({ orgUrl: stack.origin, token: 'x'.repeat(43), maxRetries: 0, requestTimeout: 10000 });
      await assert.rejects(client.userApi.getUser({ userId: 'someone@example.com' }), (e) => {
        assert.equal(e.status, 401);
        assert.equal(e.errorCode, 'E0000011');
        return true;
      });
    });
  });
}
