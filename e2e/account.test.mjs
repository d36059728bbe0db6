// The account page (/account) in Chromium: a user signs in through the hosted page, opens their
// account page on the server's origin, adds an authenticator app (the key shown on the page,
// the code computed here as the app would), and changes the password with the current one. Each
// state is checked with axe in light and dark at 375 and 1280 px (screenshots in e2e/artifacts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { startStack, strongPassword } from '../testkit/stack.mjs';
import { assertFollowsScheme, check, checkEverywhere, expectScreen, newContext, newPage, startApp } from './lib.mjs';

/** RFC 6238 with the server's parameters (HMAC-SHA1, six digits, 30 s), as an authenticator app computes it. */
function totp(base32, at = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
}

function authorizeUrl(stack, clientId, redirectUri) {
  const url = new URL(`${stack.issuer}/v1/authorize`);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid email', state: `s-${randomBytes(8).toString('hex')}`,
    nonce: 'n-account', code_challenge: createHash('sha256').update(randomBytes(32).toString('base64url')).digest('base64url'),
    code_challenge_method: 'S256', prompt: 'login',
  })) url.searchParams.set(k, v);
  return url.href;
}

/** Signs in through the hosted page and waits for the client's callback: the browser now has a Latchkey session. */
async function signIn(page, stack, clientId, app, login, password) {
  await page.goto(authorizeUrl(stack, clientId, app.callback));
  await expectScreen(page, 'Sign in');
  await page.getByLabel('Username', { exact: true }).fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.toString().startsWith(app.callback), { timeout: 15000 });
}

test('the account page adds an authenticator app and changes the password', async (t) => {
  const stack = await startStack();
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'account@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const page = await newPage(context);
  const csp = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) csp.push(m.text()); });

  // Signed out, the page says to sign in first and shows no form.
  await page.goto(`${stack.origin}/account`);
  await page.getByRole('heading', { level: 1, name: /Sign in first/ }).waitFor();
  assert.equal(await page.locator('form').count(), 0);
  await check(page, 'account-signed-out');

  await signIn(page, stack, clientId, app, user.login, user.password);
  await page.goto(`${stack.origin}/account`);
  await page.getByRole('heading', { level: 1, name: /Your account/ }).waitFor();
  await page.getByText(`You are signed in as ${user.login}.`).waitFor();
  assertFollowsScheme(await checkEverywhere(page, 'account'), 'the account page');

  // Add an authenticator app: the QR code and the key, then the app's current code.
  await page.getByRole('button', { name: 'Add an authenticator app' }).click();
  await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
  assert.ok(!page.url().includes('secret'), 'no secret in the URL');
  const secret = (await page.locator('#totp-secret').textContent()).trim();
  assert.match(secret, /^[A-Z2-7]+=*$/, 'a base32 key');
  assert.ok(await page.getByRole('img', { name: 'QR code for your authenticator app' }).isVisible());
  assertFollowsScheme(await checkEverywhere(page, 'account-totp-setup'), 'the enrollment');
  await page.getByLabel('Code from the app', { exact: true }).fill('000000');
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('alert').filter({ hasText: 'That code is not right' }).waitFor();
  await check(page, 'account-totp-wrong-code');
  await page.getByLabel('Code from the app', { exact: true }).fill(totp(secret));
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.getByRole('status').filter({ hasText: 'Your authenticator app was added.' }).waitFor();
  assert.equal(await page.locator('#totp-secret').count(), 0, 'the key is not shown again');
  await page.locator('#authenticator-list').getByText('Authenticator app', { exact: true }).waitFor();
  assertFollowsScheme(await checkEverywhere(page, 'account-totp-added'), 'the page with an app');

  // Change the password: the current one first.
  const password = strongPassword();
  await page.locator('#current-password').fill(user.password);
  await page.getByLabel('New password', { exact: true }).fill(password);
  await page.getByLabel('Repeat the new password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Change password' }).click();
  await page.getByRole('status').filter({ hasText: 'Your password was changed.' }).waitFor();
  await check(page, 'account-password-changed');
  // This browser stays signed in.
  await page.goto(`${stack.origin}/account`);
  await page.getByRole('heading', { level: 1, name: /Your account/ }).waitFor();

  // Another browser signs in with the new password, not with the old one.
  const other = await newContext();
  t.after(() => other.close());
  const second = await newPage(other);
  await second.goto(authorizeUrl(stack, clientId, app.callback));
  await expectScreen(second, 'Sign in');
  await second.getByLabel('Username', { exact: true }).fill(user.login);
  await second.getByLabel('Password', { exact: true }).fill(user.password);
  await second.getByRole('button', { name: 'Sign in' }).click();
  await second.locator('.lk-alert:not(:empty), .lk-field-error:not(:empty)').first().waitFor({ timeout: 15000 });
  await second.getByLabel('Password', { exact: true }).fill(password);
  await second.getByRole('button', { name: 'Sign in' }).click();
  await second.waitForURL((url) => url.toString().startsWith(app.callback), { timeout: 15000 });
  assert.deepEqual(csp, [], 'the account page runs under its CSP without violations');
});
