// Password recovery by email in the browser (idx-protocol §6, §7): code typed in the same tab,
// the emailed link in a new tab of the same browser, the link in another browser, and the
// recipe's server-side interaction (interactionHandle) continued by Forgot password?.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractCode, extractLinks, startStack, strongPassword } from '../testkit/stack.mjs';
import { check, expectScreen, newContext, newPage, recordRequests, startApp } from './lib.mjs';

async function setup(t, env) {
  const stack = await startStack({ env });
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'jane@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const config = { issuer: stack.issuer, clientId, redirectUri: app.callback, scopes: ['openid', 'email', 'profile'] };
  return { stack, app, user, clientId, context, config };
}

/** Sign in → Forgot password? → Email or Username → Next → Email → Submit; returns the email. */
async function requestCode(page, stack, user, shots) {
  await expectScreen(page, 'Sign in');
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await expectScreen(page, 'Reset your password');
  if (shots) await check(page, `${shots}-02-identify-recovery`);
  await page.getByLabel('Email or Username', { exact: true }).fill(user.login);
  await page.getByRole('button', { name: 'Next' }).click();
  await expectScreen(page, 'Reset your password');
  await page.getByRole('radio', { name: 'Email' }).waitFor();
  if (shots) await check(page, `${shots}-03-select-authenticator`);
  await page.getByRole('radio', { name: 'Email' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Check your email');
  const [mail] = await stack.mail.waitFor(user.email, 1, 15000);
  return mail;
}

/** The reset screen: a policy violation inline first, then a good password. */
async function resetPassword(page, shots) {
  await expectScreen(page, 'Set a new password');
  const pw = page.getByLabel('New password', { exact: true });
  const confirm = page.getByLabel('Re-enter new password', { exact: true });
  assert.equal(await pw.getAttribute('autocomplete'), 'new-password');
  const reqs = page.locator('.lk-req');
  assert.ok(await reqs.count() >= 1, 'the policy requirements are listed');
  const minLen = page.locator('.lk-req', { hasText: /At least \d+ characters/ });
  await pw.fill('short');
  assert.equal(await minLen.getAttribute('data-met'), 'false');
  if (shots) await check(page, `${shots}-05-reset`);
  const weak = 'aaaaaaaaaaaaaaaaaaaa';
  await pw.fill(weak);
  assert.equal(await minLen.getAttribute('data-met'), 'true', 'requirements are ticked as the user types');
  await confirm.fill(weak);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.locator('.lk-field-error:not(:empty), .lk-alert .lk-error').first().waitFor({ timeout: 15000 });
  assert.equal(await page.locator('.lk-title').textContent(), 'Set a new password', 'still on the reset form');
  assert.equal(await pw.getAttribute('aria-invalid'), 'true', 'the violation is shown on the password field');
  if (shots) await check(page, `${shots}-06-policy-violation`);
  // Confirmation mismatch is caught in the browser.
  const good = strongPassword();
  await pw.fill(good);
  await confirm.fill(`${good}x`);
  await page.getByRole('button', { name: 'Reset password' }).click();
  await page.locator('.lk-field-error', { hasText: 'The passwords do not match.' }).waitFor();
  await confirm.fill(good);
  await page.getByRole('button', { name: 'Reset password' }).click();
  return good;
}

test('recovery: Forgot password? through the emailed code to signed in (code typed)', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  await check(page, 'recovery-01-identify');
  const mail = await requestCode(page, stack, user, 'recovery');
  const code = extractCode(mail);
  assert.match(code, /^\d{6}$/);
  const input = page.getByLabel('Verification code', { exact: true });
  assert.equal(await input.getAttribute('autocomplete'), 'one-time-code');
  assert.equal(await input.getAttribute('inputmode'), 'numeric');
  assert.match(await page.locator('.lk-countdown').textContent(), /You can request a new code in \d+ s/);
  assert.equal(await page.getByRole('button', { name: 'Resend code' }).isDisabled(), true);
  await check(page, 'recovery-04-challenge-email');
  // A wrong code first: the field error, the user stays on the challenge.
  const wrong = code === '000000' ? '111111' : '000000';
  await input.fill(wrong);
  await page.getByRole('button', { name: 'Verify' }).click();
  await page.locator('.lk-field-error:not(:empty)').waitFor({ timeout: 15000 });
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  await check(page, 'recovery-04b-wrong-code');
  await input.fill(code);
  await page.getByRole('button', { name: 'Verify' }).click();
  await resetPassword(page, 'recovery');
  await page.waitForURL((u) => u.pathname === '/callback', { timeout: 15000 });
  const cb = new URL(page.url());
  assert.ok(cb.searchParams.get('interaction_code'), 'interaction_code on the callback');
  assert.ok(cb.searchParams.get('state'), 'state on the callback');
  await check(page, 'recovery-07-callback');
  // WEB-3: no code or token left in storage; the transaction entry was removed on success.
  const stored = await page.goto(app.url(config)).then(() => page.evaluate(() => JSON.stringify({ ...localStorage })));
  assert.ok(!stored.includes(code), 'the code is never stored');
  assert.ok(!stored.includes(cb.searchParams.get('state')), 'the finished transaction was removed');
});

test('recovery: the emailed link opened in a new tab of the same browser continues the transaction', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestCode(page, stack, user);
  const link = extractLinks(mail).find((l) => /[?&]otp=/.test(l) && /[?&]state=/.test(l));
  assert.ok(link, `the email carries a link with otp and state: ${JSON.stringify(extractLinks(mail))}`);
  const { searchParams } = new URL(link);
  assert.equal(searchParams.get('otp'), extractCode(mail), 'the link carries the same code');
  // The recipe: the app's callback page gets otp and state and hands them to the widget.
  const appPage = app.url(config);
  const tab = await newPage(context);
  const requests = recordRequests(tab, stack.origin);
  await tab.goto(`${appPage}?otp=${encodeURIComponent(searchParams.get('otp'))}&state=${encodeURIComponent(searchParams.get('state'))}`);
  await expectScreen(tab, 'Set a new password');
  assert.equal(new URL(tab.url()).search, '', 'otp and state are removed from the address bar');
  const idx = requests.filter((r) => !r.startsWith('GET /widget/'));
  assert.deepEqual(idx, ['POST /idp/idx/introspect', 'POST /idp/idx/challenge/answer'], 'only introspect and the answer: no discovery, no interact');
  await check(tab, 'maglink-same-browser-reset');
  await resetPassword(tab);
  await tab.waitForURL((u) => u.pathname === '/callback', { timeout: 15000 });
  assert.equal(new URL(tab.url()).searchParams.get('state'), searchParams.get('state'));
  assert.ok(new URL(tab.url()).searchParams.get('interaction_code'));
});

