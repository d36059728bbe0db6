// Sign-in with the widget embedded in a page on another origin (http://localhost vs the server
// on http://127.0.0.1): wrong password, then the right one; showSignIn() exchanges the
// interaction code itself (PKCE) and resolves with tokens; showSignInAndRedirect() redirects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../testkit/stack.mjs';
import { check, expectScreen, newContext, newPage, recordRequests, startApp } from './lib.mjs';

async function setup(t) {
  const stack = await startStack();
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

test('sign-in: wrong password shows an error and keeps the form; right password resolves with tokens', async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  const requests = recordRequests(page, stack.origin);
  await page.goto(app.url(config, 'tokens'));
  await expectScreen(page, 'Sign in');
  const order = ['GET /oauth2/default/.well-known/openid-configuration', 'POST /oauth2/default/v1/interact', 'POST /idp/idx/introspect'];
  assert.deepEqual(requests.filter((r) => order.includes(r)), order, 'boot: discovery, interact, introspect');
  assert.ok(requests.includes('POST /oauth2/default/v1/interact'), 'the widget runs interact itself');
  await check(page, 'signin-01-identify');

  const username = page.getByLabel('Username', { exact: true });
  const password = page.getByLabel('Password', { exact: true });
  assert.equal(await username.getAttribute('autocomplete'), 'username');
  assert.equal(await password.getAttribute('autocomplete'), 'current-password');
  assert.equal(await password.getAttribute('type'), 'password');
  // PWD-5: the show-password toggle reveals, and pasting works.
  await password.fill('abc');
  await page.getByRole('button', { name: 'Show password' }).click();
  assert.equal(await password.getAttribute('type'), 'text');
  await page.getByRole('button', { name: 'Hide password' }).click();
  assert.equal(await password.getAttribute('type'), 'password');
  // A paste event reaches the field and nothing cancels it (no handler blocks pasting a
  // password from a manager); then the pasted text is in the field.
  await password.fill('');
  const pasted = await password.evaluate((el) => {
    const data = new DataTransfer();
    data.setData('text/plain', 'pasted passphrase');
    const event = new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true });
    const allowed = el.dispatchEvent(event);
    // What the browser does with an uncancelled paste into a focused field.
    el.focus();
    document.execCommand('insertText', false, data.getData('text/plain'));
    return { allowed, defaultPrevented: event.defaultPrevented, onpaste: el.getAttribute('onpaste') };
  });
  assert.deepEqual(pasted, { allowed: true, defaultPrevented: false, onpaste: null }, 'pasting into the password field is allowed');
  assert.equal(await password.inputValue(), 'pasted passphrase');

  await username.fill(user.login);
  await password.fill(`${user.password}-wrong`);
  await password.press('Enter');
  await page.locator('.lk-alert .lk-msg, .lk-field-error:not(:empty)').first().waitFor();
  assert.equal(await username.inputValue(), user.login, 'the form keeps what the user typed');
  assert.match(await page.locator('.lk-title').textContent(), /Sign in/);
  await check(page, 'signin-02-wrong-password');

  await password.fill(user.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('#result').filter({ hasText: /status/ }).waitFor({ timeout: 15000 });
  const result = JSON.parse(await page.locator('#result').textContent());
  assert.equal(result.status, 'SUCCESS');
  assert.equal(result.hasAccess, true);
  assert.equal(result.email, user.login);
  assert.ok(requests.includes('POST /oauth2/default/v1/token'), 'the widget exchanged the code itself');
  await check(page, 'signin-03-success');

  // WEB-3: nothing secret stays in the page's storage.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
  assert.doesNotMatch(stored, /access_token|id_token|eyJ/);
  assert.deepEqual(page.__errors ?? [], []);
});

test('sign-in: showSignInAndRedirect lands on the callback with interaction_code and state', async (t) => {
  const { app, user, context, config } = await setup(t);
  const page = await newPage(context);
  await page.goto(app.url({ ...config, state: 'app-state-123' }));
  await expectScreen(page, 'Sign in');
  // Keyboard only: tab from the heading through the form.
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.login);
  await page.keyboard.press('Tab');
  await page.keyboard.type(user.password);
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => u.pathname === '/callback', { timeout: 15000 });
  const u = new URL(page.url());
  assert.ok(u.searchParams.get('interaction_code'));
  assert.equal(u.searchParams.get('state'), 'app-state-123');
});
