// "Another device": a fresh Node process (so auth-js's process-wide memory storage is empty)
// that opens the emailed link the way the recipe's callback page does. Prints one JSON line.
//   node other-device.mjs '{"major":"7","issuer":…,"clientId":…,"redirectUri":…,"search":"?otp=…&state=…"}'
const input = JSON.parse(process.argv[2]);
const mod = await import(`okta-auth-js-${input.major}`);
const auth = new mod.OktaAuth({ issuer: input.issuer, clientId: input.clientId, redirectUri: input.redirectUri, scopes: ['openid', 'email', 'profile'] });
const out = {
  isCallback: auth.idx.isEmailVerifyCallback(input.search),
  parsed: auth.idx.parseEmailVerifyCallback(input.search),
  canProceed: auth.idx.canProceed({ state: auth.idx.parseEmailVerifyCallback(input.search).state }),
};
try {
  const tx = await auth.idx.handleEmailVerifyCallback(input.search);
  out.result = { status: tx?.status, nextStep: tx?.nextStep?.name };
} catch (e) {
  out.error = { name: e.name, message: e.message, otp: e.otp, state: e.state, isEmailVerifyCallbackError: mod.isEmailVerifyCallbackError(e) };
}
process.stdout.write(`${JSON.stringify(out)}\n`);
