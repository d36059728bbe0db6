// Okta's management SDK (@okta/okta-sdk-nodejs 8) against Latchkey's email customization API
// (/api/v1/brands/{brandId}/templates/email…) with the SSWS token: brands, templates, default
// content, customizations (create, list, get, replace, preview, delete), the test send, and the
// recipe's magic-link customization reaching a real recovery email. Every call goes through the
// SDK's own `client.customizationApi` (its request factory, serializer and response processor).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, test } from 'node:test';

import okta from '@okta/okta-sdk-nodejs';
import { loadAuthJs, newClient, prepare } from '../lib/authjs.mjs';
import { backends, recoveryMail, settledMessages, stackFor, strongPassword } from '../lib/env.mjs';

const require = createRequire(import.meta.url);
const SDK_VERSION = require('@okta/okta-sdk-nodejs/package.json').version;
const TEST_TIMEOUT = 60_000;

const ADMIN_EMAIL = 'admin@example.com';
const BRAND = 'default';
const TEMPLATE = 'ForgotPassword';
/** The recipe's link (docs/recipe.md): the app's callback with the code and the interact state. */
const APP_LINK = 'https://app.example/magic-link/callback?otp=${oneTimePassword}&state=${request.relayState}';

const englishBody = (extra = '') =>
  `<html><body><p>Hello \${user.profile.firstName},</p><p><a href="${APP_LINK}">Reset your password</a></p>` +
  `<p>Or enter this code: \${oneTimePassword}</p>${extra}</body></html>`;
const frenchBody = () =>
  `<html><body><p>Bonjour \${user.profile.firstName},</p><p><a href="${APP_LINK}">Réinitialiser le mot de passe</a></p>` +
  `<p>Ou saisissez ce code : \${oneTimePassword}</p></body></html>`;

function sdkClient(stack, options = {}) {
  // No retries on 429 and a short request timeout, so a failure surfaces instead of stalling.
  return new okta.Client({ orgUrl: stack.origin, token: stack.adminToken, maxRetries: 0, requestTimeout: 10000, ...options });
}

/** Every item of an SDK Collection (the list calls return one, paged by `Link` headers). */
async function all(collection) {
  const items = [];
  for await (const item of collection) items.push(item);
  return items;
}

/** The SDK's OktaApiError with this status (and Okta error code, if given). */
const apiError = (status, errorCode) => (e) => {
  assert.equal(e.status, status, `${e.name}: ${e.message}`);
  if (errorCode) assert.equal(e.errorCode, errorCode);
  assert.ok(e.errorSummary, 'errorSummary');
  return true;
};

const stackWithAdmin = (t, backend) => stackFor(t, backend, { LATCHKEY_ADMIN_EMAIL: ADMIN_EMAIL });

/** The app link in an email (`html`) or an EmailPreview (`body`): the recipe's callback. */
function appLink(mail) {
  const hrefs = [...(mail.html ?? mail.body ?? '').matchAll(/href="([^"]*)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
  return hrefs.find((h) => h.startsWith('https://app.example/magic-link/callback?'));
}