test('recovery: the emailed link in another browser shows the code and calls nothing', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestCode(page, stack, user);
  const link = extractLinks(mail).find((l) => /[?&]otp=/.test(l));
  const { searchParams } = new URL(link);
  const otp = searchParams.get('otp');

  const other = await newContext();
  t.after(() => other.close());
  const tab = await newPage(other);
  const requests = recordRequests(tab, stack.origin);
  await tab.goto(`${app.url(config)}?otp=${encodeURIComponent(otp)}&state=${encodeURIComponent(searchParams.get('state'))}`);
  await expectScreen(tab, 'Continue in your original tab');
  await tab.getByText('Enter the code in the browser tab where you asked to reset your password').waitFor();
  assert.equal((await tab.locator('.lk-code').textContent()).trim(), otp, 'the code is shown');
  assert.equal(new URL(tab.url()).search, '', 'otp and state are removed from the address bar');
  await tab.waitForTimeout(500);
  assert.deepEqual(requests.filter((r) => !r.startsWith('GET /widget/')), [], 'no call to the server at all');
  await check(tab, 'maglink-other-browser');
  assert.ok(!(await tab.evaluate(() => location.href)).includes(otp));

  // LNK-3: the original tab was not advanced; typing the code there completes.
  assert.equal(await page.locator('.lk-title').textContent(), 'Check your email');
  await page.getByLabel('Verification code', { exact: true }).fill(otp);
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(page, 'Set a new password');
});

