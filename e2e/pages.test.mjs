// What a newcomer sees around the flow (issue 13): the landing page at the server's root, the
// development mailbox (live list, the code large, its link followed by a click), the hosted
// pages and the reset form, each page checked with axe in light and dark at 375 and 1280 px
// (screenshots in e2e/artifacts/; further states of a page once, to keep the run short).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { extractLinks, startStack, strongPassword } from '../testkit/stack.mjs';
import { assertFollowsScheme, check, checkEverywhere, expectScreen, newContext, newPage, startApp, startRecovery } from './lib.mjs';

function authorizeUrl(stack, clientId, redirectUri) {
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(`${stack.issuer}/v1/authorize`);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope: 'openid email', state: `s-${randomBytes(8).toString('hex')}`,
    nonce: 'n-pages', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
  })) url.searchParams.set(k, v);
  return url.href;
}

test('the landing page, the mailbox and the hosted reset, in light and dark, on a phone and a desktop', async (t) => {
  const stack = await startStack({ dev: true });
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'mailbox@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());

  // The root: an HTML page, not a JSON 404.
  const landing = await newPage(context);
  const root = await landing.goto(`${stack.origin}/`);
  assert.equal(root.status(), 200);
  await landing.getByRole('heading', { level: 1, name: 'Latchkey sign-in service' }).waitFor();
  assertFollowsScheme(await checkEverywhere(landing, 'landing'), 'the landing page');
  await landing.getByRole('link', { name: 'development mailbox' }).click();

  // The mailbox, empty, says what lands there; it stays open while the email is sent.
  await landing.getByText('No emails yet.').waitFor();
  assertFollowsScheme(await checkEverywhere(landing, 'mailbox-empty'), 'the empty mailbox');

  const signIn = await newPage(context);
  await signIn.goto(authorizeUrl(stack, clientId, app.callback));
  await expectScreen(signIn, 'Sign in');
  assertFollowsScheme(await checkEverywhere(signIn, 'hosted-sign-in'), 'the hosted sign-in page');
  await startRecovery(signIn, user.login);
  // The check-email screen speaks of the link too, and of what to do when nothing arrives.
  await signIn.getByText('a verification code and a link').waitFor();
  await signIn.getByText('only the most recent one works').waitFor();
  await checkEverywhere(signIn, 'hosted-check-email');

  // The open mailbox shows the new email without a reload.
  const subject = landing.getByRole('link', { name: /reset/i });
  await subject.waitFor({ timeout: 15000 });
  await check(landing, 'mailbox-list');
  await subject.click();
  const code = (await landing.locator('#mail-code').textContent()).trim();
  assert.match(code, /^\d{6}$/, 'the code is shown on its own');
  await landing.getByRole('button', { name: 'Copy code' }).waitFor();
  await landing.getByRole('tab', { name: 'Text' }).click();
  assert.ok((await landing.locator('#view-text pre').textContent()).includes(code), 'the text view');
  await landing.getByRole('tab', { name: 'HTML' }).click();
  assertFollowsScheme(await checkEverywhere(landing, 'mailbox-message'), 'a mailbox message');

  // Its link is an anchor: a click opens the hosted page in a new tab of this browser.
  const link = landing.getByRole('link', { name: /\/signin\/reset-password\?/ });
  const [reset] = await Promise.all([context.waitForEvent('page'), link.click()]);
  await expectScreen(reset, 'Set a new password');
  const pw = reset.getByLabel('New password', { exact: true });
  const strength = reset.locator('.lk-req', { hasText: 'Hard to guess' });
  assert.equal(await strength.count(), 1, 'the strength rule is listed before anything is typed');
  assert.equal(await strength.getAttribute('data-met'), null, 'not judged yet');
  assertFollowsScheme(await checkEverywhere(reset, 'hosted-reset-form'), 'the hosted reset form');
  const weak = 'aaaaaaaaaaaaaaaaaaaa';
  await pw.fill(weak);
  // Judged while typing, by the server's check of this reset step.
  await reset.locator('.lk-req[data-met="false"]', { hasText: 'Hard to guess' }).waitFor({ timeout: 15000 });
  await reset.getByLabel('Re-enter new password', { exact: true }).fill(weak);
  await reset.getByRole('button', { name: 'Reset password' }).click();
  await reset.locator('.lk-field-error:not(:empty)').first().waitFor({ timeout: 15000 });
  assert.equal(await strength.getAttribute('data-met'), 'false', 'the server said the password is too easy to guess');
  await check(reset, 'hosted-reset-weak');
  // Changing the password clears the error it caused, and a strong one meets the rule.
  await pw.fill(strongPassword());
  assert.equal(await pw.getAttribute('aria-invalid'), null, 'the error went with the value');
  assert.equal(await reset.locator('.lk-field-error:not(:empty)').count(), 0);
  await reset.locator('.lk-req[data-met="true"]', { hasText: 'Hard to guess' }).waitFor({ timeout: 15000 });
  await check(reset, 'hosted-reset-strong');
});