for (const backend of backends()) {
  describe(`okta-sdk-nodejs ${SDK_VERSION} email customization on ${backend}`, { timeout: 6 * TEST_TIMEOUT }, () => {
    test('listBrands, listEmailTemplates, getEmailTemplate, getEmailDefaultContent, getEmailDefaultPreview', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackWithAdmin(t, backend);
      const api = sdkClient(stack).customizationApi;

      const brands = await all(await api.listBrands());
      assert.deepEqual(brands.map((b) => b.id), [BRAND]);
      assert.equal(brands[0].isDefault, true);
      assert.equal((await api.getBrand({ brandId: BRAND })).id, BRAND);

      const templates = await all(await api.listEmailTemplates({ brandId: BRAND }));
      const names = templates.map((x) => x.name);
      assert.ok(names.includes(TEMPLATE), `templates: ${names}`);
      assert.ok(templates.every((x) => x._links?.self?.href?.endsWith(`/api/v1/brands/${BRAND}/templates/email/${x.name}`)));

      const template = await api.getEmailTemplate({ brandId: BRAND, templateName: TEMPLATE });
      assert.equal(template.name, TEMPLATE);

      const content = await api.getEmailDefaultContent({ brandId: BRAND, templateName: TEMPLATE });
      assert.ok(content.subject, 'default subject');
      assert.match(content.body, /\$\{oneTimePassword\}|\$\{resetPasswordLink\}|\$\{resetPasswordUrl\}/, 'the default body uses the code or the reset link');
      const french = await api.getEmailDefaultContent({ brandId: BRAND, templateName: TEMPLATE, language: 'fr' });
      assert.notEqual(french.subject, content.subject, 'language=fr gives the French default');

      const preview = await api.getEmailDefaultPreview({ brandId: BRAND, templateName: TEMPLATE });
      assert.ok(preview.subject);
      assert.doesNotMatch(preview.body, /\$\{oneTimePassword\}/, 'the preview is rendered with sample data');

      await assert.rejects(api.getEmailTemplate({ brandId: BRAND, templateName: 'NoSuchTemplate' }), apiError(404, 'E0000007'));
      await assert.rejects(all(await api.listEmailTemplates({ brandId: 'no-such-brand' })), apiError(404, 'E0000007'));
    });

    test('customizations: create (en default, fr), list, get, replace, preview, conflicts and validation, delete', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackWithAdmin(t, backend);
      const api = sdkClient(stack).customizationApi;
      const at = { brandId: BRAND, templateName: TEMPLATE };

      const en = await api.createEmailCustomization({ ...at, instance: { language: 'en', subject: 'Reset your password', body: englishBody(), isDefault: true } });
      assert.ok(en.id);
      assert.equal(en.language, 'en');
      assert.equal(en.isDefault, true);
      assert.equal(en.body, englishBody());
      assert.ok(en.created instanceof Date && !Number.isNaN(en.created.getTime()), 'created parses as a Date');
      assert.ok(en.lastUpdated instanceof Date && !Number.isNaN(en.lastUpdated.getTime()), 'lastUpdated parses as a Date');

      const fr = await api.createEmailCustomization({ ...at, instance: { language: 'fr', subject: 'Réinitialisez votre mot de passe', body: frenchBody() } });
      assert.equal(fr.language, 'fr');
      assert.equal(fr.isDefault, false);

      const listed = await all(await api.listEmailCustomizations(at));
      assert.deepEqual(listed.map((c) => [c.language, c.isDefault]).sort(), [['en', true], ['fr', false]]);

      const got = await api.getEmailCustomization({ ...at, customizationId: en.id });
      assert.equal(got.id, en.id);
      assert.equal(got.subject, 'Reset your password');

      // A second default and a second customization in one language are refused (409).
      await assert.rejects(
        api.createEmailCustomization({ ...at, instance: { language: 'de', subject: 'Passwort', body: englishBody(), isDefault: true } }),
        apiError(409),
      );
      await assert.rejects(
        api.createEmailCustomization({ ...at, instance: { language: 'fr', subject: 'Encore', body: frenchBody() } }),
        apiError(409),
      );
      // A ForgotPassword body with neither the code nor the reset link, and one that does not parse (400).
      await assert.rejects(
        api.createEmailCustomization({ ...at, instance: { language: 'de', subject: 'Passwort', body: '<p>Hallo ${user.profile.firstName}</p>' } }),
        apiError(400, 'E0000001'),
      );
      await assert.rejects(
        api.createEmailCustomization({ ...at, instance: { language: 'de', subject: 'Passwort', body: '<p>${oneTimePassword</p>' } }),
        apiError(400, 'E0000001'),
      );
      await assert.rejects(
        api.replaceEmailCustomization({ ...at, customizationId: fr.id, instance: { language: 'fr', subject: 'x', body: '<p>rien</p>' } }),
        apiError(400, 'E0000001'),
      );
      assert.equal((await all(await api.listEmailCustomizations(at))).length, 2, 'nothing was saved by the refused calls');

      // Replace with the properties the caller sets.
      const replaced = await api.replaceEmailCustomization({
        ...at, customizationId: en.id,
        instance: { language: 'en', subject: 'Reset your Example password', body: englishBody('<p>Example Inc.</p>'), isDefault: true },
      });
      assert.equal(replaced.id, en.id);
      assert.equal(replaced.subject, 'Reset your Example password');
      assert.ok(replaced.lastUpdated >= en.lastUpdated);
      // The SDK's cache is invalidated by its own PUT (the resource's _links.self.href).
      assert.equal((await api.getEmailCustomization({ ...at, customizationId: en.id })).subject, 'Reset your Example password');

      const preview = await api.getCustomizationPreview({ ...at, customizationId: en.id });
      assert.equal(preview.subject, 'Reset your Example password');
      const previewLink = appLink(preview);
      assert.ok(previewLink, `the preview has the app link: ${preview.body}`);
      const q = new URL(previewLink).searchParams;
      assert.match(q.get('otp') ?? '', /^\d{6,10}$/, 'sample code in the link');
      assert.ok(q.get('state'), 'sample state in the link');
      assert.doesNotMatch(preview.body, /\$\{/, 'every variable is rendered');
      const frPreview = await api.getCustomizationPreview({ ...at, customizationId: fr.id });
      assert.match(frPreview.body, /Bonjour/);

      await assert.rejects(api.getEmailCustomization({ ...at, customizationId: 'no-such-id' }), apiError(404, 'E0000007'));

      // Delete one, then all; the first customization of an empty template becomes the default.
      await api.deleteEmailCustomization({ ...at, customizationId: fr.id });
      assert.deepEqual((await all(await api.listEmailCustomizations(at))).map((c) => c.id), [en.id]);
      await api.deleteAllCustomizations(at);
      assert.deepEqual(await all(await api.listEmailCustomizations(at)), []);
      const first = await api.createEmailCustomization({ ...at, instance: { language: 'es', subject: 'Restablecer', body: englishBody() } });
      assert.equal(first.isDefault, true, 'the first customization is the default');
    });

    test('replaceEmailCustomization with the SDK model read back (read-only properties included)', { timeout: TEST_TIMEOUT }, async (t) => {
      // Read-modify-write with the SDK's own model, as an application naturally does. The SDK's
      // serializer sends every model property back: besides language, subject, body and
      // isDefault also id, created, lastUpdated (as `…Z` without milliseconds) and _links, which
      // Okta's spec marks read-only and Okta ignores on input.
      const stack = await stackWithAdmin(t, backend);
      const api = sdkClient(stack).customizationApi;
      const at = { brandId: BRAND, templateName: TEMPLATE };
      const created = await api.createEmailCustomization({ ...at, instance: { language: 'fr', subject: 'Réinitialisez votre mot de passe', body: frenchBody(), isDefault: true } });
      const model = await api.getEmailCustomization({ ...at, customizationId: created.id });
      model.subject = 'Réinitialisez votre mot de passe Example';
      const replaced = await api.replaceEmailCustomization({ ...at, customizationId: created.id, instance: model });
      assert.equal(replaced.id, created.id);
      assert.equal(replaced.subject, 'Réinitialisez votre mot de passe Example');
      assert.equal(replaced.body, frenchBody());
      assert.equal(replaced.isDefault, true);
    });

    test('sendTestEmail delivers the default customization to LATCHKEY_ADMIN_EMAIL', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackWithAdmin(t, backend);
      const api = sdkClient(stack).customizationApi;
      const at = { brandId: BRAND, templateName: TEMPLATE };
      await api.createEmailCustomization({ ...at, instance: { language: 'en', subject: 'Reset your password (custom)', body: englishBody(), isDefault: true } });
      await api.createEmailCustomization({ ...at, instance: { language: 'fr', subject: 'Réinitialisation (personnalisée)', body: frenchBody() } });

      await api.sendTestEmail(at);
      const [mail] = await stack.mail.waitFor(ADMIN_EMAIL, 1, 10000);
      assert.equal(mail.subject, 'Reset your password (custom)');
      const link = appLink(mail);
      assert.ok(link, 'the test email carries the app link');
      assert.match(new URL(link).searchParams.get('otp') ?? '', /^\d{6,10}$/);

      await api.sendTestEmail({ ...at, language: 'fr' });
      const second = (await stack.mail.waitFor(ADMIN_EMAIL, 2, 10000))[1];
      assert.equal(second.subject, 'Réinitialisation (personnalisée)');
    });

    test('a real recovery email carries the customized app link with the code and the interact state, URL-encoded', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackWithAdmin(t, backend);
      const api = sdkClient(stack).customizationApi;
      await api.createEmailCustomization({
        brandId: BRAND, templateName: TEMPLATE,
        instance: { language: 'en', subject: 'Reset your password', body: englishBody(), isDefault: true },
      });

      const mod = await loadAuthJs('7');
      const { user, clientId, nonce } = await prepare(stack);
      const auth = newClient(mod, stack, clientId);
      t.after(() => { auth.transactionManager.clear(); auth.tokenManager.clear(); });
      // An app state with characters that must be escaped in a query.
      const state = `st&te=1+2/3 ${Date.now()}`;
      const tx = await auth.idx.recoverPassword({ username: user.login, authenticators: ['okta_email'], nonce, state });
      assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
      assert.equal(tx.meta.state, state, 'auth-js interacted with the app state');

      const { mail, code } = await recoveryMail(stack, user.login);
      assert.equal(mail.subject, 'Reset your password');
      assert.ok(code, 'the email shows the code');
      const link = appLink(mail);
      assert.ok(link, `the email has the app link: ${mail.html}`);
      const search = new URL(link).search;
      const params = new URLSearchParams(search);
      assert.equal(params.get('otp'), code, 'the link carries the real code');
      assert.equal(params.get('state'), state, 'the link carries the interact state');
      const rawState = /[?&]state=([^&]*)/.exec(search)[1];
      assert.doesNotMatch(rawState, /[&=+ ]/, `state is percent-encoded: ${rawState}`);
      assert.equal(decodeURIComponent(rawState), state);
      // auth-js's own callback parser reads the link the same way.
      assert.deepEqual(auth.idx.parseEmailVerifyCallback(search), { otp: code, state });

      // The code is the live one: the recovery finishes with it.
      const challenged = await auth.idx.proceed({ verificationCode: code });
      assert.equal(challenged.nextStep?.name, 'reset-authenticator', JSON.stringify(challenged.messages));
      const done = await auth.idx.proceed({ password: strongPassword() });
      assert.equal(done.status, 'SUCCESS', JSON.stringify(done.messages));
      assert.ok(done.tokens?.idToken);
      assert.deepEqual((await settledMessages(stack, ADMIN_EMAIL, 0)).length, 0, 'nothing went to the admin');

      // A user whose locale is French gets the French customization, with the same link.
      await api.createEmailCustomization({
        brandId: BRAND, templateName: TEMPLATE,
        instance: { language: 'fr', subject: 'Réinitialisez votre mot de passe', body: frenchBody() },
      });
      const login = 'amelie@example.com';
      await sdkClient(stack).userApi.createUser({
        activate: true,
        body: { profile: { login, email: login, firstName: 'Amélie', lastName: 'Poulain', locale: 'fr' }, credentials: { password: { value: strongPassword() } } },
      });
      auth.transactionManager.clear();
      const frState = `fr/${Date.now()}&x`;
      const frTx = await auth.idx.recoverPassword({ username: login, authenticators: ['okta_email'], nonce, state: frState });
      assert.equal(frTx.nextStep?.name, 'challenge-authenticator', JSON.stringify(frTx.messages));
      const { mail: frMail, code: frCode } = await recoveryMail(stack, login);
      assert.equal(frMail.subject, 'Réinitialisez votre mot de passe');
      assert.match(frMail.html, /Bonjour Amélie/);
      assert.deepEqual(auth.idx.parseEmailVerifyCallback(new URL(appLink(frMail)).search), { otp: frCode, state: frState });
    });
  });
}
