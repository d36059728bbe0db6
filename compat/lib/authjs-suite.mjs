// The auth-js scenarios of idx-protocol §12, defined once and run by authjs-7.test.mjs and
// authjs-8.test.mjs against the real server on every backend. auth-js 7 runs in its default
// (legacy, auto-chaining) mode; auth-js 8 in its default step mode, plus legacy mode where the
// difference matters (§6.7, §7.5).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { REDIRECT_URI, assertTokensValid, loadAuthJs, messageKeys, newClient, prepare } from './authjs.mjs';
import { backends, newestRecoveryMail, recoveryMail, settledMessages, sleep, stackFor, strongPassword } from './env.mjs';
import { currentStep, enrollTotp, requireSecondFactorForRecovery, setSignOnFactors, setTotpEnroll, totpAt } from '../../testkit/totp.mjs';
import { softAuthenticator } from './webauthn.mjs';

const TEST_TIMEOUT = 60_000;

/** One way of driving recovery: auth-js 7/8-legacy auto-chaining, or auth-js 8 step mode. */
function driver(mode) {
  const step = mode === 'step';
  return {
    mode,
    async signIn(auth, { username, password, nonce, ...extra }) {
      if (!step) return auth.idx.authenticate({ username, password, nonce, ...extra });
      // Step mode: start() only introspects; the sign-in form is among the available steps.
      // auth-js remembers the last flow (e.g. recoverPassword) in its storage, so name it.
      const first = await auth.idx.start({ nonce, flow: 'default' });
      assert.ok(atSignInForm(first), 'identify is available');
      return auth.idx.proceed({ step: 'identify', username, password, ...extra });
    },
    /** Up to the email challenge (the code is mailed by then). */
    async startRecovery(auth, { username, nonce }) {
      if (!step) return auth.idx.recoverPassword({ username, authenticators: ['okta_email'], nonce });
      // Step mode: the first call runs only the `currentAuthenticator-recover` action, which
      // must exist on the sign-in form (§6.7 rule 4).
      let tx = await auth.idx.recoverPassword({ nonce });
      assert.equal(tx.nextStep?.name, 'identify-recovery', 'v8 recoverPassword() lands on identify-recovery');
      tx = await auth.idx.proceed({ step: 'identify-recovery', username });
      assert.equal(tx.nextStep?.name, 'select-authenticator-authenticate');
      assert.deepEqual(optionKeys(tx.nextStep), ['okta_email'], 'only Email is offered for recovery');
      return auth.idx.proceed({ step: 'select-authenticator-authenticate', authenticator: 'okta_email' });
    },
    chooseFactor: (auth, authenticator) =>
      auth.idx.proceed(step ? { step: 'select-authenticator-authenticate', authenticator } : { authenticator }),
    answer: (auth, verificationCode) => auth.idx.proceed(step ? { step: 'challenge-authenticator', verificationCode } : { verificationCode }),
    setPassword: (auth, password) => auth.idx.proceed(step ? { step: 'reset-authenticator', password } : { password }),
    resend: (auth) => auth.idx.proceed({ resend: true }),
  };
}

// auth-js 7/legacy describes a step with its own remediator (`authenticator`, `options`);
// auth-js 8 step mode with the generic one (`relatesTo.value`, `inputs[].options`).
const authenticatorOf = (step) => step?.authenticator ?? step?.relatesTo?.value;
const optionKeys = (step) => (step.options ?? step.inputs.find((i) => i.name === 'authenticator').options)
  .map((o) => (typeof o.value === 'string' ? o.value : o.relatesTo?.key));

const atSignInForm = (tx) => tx.nextStep?.name === 'identify' || (tx.availableSteps ?? []).some((s) => s.name === 'identify');

const logSince = (stack, before) => {
  const after = stack.log();
  const tail = before.slice(-400);
  const at = tail ? after.lastIndexOf(tail) : -1;
  return at === -1 ? after : after.slice(at + tail.length);
};
const idxCalls = (log) => [...log.matchAll(/path[^ ]*?=[^ ]*?(\/(?:idp\/idx|oauth2)[^\s\x1b]*)/g)].map((m) => m[1]);

