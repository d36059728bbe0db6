// The server's hosted pages in Chromium: sign-in behind /v1/authorize, recovery on that page, and
// the default recovery link (/signin/reset-password) opened in the same browser and in another
// one. The client is an ordinary OAuth app on another origin that receives code, state and iss.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { extractLinks, startStack, strongPassword } from '../testkit/stack.mjs';
import { check, expectScreen, newContext, newPage, recordRequests, startApp } from './lib.mjs';

async function setup(t) {
  const stack = await startStack();
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'hosted@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const verifier = randomBytes(32).toString('base64url');
  const state = `hosted-${randomBytes(8).toString('hex')}`;
  const authorize = new URL(`${stack.issuer}/v1/authorize`);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: app.callback, response_type: 'code', scope: 'openid email profile',
    state, nonce: 'n-hosted', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) authorize.searchParams.set(k, v);
  return { stack, app, user, clientId, verifier, state, authorize: authorize.toString() };
}

async function redeem(stack, { clientId, verifier, redirectUri, code }) {
  const r = await fetch(`${stack.issuer}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, code_verifier: verifier, redirect_uri: redirectUri }),
  });
  return { status: r.status, body: await r.json() };
}

function watchCsp(page) {
  const violations = [];
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  return violations;
}

test('the hosted sign-in page signs in and returns an authorization code to the client', async (t) => {
  const s = await setup(t);
  const context = await newContext();
  t.after(() => context.close());
  const page = await newPage(context);
  const csp = watchCsp(page);
  await page.goto(s.authorize);
  await expectScreen(page, 'Sign in');
  await check(page, 'hosted-01-sign-in');
  await page.getByLabel('Username', { exact: true }).fill(s.user.login);
  await page.getByLabel('Password', { exact: true }).fill('not the password at all, sorry');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.lk-alert:not(:empty), .lk-field-error:not(:empty)').first().waitFor({ timeout: 15000 });
  await check(page, 'hosted-02-wrong-password');
  await page.getByLabel('Password', { exact: true }).fill(s.user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.toString().startsWith(s.app.callback), { timeout: 15000 });
  const back = new URL(page.url());
  assert.equal(back.searchParams.get('state'), s.state);
  assert.equal(back.searchParams.get('iss'), s.stack.issuer);
  const tokens = await redeem(s.stack, { clientId: s.clientId, verifier: s.verifier, redirectUri: s.app.callback, code: back.searchParams.get('code') });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.ok(tokens.body.id_token);
  assert.deepEqual(csp, [], 'the hosted page runs under its CSP without violations');
});

test('the default recovery link continues in the same browser and only shows the code elsewhere', async (t) => {
  const s = await setup(t);
  const context = await newContext();
  t.after(() => context.close());
  const page = await newPage(context);
  await page.goto(s.authorize);
  await expectScreen(page, 'Sign in');
  await page.getByRole('button', { name: 'Forgot password?' }).click();
  await page.getByLabel('Email or Username', { exact: true }).fill(s.user.login);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByRole('radio', { name: 'Email' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Check your email');
  const [mail] = await s.stack.mail.waitFor(s.user.email, 1, 15000);
  const link = extractLinks(mail).find((l) => l.includes('/signin/reset-password?'));
  assert.ok(link, 'the email carries the hosted reset link');

  // Another browser: the code is shown, nothing is called beyond loading the page.
  const other = await newContext();
  t.after(() => other.close());
  const otherPage = await newPage(other);
  const calls = recordRequests(otherPage, s.stack.origin);
  await otherPage.goto(link);
  await otherPage.getByText(new URL(link).searchParams.get('otp')).first().waitFor({ timeout: 15000 });
  await check(otherPage, 'hosted-03-other-browser');
  const idxCalls = calls.filter((c) => c.includes('/idp/idx/') || c.includes('/oauth2/'));
  assert.deepEqual(idxCalls, [], 'the other browser advances nothing');
  assert.ok(!new URL(otherPage.url()).searchParams.has('otp'), 'the code is removed from the address bar');

  // The same browser, new tab: the reset form, then back to the client signed in.
  const tab = await newPage(context);
  await tab.goto(link);
  await expectScreen(tab, 'Set a new password');
  const password = strongPassword();
  await tab.getByLabel('New password', { exact: true }).fill(password);
  await tab.getByLabel('Re-enter new password', { exact: true }).fill(password);
  await tab.getByRole('button', { name: 'Reset password' }).click();
  await tab.waitForURL((url) => url.toString().startsWith(s.app.callback), { timeout: 15000 });
  const back = new URL(tab.url());
  assert.equal(back.searchParams.get('state'), s.state);
  const tokens = await redeem(s.stack, { clientId: s.clientId, verifier: s.verifier, redirectUri: s.app.callback, code: back.searchParams.get('code') });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
});
