// A software WebAuthn authenticator for the Node suites, where no browser runs the ceremonies:
// one P-256 key (node:crypto), attestation format "none", and the authenticator data and client
// data a browser would build. Its answers are Okta's `credentials` members, base64url.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const sha256 = (data) => createHash('sha256').update(data).digest();
const text = (s) => Buffer.from(s, 'utf8');

export function softAuthenticator({ rpId, origin }) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const credentialId = randomBytes(32);
  let counter = 0;
  const clientData = (type, challenge) => text(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  const authData = (flags, attested = Buffer.alloc(0)) => Buffer.concat([sha256(rpId), Buffer.from([flags]), u32(counter), attested]);
  return {
    /** navigator.credentials.create from Okta's `activationData`. */
    create(activation) {
      // COSE_Key {1: 2 (EC2), 3: -7 (ES256), -1: 1 (P-256), -2: x, -3: y}, in CBOR.
      const cose = Buffer.concat([
        Buffer.from([0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21, 0x58, 0x20]), Buffer.from(jwk.x, 'base64url'),
        Buffer.from([0x22, 0x58, 0x20]), Buffer.from(jwk.y, 'base64url'),
      ]);
      const data = authData(0x45, Buffer.concat([Buffer.alloc(16), u16(credentialId.length), credentialId, cose])); // UP | UV | AT
      // {"fmt": "none", "attStmt": {}, "authData": bytes}, in CBOR.
      const object = Buffer.concat([
        Buffer.from([0xa3, 0x63]), text('fmt'), Buffer.from([0x64]), text('none'), Buffer.from([0x67]), text('attStmt'),
        Buffer.from([0xa0, 0x68]), text('authData'), Buffer.from([0x59]), u16(data.length), data,
      ]);
      return { clientData: clientData('webauthn.create', activation.challenge).toString('base64url'), attestation: object.toString('base64url') };
    },
    /** navigator.credentials.get from Okta's `challengeData`. */
    get(challengeData) {
      counter += 1;
      const cd = clientData('webauthn.get', challengeData.challenge);
      const data = authData(0x05); // UP | UV
      const signature = sign('sha256', Buffer.concat([data, sha256(cd)]), privateKey); // DER
      return { clientData: cd.toString('base64url'), authenticatorData: data.toString('base64url'), signatureData: signature.toString('base64url') };
    },
  };
}
