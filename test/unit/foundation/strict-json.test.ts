/**
 * The strict JSON reader (src/schemas/strict-json.ts): its scanner runs over the raw text beside
 * JSON.parse, so it is checked against JSON.parse on generated documents — whatever the keys hold
 * (quotes, backslashes, `/`, `~`, non-BMP characters), however the text is spaced or escaped.
 */
import fc from 'fast-check';
import { MAX_JSON_DEPTH, parseStrictJson, scanJson } from '../../../src/schemas/strict-json';
import { SchemaValidator, unstorableText } from '../../../src/schemas/validator';
import { payment } from '../../support/fixtures';

const pointer = (segments: (string | number)[]) =>
  segments.map((s) => `/${String(s).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
/** A string literal with every character \u-escaped: the same name, spelt differently. */
const escapedLiteral = (s: string) =>
  `"${[...s].map((ch) => [...ch].map((_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')).join('')}"`;

const json = fc.jsonValue({ maxDepth: 6 });
const spacing = fc.constantFrom(undefined, 0, 1, 2, '\t', ' \r\n ');

/** Every object in `v` with at least one member, with its path. */
function objectsOf(
  v: unknown,
  at: (string | number)[] = [],
  out: { at: (string | number)[]; obj: Record<string, unknown> }[] = [],
) {
  if (Array.isArray(v)) v.forEach((x, i) => objectsOf(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') {
    if (Object.keys(v).length) out.push({ at, obj: v as Record<string, unknown> });
    for (const [k, x] of Object.entries(v)) objectsOf(x, [...at, k], out);
  }
  return out;
}

/** JSON text of `v` with one more member `name` appended to the object `target`. */
function withExtraMember(v: unknown, target: object, name: string, escaped: boolean): string {
  if (Array.isArray(v)) return `[${v.map((x) => withExtraMember(x, target, name, escaped)).join(',')}]`;
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const members = Object.entries(v).map(
    ([k, x]) => `${JSON.stringify(k)}:${withExtraMember(x, target, name, escaped)}`,
  );
  if (v === target) members.push(`${escaped ? escapedLiteral(name) : JSON.stringify(name)}:"again"`);
  return `{${members.join(',')}}`;
}

describe('documents JSON.parse reads', () => {
  test('when a document has no duplicate member and is not too deep, then the strict parse gives what JSON.parse gives', () => {
    fc.assert(
      fc.property(json, spacing, (v, space) => {
        const text = JSON.stringify(v, null, space);
        expect(scanJson(text)).toBeUndefined();
        expect(parseStrictJson(text)).toEqual({ ok: true, value: JSON.parse(text) });
      }),
      { numRuns: 2000 },
    );
  });

  test('when a member name appears twice in one object, however spelt, then DUPLICATE_KEY points at that member', () => {
    const withDuplicate = json
      .chain((v) => {
        const objects = objectsOf(v);
        return objects.length
          ? fc.tuple(fc.constant(v), fc.constantFrom(...objects), fc.nat(), fc.boolean())
          : fc.constant(undefined);
      })
      .filter((x) => x !== undefined);
    fc.assert(
      fc.property(withDuplicate, ([v, { at, obj }, pick, escaped]) => {
        const keys = Object.keys(obj);
        const name = keys[pick % keys.length]!;
        const text = withExtraMember(v, obj, name, escaped);
        expect(() => JSON.parse(text)).not.toThrow();
        expect(scanJson(text)).toEqual({ code: 'DUPLICATE_KEY', path: pointer([...at, name]) });
        const parsed = parseStrictJson(text, 'en', '/settlements/3');
        expect(parsed).toMatchObject({
          ok: false,
          malformed: false,
          error: { code: 'DUPLICATE_KEY', path: `/settlements/3${pointer([...at, name])}` },
        });
      }),
      { numRuns: 2000 },
    );
  });

  test('when objects and arrays nest past the limit, then NESTING_TOO_DEEP points at the first container past it, and not before', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'o', 'k/~'), { minLength: 1, maxLength: MAX_JSON_DEPTH + 20 }),
        (shape) => {
          let text = '1';
          for (let i = shape.length - 1; i >= 0; i--)
            text = shape[i] === 'a' ? `[0,${text}]` : `{"x":0,${JSON.stringify(shape[i])}:${text}}`;
          const segments = shape.map((s) => (s === 'a' ? 1 : s));
          const found = scanJson(text);
          if (shape.length <= MAX_JSON_DEPTH) expect(found).toBeUndefined();
          else expect(found).toEqual({ code: 'NESTING_TOO_DEEP', path: pointer(segments.slice(0, MAX_JSON_DEPTH)) });
        },
      ),
      { numRuns: 500 },
    );
  });

  test('when one object has thousands of members, then a duplicate among them is still found (looked up, not compared pairwise)', () => {
    const members = Array.from({ length: 5000 }, (_, i) => `"m${i}":${i}`);
    expect(scanJson(`{${members.join(',')}}`)).toBeUndefined();
    expect(scanJson(`{"a":[{${members.join(',')},"m4321":0}]}`)).toEqual({ code: 'DUPLICATE_KEY', path: '/a/0/m4321' });
    expect(scanJson(`{${members.join(',')},"m\\u0031":0}`)).toEqual({ code: 'DUPLICATE_KEY', path: '/m1' });
  });

  test('when the same name is in two different objects, then it is no duplicate', () => {
    expect(scanJson('{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"b":{"a":{"a":0}}}}')).toBeUndefined();
  });
});

describe('text that is not JSON', () => {
  test('when the text is anything at all, then the scanner returns without throwing, and the parse is malformed exactly when JSON.parse throws', () => {
    const garbage = fc.oneof(
      fc.string({ unit: 'binary' }),
      fc.string({ unit: fc.constantFrom('{', '}', '[', ']', '"', '\\', ',', ':', 'a', '1', ' ', 'u') }),
    );
    fc.assert(
      fc.property(garbage, (text) => {
        scanJson(text);
        let throws = false;
        try {
          JSON.parse(text);
        } catch {
          throws = true;
        }
        const r = parseStrictJson(text);
        if (throws) expect(r).toMatchObject({ ok: false });
        if (!r.ok && r.malformed) expect(throws).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  test('when a document is both too deep and malformed, then it is refused as too deep before the parse', () => {
    expect(parseStrictJson('['.repeat(100_000))).toMatchObject({
      ok: false,
      malformed: false,
      error: { code: 'NESTING_TOO_DEEP' },
    });
  });
});

describe('the validator walk after the schema', () => {
  const v = new SchemaValidator();

  test('when a 20,000-level object or a 100,000-level array sits in an unknown property, then validation names the path where the depth limit was passed', () => {
    let obj: unknown = 1;
    for (let i = 0; i < 20_000; i++) obj = { a: obj };
    let arr: unknown = [];
    for (let i = 0; i < 100_000; i++) arr = [arr];
    expect(v.validate('insurer-payment', { ...payment(), extra: obj })).toEqual([
      expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: `/extra${'/a'.repeat(MAX_JSON_DEPTH - 1)}` }),
    ]);
    expect(v.validate('insurer-payment', { ...payment(), extra: arr })).toEqual([
      expect.objectContaining({ code: 'NESTING_TOO_DEEP', path: `/extra${'/0'.repeat(MAX_JSON_DEPTH - 1)}` }),
    ]);
  });

  test('when the text a document came from has no \\u escape, then no unstorable text is possible and the walk is skipped; with one, it runs', () => {
    const body = payment({ bank_txn_no: 'BK\u00001' });
    const text = JSON.stringify(body);
    expect(text).toContain('\\u0000');
    expect(v.validate('insurer-payment', JSON.parse(text), 'en', '', text).map((e) => e.path)).toEqual([
      '/bank_txn_no',
    ]);
    expect(unstorableText({ a: [{ 'k\u0000': 1 }, '\uD800'] }, 'en', '/r')).toEqual([
      expect.objectContaining({ path: '/r/a/0/k\u0000', code: 'unstorableText' }),
      expect.objectContaining({ path: '/r/a/1', code: 'unstorableText' }),
    ]);
  });
});
