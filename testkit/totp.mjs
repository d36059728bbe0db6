// RFC 6238 TOTP values (SHA-1, 6 digits, 30 s), as an authenticator app computes them: the
// tests play the user's phone. Only node:crypto's HMAC; nothing of the server's code.
import { createHmac } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32Decode(text) {
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const index = ALPHABET.indexOf(ch);
    if (index < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | index;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The value for time step `step` (seconds since the epoch / 30). */
export function totpAt(base32Secret, step) {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(base32Secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

export const currentStep = () => Math.floor(Date.now() / 1000 / 30);

/**
 * Enrolls and activates a TOTP factor for `userId` through Okta's Factors API. It activates with
 * the previous step's value (inside the server's one step of skew), so the current value is still
 * fresh for the test's next answer.
 */
export async function enrollTotp(stack, userId) {
  const factor = await stack.adminCall('POST', `/api/v1/users/${userId}/factors`, { factorType: 'token:software:totp', provider: 'GOOGLE' });
  const secret = factor._embedded.activation.sharedSecret;
  await stack.adminCall('POST', `/api/v1/users/${userId}/factors/${factor.id}/lifecycle/activate`, { passCode: totpAt(secret, currentStep() - 1) });
  return secret;
}

/** Switches the password rule's step-up (a second factor after the emailed code) on or off. */
export async function requireSecondFactorForRecovery(stack, required) {
  const path = '/api/v1/policies/00plkpassword0000001/rules/0prlkpassword0000001';
  const rule = await stack.adminCall('GET', path);
  rule.actions.selfServicePasswordReset.requirement.stepUp = { required };
  await stack.adminCall('PUT', path, rule);
}

/** Sets the app sign-in rule's factor mode (`1FA` or `2FA`). */
export async function setSignOnFactors(stack, factorMode) {
  const path = '/api/v1/policies/rstlkaccess000000001/rules/rullkaccess000000001';
  const rule = await stack.adminCall('GET', path);
  rule.actions.appSignOn.verificationMethod.factorMode = factorMode;
  await stack.adminCall('PUT', path, rule);
}

/** Sets what the enrollment policy says of TOTP apps (`REQUIRED`, `OPTIONAL`, `NOT_ALLOWED`). */
export async function setTotpEnroll(stack, setting) {
  const path = '/api/v1/policies/00plkmfaenroll000001';
  const policy = await stack.adminCall('GET', path);
  for (const a of policy.settings.authenticators) if (a.key === 'google_otp') a.enroll.self = setting;
  await stack.adminCall('PUT', path, policy);
}
