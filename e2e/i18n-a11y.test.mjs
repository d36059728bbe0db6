// Language, layout and robustness of the widget: French through the recovery screens, 320 px
// wide and dark scheme with axe-core, an expired transaction offering to start over, and text
// from users rendered as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractCode, startStack } from '../testkit/stack.mjs';
import { check, expectScreen, newContext, newPage, recordRequests, startApp } from './lib.mjs';

async function setup(t, contextOptions) {
  const stack = await startStack();
  t.after(() => stack.stop());
  const app = await startApp(stack.origin);
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'jane@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext(contextOptions);
  t.after(() => context.close());
  const config = { issuer: stack.issuer, clientId, redirectUri: app.callback, scopes: ['openid', 'email'] };
  return { stack, app, user, clientId, context, config };
}

test("i18n: language 'fr' renders every screen in French and sends Accept-Language", async (t) => {
  const { stack, app, user, context, config } = await setup(t);
  const page = await newPage(context);
  const langs = [];
  page.on('request', (r) => { if (r.url().includes('/idp/idx/')) langs.push(r.headers()['accept-language']); });
  await page.goto(app.url({ ...config, language: 'fr' }));
  await expectScreen(page, 'Connexion');
  assert.equal(await page.locator('.lk-widget').getAttribute('lang'), 'fr');
  await page.getByLabel('Nom d’utilisateur', { exact: true }).waitFor();
  await page.getByLabel('Mot de passe', { exact: true }).waitFor();
  await page.getByText('Rester connecté').waitFor();
  await check(page, 'fr-01-identify');
  await page.getByRole('button', { name: 'Mot de passe oublié ?' }).click();
  await expectScreen(page, 'Réinitialiser votre mot de passe');
  await check(page, 'fr-02-identify-recovery');
  await page.getByLabel('E-mail ou nom d’utilisateur', { exact: true }).fill(user.login);
  await page.getByRole('button', { name: 'Suivant' }).click();
  await page.getByRole('radio', { name: 'E-mail' }).check();
  await check(page, 'fr-03-select');
  await page.getByRole('button', { name: 'Envoyer' }).click();
  await expectScreen(page, 'Consultez vos e-mails');
  assert.match(await page.locator('.lk-countdown').textContent(), /Vous pourrez demander un nouveau code dans \d+ s/);
  await check(page, 'fr-04-challenge');
  const [mail] = await stack.mail.waitFor(user.email, 1, 15000);
  await page.getByLabel('Code de vérification', { exact: true }).fill(extractCode(mail));
  await page.getByRole('button', { name: 'Vérifier' }).click();
  await expectScreen(page, 'Choisir un nouveau mot de passe');
  await page.getByText(/Au moins \d+ caractères/).waitFor();
  await page.getByRole('button', { name: 'Afficher le mot de passe' }).waitFor();
  await check(page, 'fr-05-reset');
  assert.ok(langs.length > 0 && langs.every((l) => l === 'fr'), `Accept-Language: ${langs}`);
});

test('layout: 320 px wide, dark scheme and reduced motion, no horizontal scrolling, axe clean', async (t) => {
  const { app, context, config } = await setup(t, { viewport: { width: 320, height: 800 }, colorScheme: 'dark', reducedMotion: 'reduce' });
  const page = await newPage(context);
  await page.goto(app.url(config));
  await expectScreen(page, 'Sign in');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(overflow <= 0, `horizontal overflow of ${overflow}px at 320 px`);
  const bg = await page.locator('.lk-widget').evaluate((el) => getComputedStyle(el).backgroundColor);
  assert.notEqual(bg, 'rgb(255, 255, 255)', 'dark scheme applies');
  await check(page, 'layout-320-dark-identify');
  // Keyboard: Tab reaches every control in order, focus is visible.
  const names = [];
  for (let i = 0; i < 6; i += 1) {
    await page.keyboard.press('Tab');
    names.push(await page.evaluate(() => {
      const a = document.activeElement;
      const outline = getComputedStyle(a).outlineStyle;
      return `${a.tagName.toLowerCase()}:${a.getAttribute('type') || ''}:${a.textContent.trim() || a.labels?.[0]?.textContent || ''}:${outline}`;
    }));
  }
  assert.deepEqual(names.map((n) => n.split(':').slice(0, 3).join(':')), [
    'input:text:Username', 'input:password:Password', 'button:button:Show', 'input:checkbox:Keep me signed in',
    'button:submit:Sign in', 'button:button:Forgot password?',
  ]);
  assert.ok(names.every((n) => !n.endsWith(':none')), `focus is visible: ${names}`);
});

test('expired transaction: the widget says so and Start over begins a fresh one', async (t) => {
  const { stack, app, context, config } = await setup(t);
  const page = await newPage(context);
  const requests = recordRequests(page, stack.origin);
  await page.goto(app.url({ ...config, interactionHandle: 'no-such-interaction-handle', state: 'gone' }));
  await page.getByRole('button', { name: 'Start over' }).waitFor({ timeout: 15000 });
  await page.locator('.lk-alert .lk-error').waitFor();
  await check(page, 'expired-01-terminal');
  await page.getByRole('button', { name: 'Start over' }).click();
  await expectScreen(page, 'Sign in');
  assert.ok(requests.includes('POST /oauth2/default/v1/interact'));
});

test('text from users and the server is rendered as text (WEB-8)', async (t) => {
  const { app, context, config } = await setup(t);
  const page = await newPage(context);
  let dialogs = 0;
  page.on('dialog', (d) => { dialogs += 1; d.dismiss(); });
  await page.goto(app.url({ ...config, brandName: '<img src=x onerror=alert(1)>' }));
  await expectScreen(page, 'Sign in');
  await page.getByText('<img src=x onerror=alert(1)>').waitFor();
  await page.getByLabel('Username', { exact: true }).fill('"><svg onload=alert(1)>');
  await page.getByLabel('Password', { exact: true }).fill('"><img src=x onerror=alert(2)>');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.locator('.lk-alert .lk-msg, .lk-field-error:not(:empty)').first().waitFor({ timeout: 15000 });
  assert.equal(dialogs, 0);
  assert.equal(await page.locator('.lk-widget svg, .lk-widget img').count(), 0);
});
