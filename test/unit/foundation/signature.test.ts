import { Webhook } from 'standardwebhooks';
import crypto from 'node:crypto';
import { SignatureVerifier, parseSignatureHeader, sign } from '../../../src/http/signature';
import { certnoCheckChar, isValidCertno } from '../../../src/schemas/gb11643';

const secret = `whsec_${Buffer.from('a-test-secret-of-some-length!!').toString('base64')}`;

describe('Standard Webhooks signatures', () => {
  test("when our v1 signature is compared with the public library's, then they are identical", () => {
    const ts = new Date('2025-01-01T00:00:00Z');
    expect(sign(secret, 'msg_1', ts.getTime() / 1000, '{"a":1}')).toBe(
      new Webhook(secret).sign('msg_1', ts, '{"a":1}'),
    );
  });

  test('when the body arrives in chunks, then the incremental verifier accepts it; a changed byte is refused', () => {
    const body = Buffer.from('{"payment_id":"P1","lines":[]}');
    const header = `v1,garbage ${sign(secret, 'id1', 1700000000, body, 'v1sm3')}`;
    const v = new SignatureVerifier([secret], parseSignatureHeader(header), 'id1', '1700000000');
    v.update(body.subarray(0, 5));
    v.update(body.subarray(5));
    expect(v.verify()).toBe(true);
    const bad = new SignatureVerifier([secret], parseSignatureHeader(header), 'id1', '1700000000');
    bad.update(Buffer.from(body.toString().replace('P1', 'P2')));
    expect(bad.verify()).toBe(false);
  });

  test('when the header carries unknown versions or malformed entries, then they are ignored', () => {
    expect(parseSignatureHeader('v2,abc v1 ,x v1,@@@')).toEqual([]);
  });
});

describe('GB 11643 ID numbers', () => {
  test('when the check character is right, then the number passes; a changed digit fails', () => {
    expect(isValidCertno('11010519491231002X')).toBe(true);
    expect(isValidCertno('110105194912310021')).toBe(false);
    expect(isValidCertno('11010519490231002X')).toBe(false); // February 31st
  });

  test('when any 17 digits get their computed check character, then the number passes', () => {
    for (let i = 0; i < 200; i++) {
      const d = `110105${1950 + (i % 60)}0${1 + (i % 9)}1${i % 10}${String(crypto.randomInt(0, 999)).padStart(3, '0')}`;
      expect(isValidCertno(d + certnoCheckChar(d))).toBe(true);
    }
  });
});
