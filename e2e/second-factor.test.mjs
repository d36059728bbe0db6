// Second factors in our widget, in Chromium: a 2FA sign-in sets up a TOTP app (QR code, the
// secret to type instead, the first code), the next sign-in asks for the app's code, and a
// recovery whose password rule asks for a second factor goes email code → the app → new password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractCode, extractLinks, startStack } from '../testkit/stack.mjs';
import { currentStep, enrollTotp, requireSecondFactorForRecovery, setSignOnFactors, setTotpEnroll, totpAt } from '../testkit/totp.mjs';
import { check, expectScreen, newContext, newPage, signedIn, signIn, startApp, startRecovery } from './lib.mjs';

async function setup(t) {
  const stack = await startStack({ env: { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '0' } });
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'jane@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const config = { issuer: stack.issuer, clientId, redirectUri: app.callback, scopes: ['openid', 'email', 'profile'] };
  return { stack, app, user, context, config };
}

test('2FA sign-in: the widget sets up a TOTP app from its QR code, then asks for its code', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  await setSignOnFactors(stack, '2FA');
  await setTotpEnroll(stack, 'OPTIONAL');
  const page = await newPage(context);
  await page.goto(app.url(config, 'tokens'));
  await signIn(page, user);
  await page.getByRole('radio', { name: 'Google Authenticator' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Set up your authenticator app');
  const qr = page.getByRole('img', { name: 'QR code to scan with your authenticator app' });
  assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
  const secret = (await page.locator('.lk-secret').textContent()).replace(/\s/g, '');
  assert.match(secret, /^[A-Z2-7]{32}$/, 'the secret to type instead, in groups of four');
  await check(page, 'second-factor-01-setup');
  const code = page.getByLabel('Verification code', { exact: true });
  assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
  await code.fill(totpAt(secret, currentStep()));
  await page.getByRole('button', { name: 'Verify' }).click();
  await signedIn(page);
  // WEB-3: the secret is not kept in the page's storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.ok(!stored.includes(secret));

  const again = await newPage(context);
  await again.goto(app.url(config, 'tokens'));
  await signIn(again, user);
  await expectScreen(again, 'Verify with your authenticator app');
  await check(again, 'second-factor-02-challenge');
  const field = again.getByLabel('Verification code', { exact: true });
  await field.fill(totpAt(secret, currentStep()) === '000000' ? '111111' : '000000');
  await again.getByRole('button', { name: 'Verify' }).click();
  await again.locator('.lk-field-error:not(:empty)').waitFor({ timeout: 15000 });
  await field.fill(totpAt(secret, currentStep() + 1));
  await again.getByRole('button', { name: 'Verify' }).click();
  await signedIn(again);
});

test('recovery with a second factor by policy: the email code, then the app, then the new password', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const secret = await enrollTotp(stack, user.id);
  await requireSecondFactorForRecovery(stack, true);
  const page = await newPage(context);
  await page.goto(app.url(config));
  await startRecovery(page, user.login);
  // Two messages, in either order: the factor's AuthenticatorEnrolled notice and the recovery email.
  const mails = await stack.mail.waitFor(user.login, 2, 15000);
  const recovery = mails.find((m) => extractLinks(m).some((l) => /[?&]otp=/.test(l)));
  await page.getByLabel('Verification code', { exact: true }).fill(extractCode(recovery));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(page, 'Reset your password');
  await page.getByText('Your organization also asks for a second authenticator before you reset your password.').waitFor();
  await check(page, 'second-factor-03-recovery-select');
  await page.getByRole('radio', { name: 'Google Authenticator' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Verify with your authenticator app');
  await page.getByLabel('Verification code', { exact: true }).fill(totpAt(secret, currentStep()));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(page, 'Set a new password');
});
