// The message catalogs: every language has every user-visible string of the English one, with
// the same {n} placeholders; the bundle defines OktaSignIn as an alias. Runs the widget file in a
// bare VM context (no browser needed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import vm from 'node:vm';

const source = await readFile(new URL('../widget/latchkey-sign-in.js', import.meta.url), 'utf8');
const window = {};
vm.runInNewContext(source, { window, navigator: { languages: ['de-CH', 'en'] }, console });
const { LatchkeySignIn } = window;

test('the bundle defines LatchkeySignIn and the OktaSignIn alias', () => {
  assert.equal(typeof LatchkeySignIn, 'function');
  assert.equal(window.OktaSignIn, LatchkeySignIn);
});

test('en, fr, de, es and ja catalogs are complete and keep their placeholders', () => {
  const { catalogs } = LatchkeySignIn;
  assert.deepEqual(Object.keys(catalogs).sort(), ['de', 'en', 'es', 'fr', 'ja']);
  const placeholders = (s) => (s.match(/\{\d\}/g) || []).sort().join();
  for (const lang of ['fr', 'de', 'es', 'ja']) {
    for (const [key, en] of Object.entries(catalogs.en)) {
      assert.ok(typeof catalogs[lang][key] === 'string' && catalogs[lang][key], `${lang} lacks ${key}`);
      assert.equal(placeholders(catalogs[lang][key]), placeholders(en), `${lang} ${key} placeholders`);
    }
  }
});

test('the language option wins, then navigator.languages, then English', () => {
  assert.equal(new LatchkeySignIn({ language: 'ja' }).lang, 'ja');
  assert.equal(new LatchkeySignIn({ language: 'es-MX' }).lang, 'es');
  assert.equal(new LatchkeySignIn({}).lang, 'de');
  assert.equal(new LatchkeySignIn({ language: 'xx' }).lang, 'de');
  const w = new LatchkeySignIn({ language: 'fr', i18n: { fr: { 'signin.title': 'Bienvenue' } } });
  assert.equal(w.t('signin.title'), 'Bienvenue');
  assert.equal(w.t('resendIn', 12), 'Vous pourrez demander un nouveau code dans 12 s.');
});

test('URLs derive from the issuer as auth-js does (idx-protocol §1)', () => {
  const custom = new LatchkeySignIn({ issuer: 'https://idp.example/oauth2/default' });
  assert.equal(custom.baseUrl, 'https://idp.example/oauth2/default');
  assert.equal(custom.domain, 'https://idp.example');
  const org = new LatchkeySignIn({ issuer: 'https://idp.example' });
  assert.equal(org.baseUrl, 'https://idp.example/oauth2');
  assert.equal(org.domain, 'https://idp.example');
  const prefixed = new LatchkeySignIn({ issuer: 'https://idp.example/t1/oauth2/default' });
  assert.equal(prefixed.domain, 'https://idp.example/t1');
});
