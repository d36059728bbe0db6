// Starts the `latchkey-mail-sink` binary (a loopback SMTP server that keeps
// what it receives) for Node and Playwright tests, and reads its HTTP API.
// Node 20, ESM, no dependencies: uses the global `fetch`.
//
//   const sink = await startMailSink();
//   // configure the server under test with sink.smtpUrl, trigger an email, then:
//   const [mail] = await sink.waitFor('user@example.test', 1, 5000);
//   const code = extractCode(mail);
//   await sink.stop();
//
// Build the binary first: `cargo build -p latchkey-mail-sink`.
// Override its path with LATCHKEY_MAIL_SINK_BIN.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const DEFAULT_BIN = fileURLToPath(
  new URL(`../target/debug/latchkey-mail-sink${process.platform === 'win32' ? '.exe' : ''}`, import.meta.url),
);

/**
 * Spawns the sink and resolves once it prints its two address lines.
 * @param {{ bin?: string, smtp?: string, http?: string, startTimeoutMs?: number }} [options]
 *   `smtp`/`http` are listen addresses (default `127.0.0.1:0`, a free port).
 */
export async function startMailSink(options = {}) {
  const bin = options.bin ?? process.env.LATCHKEY_MAIL_SINK_BIN ?? DEFAULT_BIN;
  // --exit-on-stdin-eof: if this Node process dies without calling stop(),
  // the pipe closes and the sink exits instead of lingering on its ports.
  const args = ['--exit-on-stdin-eof'];
  if (options.smtp) args.push('--smtp', options.smtp);
  if (options.http) args.push('--http', options.http);

  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-8192); // keep the tail for error messages
  });

  const { smtpAddr, httpUrl } = await new Promise((resolve, reject) => {
    const lines = [];
    const fail = (message) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${message}${stderr ? `\nsink stderr:\n${stderr}` : ''}`));
    };
    const timer = setTimeout(
      () => fail(`mail sink did not report its addresses within ${options.startTimeoutMs ?? 10000} ms`),
      options.startTimeoutMs ?? 10000,
    );
    child.once('error', (err) =>
      fail(
        err.code === 'ENOENT'
          ? `mail sink binary not found at ${bin}: run \`cargo build -p latchkey-mail-sink\` or set LATCHKEY_MAIL_SINK_BIN`
          : `could not start mail sink ${bin}: ${err.message}`,
      ),
    );
    child.once('exit', (code, signal) => fail(`mail sink exited before it was ready (code ${code}, signal ${signal})`));
    const rl = createInterface({ input: child.stdout });
    rl.on('line', (line) => {
      lines.push(line);
      if (lines.length < 2) return;
      rl.close();
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      const smtp = /^smtp (\S+)$/.exec(lines[0]);
      const http = /^http (http:\/\/\S+)$/.exec(lines[1]);
      if (!smtp || !http) return fail(`unexpected mail sink output: ${JSON.stringify(lines)}`);
      resolve({ smtpAddr: smtp[1], httpUrl: http[1] });
    });
  });

  // A forgotten stop() must not keep the test runner alive; stop() re-refs.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) stream.unref?.();

  const call = async (method, path, body) => {
    const response = await fetch(`${httpUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const err = new Error(`mail sink ${method} ${path}: ${response.status} ${text}`);
      err.status = response.status;
      err.body = data;
      throw err;
    }
    return data;
  };
  const toQuery = (to) => (to ? `to=${encodeURIComponent(to)}` : '');

  const port = Number(smtpAddr.slice(smtpAddr.lastIndexOf(':') + 1));
  return {
    smtpUrl: `smtp://${smtpAddr}`,
    smtpHost: smtpAddr.slice(0, smtpAddr.lastIndexOf(':')).replace(/^\[|\]$/g, ''),
    smtpPort: port,
    httpUrl,
    /** Messages (newest last), only those to `to` if given (case-insensitive). */
    messages: (to) => call('GET', `/messages?${toQuery(to)}`),
    /** Resolves with all messages to `to` once there are at least `count`; throws on timeout. */
    waitFor: (to, count = 1, timeoutMs = 10000) =>
      call('GET', `/wait?${toQuery(to)}&count=${count}&timeout_ms=${timeoutMs}`),
    clear: () => call('DELETE', '/messages'),
    /**
     * Failure simulation. Snake_case or camelCase keys: refuse_connections,
     * delay_per_message_ms, reject_recipients_matching, temp_fail_recipients_matching.
     * Fields left out return to their defaults (a well-behaved server).
     */
    setBehavior: (behavior = {}) =>
      call(
        'PUT',
        '/behavior',
        Object.fromEntries(
          Object.entries(behavior).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), v]),
        ),
      ),
    /** SIGTERM, then SIGKILL if the sink has not exited within 5 s. */
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.ref();
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        // Close stdin too: the sink's stdin watcher is a blocking read that would otherwise
        // keep its runtime alive after SIGTERM until the SIGKILL fallback (5 s per stop).
        child.stdin.end();
        child.kill('SIGTERM');
      }),
  };
}

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };
function decodeEntities(s) {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name) => {
    if (name[0] === '#') {
      const cp = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return Number.isFinite(cp) && cp <= 0x10ffff ? String.fromCodePoint(cp) : whole;
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function htmlToText(html) {
  return decodeEntities(html.replace(/<(style|script)[\s\S]*?<\/\1>/gi, ' ').replace(/<[^>]*>/g, ' '));
}

/**
 * The first 6–10 digit code in the message's text part (falling back to the
 * HTML's visible text when there is no text part), or null. The digits must
 * stand alone, so a longer number or one inside a word does not match.
 */
export function extractCode(message) {
  const text = message.text ?? (message.html ? htmlToText(message.html) : '');
  const match = /(?<![\p{L}\p{N}])\d{6,10}(?![\p{L}\p{N}])/u.exec(text);
  return match ? match[0] : null;
}

/**
 * Every link in the message, in order of first appearance without repeats:
 * the HTML part's href values (entities decoded, so `&amp;` becomes `&`), then
 * the http(s) URLs written in the text part.
 */
export function extractLinks(message) {
  const links = [];
  if (message.html) {
    for (const m of message.html.matchAll(/\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))/gi)) {
      links.push(decodeEntities((m[1] ?? m[2] ?? m[3]).trim()));
    }
  }
  if (message.text) {
    for (const m of message.text.matchAll(/https?:\/\/[^\s<>"'`]+/gi)) {
      // Sentence punctuation and closing brackets after a URL are not part of it.
      links.push(m[0].replace(/[.,;:!?)\]>]+$/, ''));
    }
  }
  return [...new Set(links)];
}