test('a theme set through the API colours the widget button, puts the logo on the hosted page and heads the default email', async (t) => {
  const stack = await startStack();
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'brand@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const admin = (path, init = {}) => fetch(`${stack.origin}${path}`, { ...init, headers: { authorization: `SSWS ${stack.adminToken}`, accept: 'application/json', ...(init.headers ?? {}) } });
  const [theme] = await (await admin('/api/v1/brands/default/themes')).json();
  const themePath = `/api/v1/brands/default/themes/${theme.id}`;
  const put = await admin(themePath, {
    method: 'PUT', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...theme, primaryColorHex: '#7b1fa2', emailTemplateTouchPointVariant: 'FULL_THEME' }),
  });
  assert.equal(put.status, 200);
  assert.equal((await put.json()).primaryColorContrastHex, '#ffffff');
  // A 1×1 PNG as the logo.
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkaPhfDwAEhAGAO1FZ1wAAAABJRU5ErkJggg==', 'base64');
  const form = new FormData();
  form.append('file', new Blob([png], { type: 'image/png' }), 'logo.png');
  assert.equal((await admin(`${themePath}/logo`, { method: 'POST', body: form })).status, 201);

  const context = await newContext();
  t.after(() => context.close());
  const page = await newPage(context);
  await page.goto(authorizeUrl(stack, clientId, app.callback));
  await expectScreen(page, 'Sign in');
  const button = page.getByRole('button', { name: 'Sign in' });
  assert.equal(await button.evaluate((b) => getComputedStyle(b).backgroundColor), 'rgb(123, 31, 162)', 'the brand colour');
  assert.equal(await button.evaluate((b) => getComputedStyle(b).color), 'rgb(255, 255, 255)', 'its contrast text');
  const logo = await page.locator('.lk-logo').evaluate((el) => getComputedStyle(el).backgroundImage);
  assert.match(logo, /\/branding\/v1\/logo\?v=\d+/, 'the logo on the hosted page');
  await checkEverywhere(page, 'branded-widget');

  // The default email, with the FULL_THEME variant, is headed in the brand colour with the logo.
  await startRecovery(page, user.login);
  const [mail] = await stack.mail.waitFor(user.email, 1, 15000);
  assert.match(mail.html, /background-color:#7b1fa2/);
  assert.match(mail.html, new RegExp(`<img src="${stack.origin.replace(/[.]/g, '\\.')}/branding/v1/logo\\?v=\\d+"`));
  const preview = await newPage(context);
  await preview.setContent(mail.html);
  await preview.screenshot({ path: new URL('./artifacts/branded-email.png', import.meta.url).pathname, fullPage: true });

  // The set-password page behind an administrator's reset link, branded too, and in Japanese
  // when the link asks for it; a used or unknown link gets a page in the browser's language.
  assert.equal((await admin(`/api/v1/users/${user.id}/lifecycle/reset_password`, { method: 'POST' })).status, 200);
  const [, resetMail] = await stack.mail.waitFor(user.email, 2, 15000);
  const link = extractLinks(resetMail).find((l) => l.includes('/signin/set-password?token='));
  assert.ok(link, 'the email carries the set-password link');
  const setPassword = await newPage(context);
  await setPassword.goto(link);
  await setPassword.getByRole('heading', { level: 1, name: /Set your password/ }).waitFor();
  assertFollowsScheme(await checkEverywhere(setPassword, 'set-password'), 'the set-password page');
  await setPassword.goto(`${link}&ui_locales=ja`);
  await setPassword.getByRole('button', { name: 'パスワードを設定' }).waitFor();
  await check(setPassword, 'set-password-ja');
  await setPassword.goto(`${stack.origin}/signin/set-password?token=gone`);
  await setPassword.getByRole('heading', { level: 1, name: 'Link expired' }).waitFor();
  await checkEverywhere(setPassword, 'link-expired');
});
