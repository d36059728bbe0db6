// Okta's management SDK (@okta/okta-sdk-nodejs 8) reading Latchkey's System Log
// (GET /api/v1/logs) with the SSWS token: after a whole recovery driven by auth-js, the SDK's own
// `client.systemLogApi.listLogEvents` lists its events in order, filters by event type and
// target, and follows the Link header across pages.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import okta from '@okta/okta-sdk-nodejs';
import { loadAuthJs, newClient, prepare } from '../lib/authjs.mjs';
import { backends, recoveryMail, sleep, stackFor, strongPassword } from '../lib/env.mjs';

const require = createRequire(import.meta.url);
const SDK_VERSION = require('@okta/okta-sdk-nodejs/package.json').version;
const TEST_TIMEOUT = 60_000;

function sdkClient(stack) {
  return new okta.Client({ orgUrl: stack.origin, token: stack.adminToken, maxRetries: 0, requestTimeout: 10000 });
}

async function all(collection) {
  const items = [];
  for await (const item of collection) items.push(item);
  return items;
}

for (const backend of backends()) {
  describe(`okta-sdk-nodejs ${SDK_VERSION} System Log on ${backend}`, { timeout: 2 * TEST_TIMEOUT }, () => {
    test('the SDK lists the events of a whole recovery, filtered and paged', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const mod = await loadAuthJs('7');
      const { user, clientId, nonce } = await prepare(stack);
      const auth = newClient(mod, stack, clientId);
      t.after(() => { auth.transactionManager.clear(); auth.tokenManager.clear(); });

      const tx = await auth.idx.recoverPassword({ username: user.login, authenticators: ['okta_email'], nonce, state: 'log-state' });
      assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
      const { code } = await recoveryMail(stack, user.login);
      const challenged = await auth.idx.proceed({ verificationCode: code });
      assert.equal(challenged.nextStep?.name, 'reset-authenticator', JSON.stringify(challenged.messages));
      const newPassword = strongPassword();
      const done = await auth.idx.proceed({ password: newPassword });
      assert.equal(done.status, 'SUCCESS', JSON.stringify(done.messages));

      const logs = sdkClient(stack).systemLogApi;
      const since = new Date(Date.now() - 3_600_000).toISOString();
      const recovery = await all(await logs.listLogEvents({ since, q: user.login }));
      const story = recovery.map((e) => `${e.eventType} ${e.outcome?.result}`);
      const expected = [
        'system.email.password_reset.sent_message SUCCESS',
        'user.authentication.auth_via_mfa SUCCESS',
      ];
      assert.deepEqual(story.filter((s) => expected.includes(s)), expected, story.join('\n'));
      const first = recovery.find((e) => e.eventType === 'system.email.password_reset.sent_message');
      assert.equal(first.actor.alternateId, user.login);
      assert.ok(first.published instanceof Date || typeof first.published === 'string', 'published parses');
      assert.ok(first.client?.ipAddress, 'the client address is recorded');

      const userId = (await sdkClient(stack).userApi.getUser({ userId: user.login })).id;
      const reset = await all(await logs.listLogEvents({ since, filter: `eventType eq "user.account.reset_password" and target.id eq "${userId}"` }));
      assert.equal(reset.length, 1, 'one reset of this account');
      assert.equal(reset[0].outcome.result, 'SUCCESS');
      const grants = await all(await logs.listLogEvents({ since, filter: `eventType eq "app.oauth2.as.token.grant" and target.id eq "${userId}"` }));
      assert.equal(grants.length, 1, 'the reset ended in one token grant');

      // Paging: limit 1 makes the SDK follow `Link: rel="next"` through every event once. The
      // outbox worker logs each delivery when it happens: wait for both emails (the code, then
      // PasswordChanged), and bound both listings by `until`, so a delivery logged between the
      // two reads cannot make them differ.
      await stack.mail.waitFor(user.login, 2, 10000);
      await sleep(500);
      const until = new Date().toISOString();
      const everything = await all(await logs.listLogEvents({ since, until, limit: 100 }));
      const paged = await all(await logs.listLogEvents({ since, until, limit: 1 }));
      assert.deepEqual(paged.map((e) => e.uuid), everything.map((e) => e.uuid));

      const body = JSON.stringify(everything);
      for (const secret of [code, newPassword]) assert.ok(!body.includes(secret), 'no secret in the System Log');
    });
  });
}
