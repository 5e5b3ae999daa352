/**
 * What every event's hash covers: the `canonicalize` package's JSON of the event (its time as ISO
 * text), after the previous hash — else chains written before would no longer verify.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import { eventHash } from '../../../src/audit/audit-trail';

describe('eventHash', () => {
  test('an event hash is SHA-256 of the previous hash and the canonical event, as before', () => {
    const prev = 'ab'.repeat(32);
    const e = {
      entity: 'loop',
      entity_id: 'S-1',
      action: 'created',
      actor: 'system',
      at: new Date(0),
      data: { owed: '1.00', 中: '是' },
    };
    const body = canonicalize({ ...e, at: e.at.toISOString() })!;
    expect(eventHash(prev, e)).toBe(crypto.createHash('sha256').update(prev).update(body).digest('hex'));
  });
});
