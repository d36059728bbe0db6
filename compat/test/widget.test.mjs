// Okta's sign-in widget 7 (default Gen2 bundle from node_modules, no CDN) in headless Chromium,
// on http://localhost:<port>, against Latchkey on http://127.0.0.1:<port> (cross-origin, with
// credentials): sign-in, recovery through "Forgot password?" with the typed code, and the
// recipe's magic link in the same browser and in a fresh one (idx-protocol §7, §12 #1, #2, #4, #6).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { WIDGET_VERSION, launchBrowser, recordRequests, startApp, widgetConfig } from '../lib/browser.mjs';
import { backends, newestRecoveryMail, recoveryMail, stackFor, strongPassword, within } from '../lib/env.mjs';
import { currentStep, enrollTotp, requireSecondFactorForRecovery, setSignOnFactors, setTotpEnroll, totpAt } from '../../testkit/totp.mjs';

const TEST_TIMEOUT = 90_000;
const UI = 15_000; // every wait for the widget is bounded by this

/** A fresh browser context (its own storage: a "different browser") that is always closed. */
async function contextFor(t, browser, stack, app) {
  const context = await browser.newContext({ locale: 'en-US' });
  t.after(() => context.close());
  const toServer = recordRequests(context, stack.origin);
  const foreign = [];
  context.on('request', (r) => {
    const o = new URL(r.url()).origin;
    if (o !== stack.origin && o !== app.origin && !r.url().startsWith('data:')) foreign.push(r.url());
  });
  return { context, toServer, foreign };
}

async function openWidget(page, app, config, method, origin = app.origin) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${origin}/`);
  await page.evaluate(([cfg, how]) => {
    window.signIn = new window.OktaSignIn(cfg);
    window.widgetResult = window.signIn[how]({ el: '#widget' })
      .then((value) => ({ ok: true, value }), (e) => ({ ok: false, error: `${e?.name}: ${e?.message}` }));
  }, [config, method]);
  return errors;
}

/**
 * Types into a widget field. Gen2 inputs copy their value into the form model on a 200 ms
 * debounce (Courage TextBox, Time.DEBOUNCE_DELAY), so a submit in the same instant would send
 * the previous value; wait out the debounce as any person typing does.
 */
async function enter(page, name, value) {
  await page.fill(`#widget input[name="${name}"]`, value, { timeout: UI });
  await page.waitForTimeout(300);
}

/** The promise the app got from showSignIn*, bounded. */
const widgetResult = (page) => within(UI, 'the widget to resolve its promise', page.evaluate(() => window.widgetResult));

const submit = (page) => page.click('#widget input[type="submit"]', { timeout: UI });
const title = (page) => page.locator('#widget .okta-form-title').innerText({ timeout: UI });

/** Identify-recovery → select Email → the email challenge, from the "Forgot password?" link. */
async function forgotPasswordToChallenge(page, login) {
  await page.click('#widget .js-forgot-password', { timeout: UI });
  // The sign-in form also has an `identifier` input: wait for the recovery form itself
  // (the widget restarts the transaction first, §6.1).
  await page.waitForFunction(() => /Reset your password/.test(document.querySelector('#widget .okta-form-title')?.textContent ?? '')
    && document.querySelector('#widget input[name="identifier"]') && !document.querySelector('#widget input[name="credentials.passcode"]'), null, { timeout: UI });
  await enter(page, 'identifier', login);
  await submit(page);
  await page.click('#widget [data-se="okta_email"] .select-factor', { timeout: UI }).catch(async (e) => {
    throw new Error(`${e.message}\nthe widget shows: ${await page.locator('#widget').innerText().catch(() => '?')}`);
  });
  // The Gen2 email view hides the code field behind this link (useEmailMagicLink unset).
  await page.click('#widget .enter-auth-code-instead-link', { timeout: UI });
  await page.waitForSelector('#widget input[name="credentials.passcode"]', { timeout: UI });
}

async function resetPassword(page, password) {
  await page.waitForSelector('#widget input[name="confirmPassword"]', { timeout: UI });
  await enter(page, 'credentials.passcode', password);
  await enter(page, 'confirmPassword', password);
  await submit(page);
}

function idTokenClaims(result) {
  assert.equal(result.ok, true, result.error);
  const tokens = result.value.tokens ?? result.value;
  assert.ok(tokens.idToken?.idToken, 'the widget returned an ID token');
  assert.ok(tokens.accessToken?.accessToken, 'the widget returned an access token');
  return tokens.idToken.claims;
}

