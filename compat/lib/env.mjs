// What every compat test file shares: which storage backends to run on, bounded waits, and a
// per-test stack that is always stopped.
import assert from 'node:assert/strict';

import { extractCode, extractLinks, startStackOn, strongPassword } from '../../testkit/stack.mjs';

export { strongPassword };

/** Backends to run every scenario on: LATCHKEY_COMPAT_BACKENDS=sqlite,postgres (the default). */
export function backends() {
  const raw = process.env.LATCHKEY_COMPAT_BACKENDS ?? 'sqlite,postgres';
  const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const b of list) if (b !== 'sqlite' && b !== 'postgres') throw new Error(`LATCHKEY_COMPAT_BACKENDS: unknown backend ${b}`);
  return list;
}

/** Test defaults: no 30 s wait between recovery emails (resend tests), nothing else unusual. */
export const BASE_ENV = { LATCHKEY_RECOVERY__MAIL_MIN_GAP_SECS: '0' };

/**
 * Starts a fresh server + mail sink on `backend` and registers `t.after` to stop it, so a
 * failing test never leaves a process behind.
 */
export async function stackFor(t, backend, env = {}) {
  const stack = await startStackOn(backend, { env: { ...BASE_ENV, ...env } });
  t.after(() => stack.stop());
  return stack;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Rejects after `ms` with `what` in the message: every wait in the suite is bounded. */
export function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** The one message to `to` number `n` (1-based), with its code and emailed link parsed. */
export async function recoveryMail(stack, to, n = 1, timeoutMs = 10000) {
  const all = await stack.mail.waitFor(to, n, timeoutMs);
  const mail = all[n - 1];
  const code = extractCode(mail);
  const link = extractLinks(mail).find((l) => /[?&]otp=/.test(l) && /[?&]state=/.test(l));
  return { mail, code, link, search: link ? new URL(link).search : undefined };
}

/**
 * The newest recovery email to `to` once `n` messages arrived: notices (a factor's
 * AuthenticatorEnrolled) may be delivered before or after it.
 */
export async function newestRecoveryMail(stack, to, n, timeoutMs = 10000) {
  const all = await stack.mail.waitFor(to, n, timeoutMs);
  const mail = [...all].reverse().find((m) => extractLinks(m).some((l) => /[?&]otp=/.test(l)));
  assert.ok(mail, 'a recovery email among the messages');
  return { mail, code: extractCode(mail) };
}

/** Messages to `to` after giving the outbox a moment to deliver anything it would. */
export async function settledMessages(stack, to, ms = 1500) {
  await sleep(ms);
  return stack.mail.messages(to);
}