function otherDevice(input) {
  const script = fileURLToPath(new URL('./other-device.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(input)], { timeout: 20000, cwd: fileURLToPath(new URL('..', import.meta.url)) }, (err, stdout, stderr) => {
      if (err) reject(new Error(`other-device process failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split('\n').pop()));
    });
  });
}

export function defineAuthJsSuite(major) {
  for (const backend of backends()) {
    describe(`auth-js ${major} on ${backend}`, { timeout: 10 * TEST_TIMEOUT }, () => {
      let mod;
      const d = driver(major === '7' ? 'legacy' : 'step');
      const clients = [];
      const client = (stack, clientId, options) => {
        const c = newClient(mod, stack, clientId, options);
        clients.push(c);
        return c;
      };
      test.before(async () => { mod = await loadAuthJs(major); });
      // auth-js keeps transactions in one process-wide memory store: leave it empty for the next test.
      test.afterEach(() => { for (const c of clients.splice(0)) { c.transactionManager.clear(); c.tokenManager.clear(); } });

      test(`sign-in with idx.authenticate (${d.mode} mode); tokens verify`, { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        const wrong = await d.signIn(auth, { username: user.login, password: strongPassword(), nonce });
        assert.equal(wrong.status, 'PENDING');
        assert.deepEqual(messageKeys(wrong), ['errors.E0000004'], 'wrong password: "Authentication failed"');
        auth.transactionManager.clear();
        const tx = await d.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
      });

      test('token misuse: wrong verifier, wrong redirect_uri, reused interaction code → invalid_grant (OAuthError)', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        // The app exchanges the code itself (exchangeCodeForTokens:false), as a server-side app does.
        const codeFromSignIn = async () => {
          auth.transactionManager.clear();
          const tx = await d.signIn(auth, { username: user.login, password: user.password, nonce, exchangeCodeForTokens: false });
          assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
          assert.ok(tx.interactionCode);
          const { meta } = tx; // the transaction's saved PKCE verifier and redirect URI
          return { interactionCode: tx.interactionCode, codeVerifier: meta.codeVerifier, redirectUri: meta.redirectUri, clientId };
        };
        const invalidGrant = (pattern) => (e) => {
          assert.equal(e.name, 'OAuthError');
          assert.equal(e.errorCode, 'invalid_grant');
          assert.match(e.errorSummary, pattern);
          return true;
        };
        const wrongVerifier = await codeFromSignIn();
        await assert.rejects(auth.token.exchangeCodeForTokens({ ...wrongVerifier, codeVerifier: 'f'.repeat(43) }), invalidGrant(/PKCE/i));
        const wrongRedirect = await codeFromSignIn();
        await assert.rejects(auth.token.exchangeCodeForTokens({ ...wrongRedirect, redirectUri: 'http://localhost:8080/elsewhere' }), invalidGrant(/redirect_uri/i));
        const good = await codeFromSignIn();
        const { tokens } = await auth.token.exchangeCodeForTokens(good);
        await assertTokensValid(auth, tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
        await assert.rejects(auth.token.exchangeCodeForTokens(good), invalidGrant(/invalid|used|expired/i));
      });

      const recoveryToTokens = async (t, dd, options = {}) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId, options);
        let tx = await dd.startRecovery(auth, { username: user.login, nonce });
        assert.equal(tx.status, 'PENDING');
        assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
        assert.equal(authenticatorOf(tx.nextStep)?.key, 'okta_email');
        const { code } = await recoveryMail(stack, user.login);
        assert.match(code, /^\d{6}$/);
        tx = await dd.answer(auth, code);
        assert.equal(tx.nextStep?.name, 'reset-authenticator', JSON.stringify(tx.messages));
        assert.equal(authenticatorOf(tx.nextStep)?.key, 'okta_password');
        const password = strongPassword();
        tx = await dd.setPassword(auth, password);
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
        // The new password signs in, the old one no longer does.
        const old = await dd.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.deepEqual(messageKeys(old), ['errors.E0000004']);
        auth.transactionManager.clear();
        const fresh = await dd.signIn(auth, { username: user.login, password, nonce });
        assert.equal(fresh.status, 'SUCCESS');
        // PasswordChanged follows the reset.
        const mails = await stack.mail.waitFor(user.login, 2, 10000);
        assert.equal(mails.length, 2);
      };

      test(`recovery: recoverPassword + proceed with the typed code to tokens (${d.mode} mode)`, { timeout: TEST_TIMEOUT }, (t) => recoveryToTokens(t, d));
      if (major === '8') {
        test('recovery: recoverPassword auto-chains with enableLegacyMode', { timeout: TEST_TIMEOUT }, (t) => recoveryToTokens(t, driver('legacy'), { idx: { enableLegacyMode: true } }));
      }

      test('magic link, same client: isEmailVerifyCallback / parseEmailVerifyCallback / handleEmailVerifyCallback', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        const tx = await d.startRecovery(auth, { username: user.login, nonce });
        assert.equal(tx.nextStep?.name, 'challenge-authenticator');
        const meta = auth.transactionManager.load();
        const { code, search } = await recoveryMail(stack, user.login);
        assert.ok(search, 'the email carries a link with otp and state');
        assert.equal(auth.idx.isEmailVerifyCallback(search), true);
        const parsed = auth.idx.parseEmailVerifyCallback(search);
        assert.deepEqual(parsed, { otp: code, state: meta.state }, 'link otp = typed code, link state = interact state');
        assert.equal(auth.idx.canProceed({ state: parsed.state }), true);
        let next;
        if (major === '7') {
          next = await auth.idx.handleEmailVerifyCallback(search);
        } else {
          // auth-js 8 step mode: handleEmailVerifyCallback calls proceed({state, otp}) without a
          // step and throws before any request (§7.5) — client behaviour, documented in NOTES.md.
          await assert.rejects(auth.idx.handleEmailVerifyCallback(search), /Unable to proceed with provided actions|No `step` or `action` provided/);
          next = await auth.idx.proceed({ ...parsed, step: 'challenge-authenticator' });
        }
        assert.equal(next.nextStep?.name, 'reset-authenticator', JSON.stringify(next.messages));
        const done = await d.setPassword(auth, strongPassword());
        assert.equal(done.status, 'SUCCESS', JSON.stringify(done.messages));
        await assertTokensValid(auth, done.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
      });

      if (major === '8') {
        test('magic link, same client in legacy mode: handleEmailVerifyCallback proceeds', { timeout: TEST_TIMEOUT }, async (t) => {
          const stack = await stackFor(t, backend);
          const { user, clientId, nonce } = await prepare(stack);
          const auth = client(stack, clientId, { idx: { enableLegacyMode: true } });
          const tx = await driver('legacy').startRecovery(auth, { username: user.login, nonce });
          assert.equal(tx.nextStep?.name, 'challenge-authenticator');
          const { search } = await recoveryMail(stack, user.login);
          const next = await auth.idx.handleEmailVerifyCallback(search);
          assert.equal(next.nextStep?.name, 'reset-authenticator', JSON.stringify(next.messages));
          const done = await auth.idx.proceed({ password: strongPassword() });
          assert.equal(done.status, 'SUCCESS');
          await assertTokensValid(auth, done.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
        });
      }

      test('magic link, other device: EmailVerifyCallbackError with the OTP and no server call; the original continues', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code, search } = await recoveryMail(stack, user.login);
        const before = stack.log();
        const out = await otherDevice({ major, issuer: stack.issuer, clientId, redirectUri: REDIRECT_URI, search });
        assert.equal(out.isCallback, true);
        assert.equal(out.canProceed, false);
        assert.equal(out.error?.name, 'EmailVerifyCallbackError', JSON.stringify(out));
        assert.equal(out.error.isEmailVerifyCallbackError, true);
        assert.equal(out.error.otp, code);
        assert.equal(out.error.state, auth.transactionManager.load().state);
        assert.match(out.error.message, new RegExp(`originating client: ${code}`));
        await sleep(200);
        assert.deepEqual(idxCalls(logSince(stack, before)), [], 'the other device made no server call');
        // The code, typed in the original client, still works.
        const next = await d.answer(auth, code);
        assert.equal(next.nextStep?.name, 'reset-authenticator', JSON.stringify(next.messages));
      });

      test(`recovery with a second factor by policy: code, then google_otp, then the new password (${d.mode} mode)`, { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const secret = await enrollTotp(stack, user.id);
        await requireSecondFactorForRecovery(stack, true);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        // Two messages: the factor's AuthenticatorEnrolled notice and the recovery email.
        const { code } = await newestRecoveryMail(stack, user.login, 2);
        let tx = await d.answer(auth, code);
        assert.equal(tx.nextStep?.name, 'select-authenticator-authenticate', JSON.stringify(tx.messages));
        assert.deepEqual(optionKeys(tx.nextStep), ['google_otp'], 'the enrolled second factor is offered, not the email again');
        tx = await d.chooseFactor(auth, 'google_otp');
        assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
        assert.equal(authenticatorOf(tx.nextStep)?.key, 'google_otp');
        const value = totpAt(secret, currentStep());
        const wrong = await d.answer(auth, value === '000000' ? '111111' : '000000');
        assert.deepEqual(messageKeys(wrong), ['api.authn.error.PASSCODE_INVALID']);
        tx = await d.answer(auth, value);
        assert.equal(tx.nextStep?.name, 'reset-authenticator', JSON.stringify(tx.messages));
        tx = await d.setPassword(auth, strongPassword());
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
      });

      test(`sign-in with 2FA: a TOTP app is set up on first sign-in, then asked for (${d.mode} mode)`, { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        await setSignOnFactors(stack, '2FA');
        await setTotpEnroll(stack, 'OPTIONAL');
        const auth = client(stack, clientId);
        let tx = await d.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.equal(tx.nextStep?.name, 'select-authenticator-enroll', JSON.stringify(tx.messages));
        assert.deepEqual(optionKeys(tx.nextStep), ['google_otp']);
        tx = await auth.idx.proceed(d.mode === 'step' ? { step: 'select-authenticator-enroll', authenticator: 'google_otp' } : { authenticator: 'google_otp' });
        assert.equal(tx.nextStep?.name, 'enroll-authenticator', JSON.stringify(tx.messages));
        const setup = authenticatorOf(tx.nextStep);
        assert.equal(setup?.key, 'google_otp');
        const secret = setup.contextualData?.sharedSecret;
        assert.match(secret ?? '', /^[A-Z2-7]+$/, 'the shared secret, base32');
        assert.match(setup.contextualData?.qrcode?.href ?? '', /^data:image\/svg\+xml;base64,/);
        tx = await auth.idx.proceed(d.mode === 'step' ? { step: 'enroll-authenticator', verificationCode: totpAt(secret, currentStep()) } : { verificationCode: totpAt(secret, currentStep()) });
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
        // The next sign-in asks for the app; the next step's value is fresh (one step of skew).
        auth.transactionManager.clear();
        tx = await d.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
        assert.equal(authenticatorOf(tx.nextStep)?.key, 'google_otp');
        tx = await d.answer(auth, totpAt(secret, currentStep() + 1));
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
      });

      test(`sign-in with 2FA: a passkey is registered on first sign-in, then asked for (${d.mode} mode)`, { timeout: TEST_TIMEOUT }, async (t) => {
        const relyingParty = { rpId: 'localhost', origin: 'http://localhost:8443' };
        const stack = await stackFor(t, backend, { LATCHKEY_WEBAUTHN__RP_ID: relyingParty.rpId, LATCHKEY_WEBAUTHN__RP_ORIGIN: relyingParty.origin });
        const { user, clientId, nonce } = await prepare(stack);
        await setSignOnFactors(stack, '2FA');
        const auth = client(stack, clientId);
        let tx = await d.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.equal(tx.nextStep?.name, 'select-authenticator-enroll', JSON.stringify(tx.messages));
        assert.deepEqual(optionKeys(tx.nextStep), ['google_otp', 'webauthn']);
        tx = await auth.idx.proceed(d.mode === 'step' ? { step: 'select-authenticator-enroll', authenticator: 'webauthn' } : { authenticator: 'webauthn' });
        assert.equal(tx.nextStep?.name, 'enroll-authenticator', JSON.stringify(tx.messages));
        const setup = authenticatorOf(tx.nextStep);
        assert.equal(setup?.key, 'webauthn');
        const key = softAuthenticator(relyingParty);
        const created = key.create(setup.contextualData?.activationData ?? {});
        tx = await auth.idx.proceed(d.mode === 'step' ? { step: 'enroll-authenticator', ...created } : created);
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
        auth.transactionManager.clear();
        tx = await d.signIn(auth, { username: user.login, password: user.password, nonce });
        assert.equal(tx.nextStep?.name, 'challenge-authenticator', JSON.stringify(tx.messages));
        const challenge = authenticatorOf(tx.nextStep);
        assert.equal(challenge?.key, 'webauthn');
        const signed = key.get(challenge.contextualData?.challengeData ?? {});
        tx = await auth.idx.proceed(d.mode === 'step' ? { step: 'challenge-authenticator', ...signed } : signed);
        assert.equal(tx.status, 'SUCCESS', JSON.stringify(tx.messages));
        await assertTokensValid(auth, tx.tokens, { clientId, nonce, issuer: stack.issuer, login: user.login });
      });

      test('wrong code: PASSCODE_INVALID, still on the challenge; the right code then works', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        const wrong = code === '000000' ? '111111' : '000000';
        const tx = await d.answer(auth, wrong);
        assert.equal(tx.status, 'PENDING');
        assert.deepEqual(messageKeys(tx), ['api.authn.error.PASSCODE_INVALID']);
        assert.equal(tx.nextStep?.name, 'challenge-authenticator');
        const ok = await d.answer(auth, code);
        assert.equal(ok.nextStep?.name, 'reset-authenticator', JSON.stringify(ok.messages));
      });

      test('expired code: refused as invalid; resend mails a code that works', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend, { LATCHKEY_OTP__LIFETIME_SECS: '2' });
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        await sleep(2600);
        const late = await d.answer(auth, code);
        assert.deepEqual(messageKeys(late), ['api.authn.error.PASSCODE_INVALID']);
        assert.equal(late.nextStep?.name, 'challenge-authenticator');
        const resent = await d.resend(auth);
        assert.equal(resent.nextStep?.name, 'challenge-authenticator', JSON.stringify(resent.messages));
        const { code: second } = await recoveryMail(stack, user.login, 2);
        const ok = await d.answer(auth, second);
        assert.equal(ok.nextStep?.name, 'reset-authenticator', JSON.stringify(ok.messages));
      });

      test('resend: proceed({resend:true}) mails a new code that supersedes the old one', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        const started = await d.startRecovery(auth, { username: user.login, nonce });
        assert.ok(started.nextStep.canResend, 'the challenge offers resend');
        const first = await recoveryMail(stack, user.login, 1);
        const resent = await d.resend(auth);
        assert.equal(resent.status, 'PENDING');
        assert.equal(resent.nextStep?.name, 'challenge-authenticator', JSON.stringify(resent.messages));
        const second = await recoveryMail(stack, user.login, 2);
        assert.equal(new URL(second.link).searchParams.get('state'), new URL(first.link).searchParams.get('state'), 'the link keeps the interact state');
        if (second.code !== first.code) {
          const old = await d.answer(auth, first.code);
          assert.deepEqual(messageKeys(old), ['api.authn.error.PASSCODE_INVALID'], 'the superseded code is refused');
        }
        const ok = await d.answer(auth, second.code);
        assert.equal(ok.nextStep?.name, 'reset-authenticator', JSON.stringify(ok.messages));
      });

      test('mail limit: a resend inside the 30 s gap is answered like any resend, sends nothing, and the live code still works', { timeout: TEST_TIMEOUT }, async (t) => {
        // Latchkey answers a throttled resend exactly like a granted one (the same body for
        // every identifier, shared/README "Enumeration"), so the client sees no error.
        const stack = await stackFor(t, backend, { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '30' });
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        const again = await d.resend(auth);
        assert.equal(again.status, 'PENDING');
        assert.deepEqual(messageKeys(again), []);
        assert.equal(again.nextStep?.name, 'challenge-authenticator', 'still on the challenge');
        assert.equal((await settledMessages(stack, user.login)).length, 1, 'no second email');
        const ok = await d.answer(auth, code);
        assert.equal(ok.nextStep?.name, 'reset-authenticator', JSON.stringify(ok.messages));
      });

      test('cancel: idx.cancel() reports CANCELED and clears the transaction', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        const tx = await d.startRecovery(auth, { username: user.login, nonce });
        const state = auth.transactionManager.load().state;
        assert.equal(tx.nextStep?.name, 'challenge-authenticator');
        const canceled = await auth.idx.cancel();
        assert.equal(canceled.status, 'CANCELED');
        assert.equal(auth.transactionManager.exists(), false);
        assert.equal(auth.idx.canProceed({ state }), false);
        // A new start is a new transaction at the sign-in form.
        const again = await auth.idx.start({ nonce, flow: 'default' });
        assert.ok(atSignInForm(again), 'back at the sign-in form');
        assert.notEqual(auth.transactionManager.load().state, state);
      });

      test('unknown user: the same steps as a real user, no email, every code refused', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        const real = await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        auth.transactionManager.clear();
        const ghost = 'nobody@example.com';
        const unknown = await d.startRecovery(auth, { username: ghost, nonce });
        assert.equal(unknown.status, real.status);
        const masked = (step) => JSON.parse(JSON.stringify(step).replace(/"stateHandle","required":true,"value":"[^"]*"/g, '"stateHandle","required":true,"value":"…"'));
        assert.deepEqual(masked(unknown.nextStep), masked(real.nextStep), 'the challenge step is indistinguishable');
        assert.deepEqual(unknown.messages, real.messages);
        assert.deepEqual(await settledMessages(stack, ghost), [], 'no email for an unknown identifier');
        const refused = await d.answer(auth, code);
        assert.deepEqual(messageKeys(refused), ['api.authn.error.PASSCODE_INVALID']);
        assert.equal(refused.nextStep?.name, 'challenge-authenticator');
      });

      test('password policy violation: passwordRequirementsNotMet, form kept; a strong password then succeeds', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend);
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        const reset = await d.answer(auth, code);
        assert.equal(reset.nextStep?.name, 'reset-authenticator');
        const settings = authenticatorOf(reset.nextStep)?.settings;
        assert.equal(settings?.complexity?.minLength, 15, 'the policy reaches the client in settings.complexity');
        for (const weak of ['short1!', 'passwordpassword', user.login]) {
          const tx = await d.setPassword(auth, weak);
          assert.equal(tx.status, 'PENDING', `weak password ${weak} refused`);
          assert.deepEqual(messageKeys(tx), ['password.passwordRequirementsNotMet']);
          assert.equal(tx.nextStep?.name, 'reset-authenticator');
        }
        const ok = await d.setPassword(auth, strongPassword());
        assert.equal(ok.status, 'SUCCESS', JSON.stringify(ok.messages));
      });

      test('expired transaction: idx.session.expired', { timeout: TEST_TIMEOUT }, async (t) => {
        const stack = await stackFor(t, backend, { LATCHKEY_RECOVERY__TRANSACTION_LIFETIME_SECS: '3' });
        const { user, clientId, nonce } = await prepare(stack);
        const auth = client(stack, clientId);
        await d.startRecovery(auth, { username: user.login, nonce });
        const { code } = await recoveryMail(stack, user.login);
        await sleep(3500);
        let tx;
        try {
          tx = await d.answer(auth, code);
        } catch (e) {
          assert.fail(`auth-js threw instead of reporting the expiry: ${e.name}: ${e.message} ${JSON.stringify(e.xhr?.responseJSON ?? e.errorCauses ?? '')}`);
        }
        assert.ok(messageKeys(tx).includes('idx.session.expired'), JSON.stringify(tx.messages));
        assert.notEqual(tx.status, 'SUCCESS');
      });
    });
  }
}
