// The small things a first run meets (issue 13 item 9 and item 3), each pinned where it failed:
// focus after a failed sign-in, a reload of the "continue in your original tab" page, and the
// original tab noticing that the flow finished in another tab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractCode, extractLinks, startStack, strongPassword } from '../testkit/stack.mjs';
import { expectScreen, newContext, newPage, recordRequests, startApp, startRecovery } from './lib.mjs';

async function setup(t) {
  const stack = await startStack();
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'paper@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const config = { issuer: stack.issuer, clientId, redirectUri: app.callback, scopes: ['openid', 'email'] };
  return { stack, app, user, context, config };
}

async function requestEmail(page, stack, user) {
  await startRecovery(page, user.login);
  const [mail] = await stack.mail.waitFor(user.email, 1, 15000);
  return mail;
}

test('a failed sign-in leaves focus on the password field, not on the page body', async (t) => {
  const { app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  await expectScreen(page, 'Sign in');
  await page.getByLabel('Username', { exact: true }).fill(user.login);
  await page.getByLabel('Password', { exact: true }).fill('not the password at all, sorry');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.lk-alert .lk-error').waitFor({ timeout: 15000 });
  const focused = await page.evaluate(() => ({ tag: document.activeElement.tagName, name: document.activeElement.getAttribute('name') }));
  assert.deepEqual(focused, { tag: 'INPUT', name: 'credentials.passcode' });
});

test('the link opened in another browser still shows its code after a reload, with nothing stored', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestEmail(page, stack, user);
  const link = extractLinks(mail).find((l) => l.includes('/signin/reset-password?'));
  const otp = new URL(link).searchParams.get('otp');

  const other = await newContext();
  t.after(() => other.close());
  const tab = await newPage(other);
  const calls = recordRequests(tab, stack.origin);
  await tab.goto(link);
  await expectScreen(tab, 'Continue in your original tab');
  assert.equal(new URL(tab.url()).search, '', 'otp and state left the address bar');
  await tab.reload();
  await expectScreen(tab, 'Continue in your original tab');
  assert.equal((await tab.locator('.lk-code').textContent()).trim(), otp, 'the same code after the reload');
  const stored = await tab.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }, document.cookie]));
  assert.ok(!stored.includes(otp), `no code in web storage or cookies (WEB-3): ${stored}`);
  assert.deepEqual(calls.filter((c) => c.includes('/idp/') || c.includes('/oauth2/')), [], 'still nothing called');
});

test('the original tab notices that the flow finished in another tab', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestEmail(page, stack, user);
  const { searchParams } = new URL(extractLinks(mail).find((l) => /[?&]otp=/.test(l)));
  const tab = await newPage(context);
  await tab.goto(`${app.url(config)}?otp=${encodeURIComponent(searchParams.get('otp'))}&state=${encodeURIComponent(searchParams.get('state'))}`);
  await expectScreen(tab, 'Set a new password');
  const password = strongPassword();
  await tab.getByLabel('New password', { exact: true }).fill(password);
  await tab.getByLabel('Re-enter new password', { exact: true }).fill(password);
  await tab.getByRole('button', { name: 'Reset password' }).click();
  await tab.waitForURL((u) => u.pathname === '/callback', { timeout: 15000 });
  await page.locator('.lk-title', { hasText: 'All set' }).waitFor({ timeout: 15000 });
  await page.getByText('You finished in another tab. You can close this tab.').waitFor();
  assert.equal(await page.getByLabel('Verification code', { exact: true }).count(), 0, 'the dead form is gone');
});

test('starting again in a new tab of the same browser resumes the transaction whose email was sent', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url(config));
  const mail = await requestEmail(page, stack, user);
  const code = extractCode(mail);

  // Inside the mail gap a second transaction would get no email; the new tab resumes the first.
  const again = await newPage(context);
  const calls = recordRequests(again, stack.origin);
  await again.goto(app.url(config));
  await expectScreen(again, 'Check your email');
  assert.ok(!calls.some((c) => c.endsWith('/v1/interact')), `no new transaction: ${calls}`);
  await again.getByLabel('Verification code', { exact: true }).fill(code);
  await again.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(again, 'Set a new password');
  // No second recovery was started from the new tab, so no second email can exist.
  assert.ok(!calls.some((c) => /\/idp\/idx\/(recover|identify|challenge)$/.test(c)), `no new recovery: ${calls}`);
});