for (const backend of backends()) {
  describe(`sign-in widget ${WIDGET_VERSION} on ${backend}`, { timeout: 8 * TEST_TIMEOUT }, () => {
    let browser;
    let app;
    before(async () => { browser = await launchBrowser(); app = await startApp(); });
    after(async () => { await browser?.close(); await app?.stop(); });

    test('sign-in with showSignInToGetTokens (cross-origin, credentials)', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context, toServer, foreign } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await enter(page, 'identifier', user.login);
      await enter(page, 'credentials.passcode', strongPassword());
      await submit(page);
      await page.locator('#widget .o-form-error-container').getByText('Unable to sign in') // the widget's text for errors.E0000004.waitFor({ timeout: UI });
      await enter(page, 'credentials.passcode', user.password);
      await submit(page);
      const claims = idTokenClaims(await widgetResult(page));
      assert.equal(claims.iss, stack.issuer);
      assert.equal(claims.aud, clientId);
      assert.equal(claims.email, user.login);
      assert.deepEqual(errors, []);
      assert.deepEqual(foreign, [], 'nothing is loaded from anywhere but the app and the server');
      assert.ok(toServer.includes('POST /oauth2/default/v1/token'), 'the widget exchanged the code in the browser');
    });

    test('2FA sign-in: after the password the widget asks for the Google Authenticator code, to tokens', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const secret = await enrollTotp(stack, user.id);
      await setSignOnFactors(stack, '2FA');
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await enter(page, 'identifier', user.login);
      await enter(page, 'credentials.passcode', user.password);
      await submit(page);
      // The widget's own view for a google_otp challenge: a code field, no resend.
      await page.waitForFunction(() => /Google Authenticator/.test(document.querySelector('#widget .okta-form-title')?.textContent ?? ''), null, { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await page.locator('#widget').innerText().catch(() => '?')}`); });
      await enter(page, 'credentials.passcode', totpAt(secret, currentStep()));
      await submit(page);
      const claims = idTokenClaims(await widgetResult(page));
      assert.equal(claims.email, user.login);
      assert.deepEqual(errors, []);
    });

    test('2FA sign-in without a factor: the widget sets up Google Authenticator from the QR view, to tokens', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      await setSignOnFactors(stack, '2FA');
      await setTotpEnroll(stack, 'OPTIONAL');
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      const shows = async () => page.locator('#widget').innerText().catch(() => '?');
      await enter(page, 'identifier', user.login);
      await enter(page, 'credentials.passcode', user.password);
      await submit(page);
      await page.click('#widget [data-se="google_otp"] .select-factor', { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      // The QR view shows our code image; its "Can't scan?" path shows the shared secret.
      const qr = page.locator('#widget img.qrcode');
      await qr.waitFor({ timeout: UI }).catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      assert.match(await qr.getAttribute('src'), /^data:image\/svg\+xml;base64,/);
      await page.click('#widget .cannot-scan-link', { timeout: UI });
      const secret = (await page.locator('#widget .shared-secret').innerText({ timeout: UI })).replace(/\s/g, '');
      assert.match(secret, /^[A-Z2-7]{32}$/, 'the shared secret, base32');
      const pending = await stack.adminCall('GET', `/api/v1/users/${user.id}/factors`);
      assert.equal(pending[0]?.status, 'PENDING_ACTIVATION', 'a pending factor holds the secret until the first value');
      await page.click('#widget .google-authenticator-next', { timeout: UI });
      await enter(page, 'credentials.passcode', totpAt(secret, currentStep()));
      await page.click('#widget .google-authenticator-verify', { timeout: UI });
      const claims = idTokenClaims(await widgetResult(page));
      assert.equal(claims.email, user.login);
      const active = await stack.adminCall('GET', `/api/v1/users/${user.id}/factors`);
      assert.equal(active[0]?.status, 'ACTIVE');
      assert.deepEqual(errors, []);
    });

    test('2FA sign-in without a factor: the widget registers a passkey (virtual authenticator), then signs in with it', { timeout: TEST_TIMEOUT }, async (t) => {
      // The widget runs on the app's origin, so that is the relying party's origin.
      const stack = await stackFor(t, backend, { LATCHKEY_WEBAUTHN__RP_ID: 'localhost', LATCHKEY_WEBAUTHN__RP_ORIGIN: app.origin });
      const user = await stack.createUser();
      await setSignOnFactors(stack, '2FA');
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('WebAuthn.enable');
      const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
      });
      const shows = async () => page.locator('#widget').innerText().catch(() => '?');
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await enter(page, 'identifier', user.login);
      await enter(page, 'credentials.passcode', user.password);
      await submit(page);
      await page.click('#widget [data-se="webauthn"] .select-factor', { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      await page.click('#widget .webauthn-setup', { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      const result = await widgetResult(page).catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      const claims = idTokenClaims(result);
      assert.equal(claims.email, user.login);
      const factors = await stack.adminCall('GET', `/api/v1/users/${user.id}/factors`);
      assert.deepEqual(factors.map((f) => [f.factorType, f.status]), [['webauthn', 'ACTIVE']]);
      const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.equal(credentials.length, 1);

      // The next sign-in: the widget's own WebAuthn challenge view asks the authenticator at once.
      const again = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await enter(page, 'identifier', user.login);
      await enter(page, 'credentials.passcode', user.password);
      await submit(page);
      const next = idTokenClaims(await widgetResult(page));
      assert.equal(next.email, user.login);
      const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
      assert.ok(after.credentials[0].signCount >= 1, 'the passkey signed');
      assert.deepEqual([...errors, ...again], []);
    });

    test('recovery with a second factor by policy: the email code, then Google Authenticator, then the new password', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const secret = await enrollTotp(stack, user.id);
      await requireSecondFactorForRecovery(stack, true);
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      const shows = async () => page.locator('#widget').innerText().catch(() => '?');
      await forgotPasswordToChallenge(page, user.login);
      // Two messages: the factor's AuthenticatorEnrolled notice and the recovery email.
      const { code } = await newestRecoveryMail(stack, user.login, 2);
      await enter(page, 'credentials.passcode', code);
      await submit(page);
      await page.click('#widget [data-se="google_otp"] .select-factor', { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      await page.waitForFunction(() => /Google Authenticator/.test(document.querySelector('#widget .okta-form-title')?.textContent ?? ''), null, { timeout: UI })
        .catch(async (e) => { throw new Error(`${e.message}\nthe widget shows: ${await shows()}`); });
      await enter(page, 'credentials.passcode', totpAt(secret, currentStep()));
      await submit(page);
      await resetPassword(page, strongPassword());
      const claims = idTokenClaims(await widgetResult(page));
      assert.equal(claims.email, user.login);
      assert.deepEqual(errors, []);
    });

    test('recovery through "Forgot password?" with the typed code, to tokens', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context, toServer } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await forgotPasswordToChallenge(page, user.login);
      const { code } = await recoveryMail(stack, user.login);
      await enter(page, 'credentials.passcode', code === '000000' ? '111111' : '000000');
      await submit(page);
      await page.locator('#widget').getByText('Invalid code. Try again.').waitFor({ timeout: UI });
      await enter(page, 'credentials.passcode', code);
      await submit(page);
      await page.waitForSelector('#widget input[name="confirmPassword"]', { timeout: UI });
      assert.match(await title(page), /Reset your password/);
      // The policy text comes from settings.complexity.
      await page.locator('#widget').getByText('At least 15 characters').waitFor({ timeout: UI });
      await enter(page, 'credentials.passcode', 'passwordpassword');
      await enter(page, 'confirmPassword', 'passwordpassword');
      await submit(page);
      await page.locator('#widget').getByText(/Password requirements were not met/).first().waitFor({ timeout: UI });
      const password = strongPassword();
      await resetPassword(page, password);
      const claims = idTokenClaims(await widgetResult(page));
      assert.equal(claims.email, user.login);
      assert.deepEqual(errors, []);
      assert.deepEqual(toServer.filter((r) => r.startsWith('POST /idp/idx/') || r.includes('/v1/')), [
        'POST /oauth2/default/v1/interact', 'POST /idp/idx/introspect',
        // "Forgot password?" restarts the transaction with flow resetPassword (§6.1).
        'POST /oauth2/default/v1/interact', 'POST /idp/idx/introspect', 'POST /idp/idx/recover',
        'POST /idp/idx/identify', 'POST /idp/idx/challenge',
        'POST /idp/idx/challenge/answer', 'POST /idp/idx/challenge/answer',
        'POST /idp/idx/challenge/answer', 'POST /idp/idx/challenge/answer',
        'POST /oauth2/default/v1/token', 'GET /oauth2/default/v1/keys',
      ]);
    });

    test('magic link, same browser: the widget with otp+state continues to the reset form and redirects with interaction_code', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context, toServer } = await contextFor(t, browser, stack, app);
      const original = await context.newPage();
      await openWidget(original, app, widgetConfig(stack, app, clientId), 'showSignInAndRedirect');
      await forgotPasswordToChallenge(original, user.login);
      const { code, link } = await recoveryMail(stack, user.login);
      const { otp, state } = Object.fromEntries(new URL(link).searchParams);
      assert.equal(otp, code);

      // The link opened in a new tab of the same browser: the app's callback renders the widget
      // with otp and state (the recipe) and calls showSignInAndRedirect().
      const mark = toServer.length;
      const tab = await context.newPage();
      const errors = await openWidget(tab, app, widgetConfig(stack, app, clientId, { otp, state }), 'showSignInAndRedirect');
      await resetPassword(tab, strongPassword());
      await tab.waitForURL((u) => u.pathname === '/login/callback', { timeout: UI });
      const back = new URL(tab.url());
      assert.equal(back.searchParams.get('state'), state);
      const interactionCode = back.searchParams.get('interaction_code');
      assert.ok(interactionCode, 'redirected with interaction_code');
      assert.deepEqual(toServer.slice(mark), [
        'POST /idp/idx/introspect', 'POST /idp/idx/challenge/answer', 'POST /idp/idx/challenge/answer',
      ], 'the new tab only introspects the saved interaction and answers');
      assert.deepEqual(errors, []);

      // The app at the redirect URI finishes with auth-js's own helper (PKCE verifier from storage).
      const result = await within(UI, 'handleInteractionCodeRedirect', tab.evaluate(async (cfg) => {
        try {
          const s = new window.OktaSignIn(cfg);
          await s.authClient.idx.handleInteractionCodeRedirect(window.location.href);
          return { ok: true, value: await s.authClient.tokenManager.getTokens() };
        } catch (e) {
          return { ok: false, error: `${e?.name}: ${e?.message}` };
        }
      }, widgetConfig(stack, app, clientId)));
      const claims = idTokenClaims(result);
      assert.equal(claims.email, user.login);
      assert.equal(claims.aud, clientId);
    });

    test('magic link, fresh browser: "enter the OTP in the original tab", no server call; the original tab completes', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const user = await stack.createUser();
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const first = await contextFor(t, browser, stack, app);
      const original = await first.context.newPage();
      await openWidget(original, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens');
      await forgotPasswordToChallenge(original, user.login);
      const { code, link } = await recoveryMail(stack, user.login);
      const { otp, state } = Object.fromEntries(new URL(link).searchParams);

      const other = await contextFor(t, browser, stack, app);
      const page = await other.context.newPage();
      const errors = await openWidget(page, app, widgetConfig(stack, app, clientId, { otp, state }), 'showSignInAndRedirect');
      const widget = page.locator('#widget');
      // The widget's own synthetic terminal (idx.enter.otp.in.original.tab); 7.49's wording.
      await widget.getByText(/Enter the OTP in your original (browser or device|authentication location)/).waitFor({ timeout: UI });
      await widget.getByText(otp, { exact: false }).first().waitFor({ timeout: UI });
      assert.deepEqual(other.toServer, [], 'the fresh browser made no call to the server');
      assert.deepEqual(errors, []);

      // Typing the code in the original tab completes the recovery.
      await enter(original, 'credentials.passcode', code);
      await submit(original);
      await resetPassword(original, strongPassword());
      assert.equal(idTokenClaims(await widgetResult(original)).email, user.login);
    });

    test('CORS: the same page on an origin no client registered cannot talk to the server', { timeout: TEST_TIMEOUT }, async (t) => {
      const stack = await stackFor(t, backend);
      const { clientId } = await stack.registerClient([app.redirectUri]);
      const { context, toServer } = await contextFor(t, browser, stack, app);
      const page = await context.newPage();
      const corsErrors = [];
      page.on('console', (m) => { if (/CORS|Access-Control-Allow-Origin/i.test(m.text())) corsErrors.push(m.text()); });
      await openWidget(page, app, widgetConfig(stack, app, clientId), 'showSignInToGetTokens', app.otherOrigin);
      await page.locator('#widget').getByText(/error|unable|wrong/i).first().waitFor({ timeout: UI });
      assert.equal(await page.locator('#widget input[name="identifier"]').count(), 0, 'no sign-in form');
      assert.ok(corsErrors.length > 0, 'the browser blocked the response for CORS');
      assert.deepEqual(toServer.filter((r) => r.startsWith('POST')), [], 'no transaction was started');
    });
  });
}