test('recovery: embedded with a server-side interactionHandle, Forgot password? continues that transaction', async (t) => {
  const { stack, app, user, clientId, context, config } = await setup(t);
  const tx = await stack.interact({ clientId, redirectUri: app.callback });
  const page = await newPage(context);
  const requests = recordRequests(page, stack.origin);
  await page.goto(app.url({ ...config, interactionHandle: tx.interactionHandle, state: tx.state }));
  const mail = await requestCode(page, stack, user, 'embedded');
  await page.getByLabel('Verification code', { exact: true }).fill(extractCode(mail));
  await page.getByRole('button', { name: 'Verify' }).click();
  await resetPassword(page);
  await page.waitForURL((u) => u.pathname === '/callback', { timeout: 15000 });
  const cb = new URL(page.url());
  assert.equal(cb.searchParams.get('state'), tx.state, 'the app state comes back');
  const idx = requests.filter((r) => !r.startsWith('GET /widget/'));
  assert.ok(!idx.some((r) => r.includes('/v1/interact') || r.includes('openid-configuration')), `no interact nor discovery from the browser: ${idx}`);
  assert.equal(idx[0], 'POST /idp/idx/introspect');
  assert.ok(idx.includes('POST /idp/idx/recover'), 'Forgot password? invoked the recover action');
  // The app's own PKCE pair is still the one that counts.
  const tokens = await stack.exchange({ clientId, redirectUri: app.callback, interactionCode: cb.searchParams.get('interaction_code'), codeVerifier: tx.codeVerifier });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.access_token && tokens.body.id_token);
});

test('recovery: resend is offered after a visible countdown', async (t) => {
  const { stack, app, user, context, config } = await setup(t, { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '3' });
  const page = await newPage(context);
  await page.goto(app.url({ ...config, resendCountdownSeconds: 3 }));
  await requestCode(page, stack, user);
  const resend = page.getByRole('button', { name: 'Resend code' });
  assert.equal(await resend.isDisabled(), true);
  assert.match(await page.locator('.lk-countdown').textContent(), /You can request a new code in [1-3] s\./);
  await check(page, 'resend-01-countdown');
  await page.waitForFunction(() => !document.querySelector('.lk-resend button').disabled, null, { timeout: 10000 });
  assert.match(await page.locator('.lk-countdown').textContent(), /request a new one/);
  await resend.click();
  await page.locator('.lk-alert', { hasText: 'If the account exists, we sent a new email.' }).waitFor({ timeout: 15000 });
  assert.equal(await resend.isDisabled(), true, 'the countdown starts again');
  const mails = await stack.mail.waitFor(user.email, 2, 15000);
  assert.equal(mails.length, 2);
  await check(page, 'resend-02-resent');
  // The latest code works.
  await page.getByLabel('Verification code', { exact: true }).fill(extractCode(mails[1]));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(page, 'Set a new password');
});

test('recovery: Back to sign in invokes cancel on the app-started transaction (no new interact)', async (t) => {
  const { stack, app, clientId, context, config } = await setup(t);
  const tx = await stack.interact({ clientId, redirectUri: app.callback });
  const page = await newPage(context);
  const requests = recordRequests(page, stack.origin);
  await page.goto(app.url({ ...config, interactionHandle: tx.interactionHandle, state: tx.state }));
  await expectScreen(page, 'Sign in');
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await expectScreen(page, 'Reset your password');
  await page.getByRole('button', { name: 'Back to sign in' }).click();
  await expectScreen(page, 'Sign in');
  const idx = requests.filter((r) => !r.startsWith('GET /widget/'));
  assert.deepEqual(idx, ['POST /idp/idx/introspect', 'POST /idp/idx/recover', 'POST /idp/idx/cancel']);
  await page.getByRole('button', { name: 'Forgot password?' }).waitFor();
});

test('recovery: a link whose code is no longer accepted shows the code prompt, empty, with the error', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestCode(page, stack, user);
  const { searchParams } = new URL(extractLinks(mail).find((l) => /[?&]otp=/.test(l)));
  const stale = searchParams.get('otp') === '000000' ? '111111' : '000000';
  const tab = await newPage(context);
  await tab.goto(`${app.url(config)}?otp=${stale}&state=${encodeURIComponent(searchParams.get('state'))}`);
  await tab.locator('.lk-title', { hasText: 'Check your email' }).waitFor({ timeout: 15000 });
  const input = tab.getByLabel('Verification code', { exact: true });
  await tab.locator('.lk-field-error:not(:empty)').waitFor({ timeout: 15000 });
  assert.equal(await tab.evaluate(() => document.activeElement.getAttribute('aria-invalid')), 'true', 'focus on the field in error');
  assert.equal(await input.inputValue(), '', 'the stale code is not prefilled');
  assert.equal(await input.getAttribute('aria-invalid'), 'true');
  assert.equal(new URL(tab.url()).search, '');
  await check(tab, 'maglink-stale-code');
  // The real code, typed, still works in that tab.
  await input.fill(searchParams.get('otp'));
  await tab.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(tab, 'Set a new password');
});
