// Okta's management SDK (@okta/okta-sdk-nodejs 8) reading and replacing Latchkey's policies with
// its own models and calls (`client.policyApi`): the password rule's recovery step-up, the app
// sign-in rule's factor mode and the enrollment policy's TOTP setting, each written back whole as
// the SDK read it, and each then honoured by the server.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import okta from '@okta/okta-sdk-nodejs';
import { backends, stackFor } from '../lib/env.mjs';

const require = createRequire(import.meta.url);
const SDK_VERSION = require('@okta/okta-sdk-nodejs/package.json').version;
const TEST_TIMEOUT = 60_000;

async function all(collection) {
  const items = [];
  for await (const item of collection) items.push(item);
  return items;
}

for (const backend of backends()) {
  describe(`okta-sdk-nodejs ${SDK_VERSION} policies on ${backend}`, { timeout: 2 * TEST_TIMEOUT }, () => {
    test('the SDK lists, reads and replaces the password rule, the app sign-in rule and the enrollment policy', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const policies = new okta.Client({ orgUrl: stack.origin, token: stack.adminToken, maxRetries: 0, requestTimeout: 10000 }).policyApi;

      const [password] = await all(await policies.listPolicies({ type: 'PASSWORD' }));
      assert.equal(password.type, 'PASSWORD');
      const [rule] = await all(await policies.listPolicyRules({ policyId: password.id }));
      assert.equal(rule.actions.selfServicePasswordReset.requirement.stepUp.required, false);
      rule.actions.selfServicePasswordReset.requirement.stepUp = { required: true };
      const kept = await policies.replacePolicyRule({ policyId: password.id, ruleId: rule.id, policyRule: rule });
      assert.equal(kept.actions.selfServicePasswordReset.requirement.stepUp.required, true);
      const read = await policies.getPolicyRule({ policyId: password.id, ruleId: rule.id });
      assert.equal(read.actions.selfServicePasswordReset.requirement.stepUp.required, true);

      const [access] = await all(await policies.listPolicies({ type: 'ACCESS_POLICY' }));
      const [signOn] = await all(await policies.listPolicyRules({ policyId: access.id }));
      assert.equal(signOn.actions.appSignOn.verificationMethod.factorMode, '1FA');
      signOn.actions.appSignOn.verificationMethod.factorMode = '2FA';
      const twoFa = await policies.replacePolicyRule({ policyId: access.id, ruleId: signOn.id, policyRule: signOn });
      assert.equal(twoFa.actions.appSignOn.verificationMethod.factorMode, '2FA');

      const [enroll] = await all(await policies.listPolicies({ type: 'MFA_ENROLL' }));
      const totp = enroll.settings.authenticators.find((a) => a.key === 'google_otp');
      assert.equal(totp.enroll.self, 'OPTIONAL');
      totp.enroll.self = 'REQUIRED';
      const replaced = await policies.replacePolicy({ policyId: enroll.id, policy: enroll });
      assert.equal(replaced.settings.authenticators.find((a) => a.key === 'google_otp').enroll.self, 'REQUIRED');

      // What Latchkey cannot honour comes back as Okta's error.
      signOn.actions.appSignOn.verificationMethod.factorMode = '3FA';
      await assert.rejects(policies.replacePolicyRule({ policyId: access.id, ruleId: signOn.id, policyRule: signOn }), (e) => {
        assert.equal(e.status, 400);
        assert.equal(e.errorCode, 'E0000001');
        return true;
      });
    });
  });
}
