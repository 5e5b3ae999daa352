/**
 * The audit trail's canonical JSON (src/audit/audit-trail.ts canonicalJson) is what every event's
 * hash covers, so it must be the `canonicalize` package's output to the character, for every value
 * an event's data can hold — else chains written before it would no longer verify.
 */
import canonicalize from 'canonicalize';
import crypto from 'node:crypto';
import { canonicalJson, eventHash } from '../../../src/audit/audit-trail';

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = [
  '',
  'a',
  'b',
  'A',
  'Z',
  '_',
  '1',
  '10',
  '9',
  'é',
  'ä',
  '中',
  '\u2028',
  '"q"',
  'back\\slash',
  'tab\t',
  'nl\n',
  '\u0001',
  '😀',
  '\ud800',
  'owed',
  'previous',
];

function value(r: () => number, depth: number): unknown {
  const pick = Math.floor(r() * (depth > 3 ? 7 : 10));
  switch (pick) {
    case 0:
      return STRINGS[Math.floor(r() * STRINGS.length)];
    case 1:
      return null;
    case 2:
      return [0, -0, 1, -1.5, 1e21, 1e-7, 0.1 + 0.2, 123456789.12, 2 ** 53][Math.floor(r() * 9)];
    case 3:
      return r() < 0.5;
    case 4:
      return undefined;
    case 5:
      return new Date(Math.floor(r() * 2e12));
    case 6:
      return `${Math.floor(r() * 1e6) / 100}`;
    case 7:
      return Array.from({ length: Math.floor(r() * 4) }, () => value(r, depth + 1));
    default: {
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 6);
      for (let i = 0; i < n; i++)
        o[STRINGS[Math.floor(r() * STRINGS.length)]! + (r() < 0.3 ? String(i) : '')] = value(r, depth + 1);
      return o;
    }
  }
}

describe('canonicalJson', () => {
  test('is the canonicalize package to the character, over 20,000 generated values', () => {
    const r = rng(15);
    for (let i = 0; i < 20_000; i++) {
      const v = { data: value(r, 0), n: i };
      expect(canonicalJson(v)).toBe(canonicalize(v));
    }
  });

  test('loop and case event data as matching writes them', () => {
    const loop = {
      status: 'closed',
      owed: '100.00',
      paid: '100.00',
      rejected: '0.00',
      recovered: '0.00',
      outstanding: '0.00',
      due_date: '2026-12-31',
      closed_at: null,
      previous: { status: 'owed', paid: '0.00', outstanding: '100.00' },
    };
    expect(canonicalJson(loop)).toBe(canonicalize(loop));
    const evidence = { lines: [{ line_no: 1, paid_amount: '12.30' }], note: undefined, 中: ['x', undefined, null] };
    expect(canonicalJson(evidence)).toBe(canonicalize(evidence));
  });

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
