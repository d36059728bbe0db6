// Passkeys in our widget, in Chromium with a CDP virtual authenticator (CTAP2, internal
// transport, resident keys, user verification): a 2FA sign-in sets up a passkey with
// navigator.credentials.create, and the next sign-in signs in with navigator.credentials.get.
// A recovery whose password rule asks for a second factor then goes email code → the passkey →
// new password. The app page is the WebAuthn origin, so the server's relying party is set to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { extractCode, extractLinks, startStack } from '../testkit/stack.mjs';
import { requireSecondFactorForRecovery, setSignOnFactors } from '../testkit/totp.mjs';
import { check, expectScreen, newContext, newPage, signedIn, signIn, startApp, startRecovery } from './lib.mjs';

async function freePort() {
  const server = net.createServer();
  await new Promise((r) => server.listen(0, 'localhost', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/** A server whose relying party is the app's localhost origin, an app, a user, and a page with a
 * virtual authenticator; a 2FA sign-in on that page sets up a passkey. */
async function withPasskey(t, login, env = {}) {
  const port = await freePort();
  const stack = await startStack({
    env: { LATCHKEY_WEBAUTHN__RP_ID: 'localhost', LATCHKEY_WEBAUTHN__RP_ORIGIN: `http://localhost:${port}`, ...env },
  });
  t.after(() => stack.stop());
  const app = await startApp(stack.origin, { port });
  t.after(() => app.stop());
  const user = await stack.createUser({ login });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const config = { issuer: stack.issuer, clientId, redirectUri: app.callback, scopes: ['openid', 'email', 'profile'] };
  await setSignOnFactors(stack, '2FA');

  const page = await newPage(context);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  await page.goto(app.url(config, 'tokens'));
  await signIn(page, user);
  await page.getByRole('radio', { name: 'Security key or biometric (passkey)' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Set up a passkey');
  return { stack, app, user, config, page, cdp, authenticatorId };
}

test('2FA sign-in: the widget sets up a passkey, then signs in with it', async (t) => {
  const { stack, user, config, page, cdp, authenticatorId, app } = await withPasskey(t, 'pat@example.com');
  await check(page, 'passkeys-01-setup');
  await page.getByRole('button', { name: 'Set up passkey' }).click();
  await signedIn(page);
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1, 'the authenticator holds one passkey');
  const factors = await stack.adminCall('GET', `/api/v1/users/${user.id}/factors`);
  assert.deepEqual(factors.map((f) => [f.factorType, f.status]), [['webauthn', 'ACTIVE']]);

  await page.goto(app.url(config, 'tokens'));
  await signIn(page, user);
  await expectScreen(page, 'Verify with your passkey');
  await check(page, 'passkeys-02-challenge');
  await page.getByRole('button', { name: 'Use passkey' }).click();
  await signedIn(page);
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, 'the passkey signed');
});

test('recovery with a second factor by policy: the email code, then the passkey, then the new password', async (t) => {
  const { stack, user, config, page, app } = await withPasskey(t, 'rosa@example.com', { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '0' });
  await page.getByRole('button', { name: 'Set up passkey' }).click();
  await signedIn(page);
  await requireSecondFactorForRecovery(stack, true);

  await page.goto(app.url(config));
  await startRecovery(page, user.login);
  // The passkey's AuthenticatorEnrolled notice and the recovery email, in either order.
  const mails = await stack.mail.waitFor(user.login, 2, 15000);
  const recovery = mails.find((m) => extractLinks(m).some((l) => /[?&]otp=/.test(l)));
  await page.getByLabel('Verification code', { exact: true }).fill(extractCode(recovery));
  await page.getByRole('button', { name: 'Verify' }).click();
  await expectScreen(page, 'Reset your password');
  await page.getByRole('radio', { name: 'Security key or biometric (passkey)' }).check();
  await page.getByRole('button', { name: 'Submit' }).click();
  await expectScreen(page, 'Verify with your passkey');
  await check(page, 'passkeys-04-recovery-challenge');
  await page.getByRole('button', { name: 'Use passkey' }).click();
  await expectScreen(page, 'Set a new password');
});

test('the account page adds a passkey with the browser, and the next sign-in uses it', async (t) => {
  // The account page runs on the server's own origin: its public URL is on localhost (an IP
  // address cannot be a WebAuthn relying party), and the relying party derives from it.
  const port = await freePort();
  // The application embedding the widget is a second origin of the same relying party.
  const appPort = await freePort();
  const stack = await startStack({ env: {
    LATCHKEY_LISTEN: `127.0.0.1:${port}`, LATCHKEY_PUBLIC_URL: `http://localhost:${port}`,
    LATCHKEY_WEBAUTHN__EXTRA_ORIGINS: `["http://localhost:${appPort}"]`,
  } });
  t.after(() => stack.stop());
  const origin = `http://localhost:${port}`;
  const app = await startApp(origin, { port: appPort });
  t.after(() => app.stop());
  const user = await stack.createUser({ login: 'kim@example.com' });
  const { clientId } = await stack.registerClient([app.callback]);
  const context = await newContext();
  t.after(() => context.close());
  const page = await newPage(context);
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true },
  });

  const authorize = new URL(`${origin}/oauth2/default/v1/authorize`);
  for (const [k, v] of Object.entries({
    client_id: clientId, redirect_uri: app.callback, response_type: 'code', scope: 'openid email', state: 's-passkey',
    nonce: 'n-passkey', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256',
  })) authorize.searchParams.set(k, v);
  await page.goto(authorize.href);
  await signIn(page, user);
  await page.waitForURL((url) => url.toString().startsWith(app.callback), { timeout: 15000 });

  await page.goto(`${origin}/account`);
  await page.getByRole('button', { name: 'Add a passkey' }).click();
  await page.getByRole('heading', { name: 'Add a passkey' }).waitFor();
  await page.getByRole('button', { name: 'Create the passkey' }).click();
  await page.getByText('Passkey added.').waitFor({ timeout: 15000 });
  await check(page, 'passkeys-03-account-added');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.equal(credentials.length, 1);
  const factors = await stack.adminCall('GET', `/api/v1/users/${user.id}/factors`);
  assert.deepEqual(factors.map((f) => [f.factorType, f.status]), [['webauthn', 'ACTIVE']]);

  // A 2FA sign-in on the hosted page (the server's own origin) now asks for that passkey.
  await setSignOnFactors(stack, '2FA');
  authorize.searchParams.set('prompt', 'login');
  await page.goto(authorize.href);
  await signIn(page, user);
  await expectScreen(page, 'Verify with your passkey');
  await page.getByRole('button', { name: 'Use passkey' }).click();
  await page.waitForURL((url) => url.toString().startsWith(app.callback), { timeout: 15000 });
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  assert.ok(after.credentials[0].signCount >= 1, 'the passkey signed');

  // The widget embedded in the application (`webauthn.extra_origins`) uses the same passkey.
  const config = { issuer: `${origin}/oauth2/default`, clientId, redirectUri: app.callback, scopes: ['openid', 'email', 'profile'] };
  await page.goto(app.url(config, 'tokens'));
  await signIn(page, user);
  await expectScreen(page, 'Verify with your passkey');
  await page.getByRole('button', { name: 'Use passkey' }).click();
  await signedIn(page);
});
